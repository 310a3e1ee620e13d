//! The [`ImportStore`] port: one item per file of an import, `IMPORT#<import id>#<seq>`
//! under the athlete's partition (so an athlete's deletion takes them), with a TTL.

use stravasync_core::model::{AthleteId, ImportLine};
use stravasync_core::ports::{IMPORT_REPORT_TTL_S, ImportStore, StoreError};

use super::keys::*;
use super::*;

fn import_prefix(import_id: &str) -> String {
    format!("IMPORT#{import_id}#")
}

impl ImportStore for DynamoStore {
    async fn put_import_line(
        &self,
        athlete: AthleteId,
        import_id: &str,
        seq: u32,
        line: &ImportLine,
        now: i64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(athlete_pk(athlete)))
            .item("sk", s(format!("{}{seq:06}", import_prefix(import_id))))
            .item("data", s(to_json(line)?))
            .item("expires_at", n(now + IMPORT_REPORT_TTL_S))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn import_lines(&self, athlete: AthleteId, import_id: &str) -> Result<Vec<(u32, ImportLine)>, StoreError> {
        let prefix = import_prefix(import_id);
        let items = self
            .query_all(
                None,
                "pk = :pk AND begins_with(sk, :prefix)",
                vec![(":pk", s(athlete_pk(athlete))), (":prefix", s(prefix.clone()))],
                false,
            )
            .await?;
        let mut lines = Vec::with_capacity(items.len());
        for item in items {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let seq = sk.strip_prefix(&prefix).and_then(|s| s.parse().ok()).unwrap_or(u32::MAX);
            let data = item.get("data").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let line: ImportLine = serde_json::from_str(&data).map_err(|e| StoreError::Malformed {
                key: format!("{}/{sk}", athlete_pk(athlete)),
                reason: e.to_string(),
            })?;
            lines.push((seq, line));
        }
        Ok(lines)
    }
}
