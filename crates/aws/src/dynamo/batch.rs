//! Writes of many items: BatchWriteItem in groups of 25, `UnprocessedItems` retried with
//! exponential backoff.

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use stravasync_core::ports::StoreError;

use super::{BATCH_ATTEMPTS, BATCH_BACKOFF_START, BATCH_SIZE, DynamoStore, Item, get_s, sdk_err};

impl DynamoStore {
    /// BatchWriteItem in groups of 25, retrying unprocessed items with backoff.
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for group in requests.chunks(BATCH_SIZE) {
            let mut pending = group.to_vec();
            let mut delay = BATCH_BACKOFF_START;
            for attempt in 1..=BATCH_ATTEMPTS {
                let out =
                    self.client.batch_write_item().request_items(&self.table, pending).send().await.map_err(sdk_err)?;
                pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == BATCH_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "{} items still unprocessed after {BATCH_ATTEMPTS} attempts",
                        pending.len()
                    )));
                }
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Ok(())
    }

    pub(super) async fn delete_keys(&self, items: Vec<Item>) -> Result<usize, StoreError> {
        let count = items.len();
        let requests = items
            .into_iter()
            .map(|item| {
                let key = Self::key(get_s(&item, "pk")?.to_string(), get_s(&item, "sk")?.to_string());
                let del = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))?;
                Ok(WriteRequest::builder().delete_request(del).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await?;
        Ok(count)
    }

    pub(super) fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
        let put =
            PutRequest::builder().set_item(Some(item)).build().map_err(|e| StoreError::Rejected(e.to_string()))?;
        Ok(WriteRequest::builder().put_request(put).build())
    }
}
