//! The records the pipeline keeps, by subject: [`athlete`] (profile, thresholds, scopes,
//! sport types), [`activity`] (summary, stored record, tombstone), [`tokens`] (OAuth tokens,
//! app credentials) and [`records`] (PMC rows, rate windows). Everything is re-exported
//! here, so `model::X` names any of them.
//!
//! Every struct that is persisted carries `schema` so that an item written by a newer
//! release is recognised and refused with [`SchemaError`] instead of being misread.

pub mod activity;
pub mod athlete;
pub mod import;
pub mod records;
pub mod tokens;

pub use activity::*;
pub use athlete::*;
pub use import::*;
pub use records::*;
pub use tokens::*;

/// Strava ids exceed 2^32: always `i64`.
pub type AthleteId = i64;
pub type ActivityId = i64;

/// Where the ids of activities from files without a Strava id begin (2^52; they stay
/// below 2^53, which a browser's numbers hold exactly). Strava's ids are far below.
pub const LOCAL_ID_BASE: ActivityId = 1 << 52;

/// Whether an activity id is a local one (a loose file's), not Strava's.
pub fn is_local_id(id: ActivityId) -> bool {
    (LOCAL_ID_BASE..2 * LOCAL_ID_BASE).contains(&id)
}

/// The schema version this release writes and the newest it can read.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} has schema version {found}, newer than the {supported} this release reads")]
pub struct SchemaError {
    pub what: &'static str,
    pub found: u32,
    pub supported: u32,
}

/// Refuses a record written by a newer release.
pub fn check_schema(what: &'static str, found: u32) -> Result<(), SchemaError> {
    if found > SCHEMA_VERSION { Err(SchemaError { what, found, supported: SCHEMA_VERSION }) } else { Ok(()) }
}

fn schema_v1() -> u32 {
    SCHEMA_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn thresholds_validation_names_the_field() {
        let t = Thresholds { ftp: Some(0.0), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "ftp");
        let t = Thresholds { lthr: Some(-3.0), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "lthr");
        let t = Thresholds { hr_rest: Some(60.0), hr_max: Some(50.0), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "hr_rest");
        let t = Thresholds { power_zones: Some(vec![100.0, 90.0]), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "power_zones");
        assert!(Thresholds::default().validate().is_ok());
    }

    #[test]
    fn sport_types() {
        assert!(SportType::parse("TrailRun").unwrap().is_run());
        assert!(!SportType::parse("Ride").unwrap().is_run());
        assert_eq!(SportType::parse("Quidditch").unwrap_err().value, "Quidditch");
    }

    #[test]
    fn summary_from_strava_json_ignores_unknown_fields() {
        let json = r#"{"id": 1099511627776, "athlete": {"id": 5123456789, "resource_state": 1},
            "type": "Ride", "start_date": "2020-01-01T10:00:00Z",
            "start_date_local": "2020-01-01T11:00:00Z", "brand_new_field": [1, 2, 3]}"#;
        let s: ActivitySummary = serde_json::from_str(json).unwrap();
        assert_eq!(s.id, 1 << 40);
        assert_eq!(s.athlete_id, Some(5_123_456_789));
        assert_eq!(s.sport().unwrap().as_str(), "Ride");
        assert_eq!(s.local_date().unwrap().to_string(), "2020-01-01");
        let back: ActivitySummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn scopes() {
        let s = Scopes::parse("read,activity:read_all");
        assert!(s.can_read_private() && s.can_read_activities() && !s.can_read_zones());
        assert!(!Scopes::parse("read").can_read_activities());
    }

    #[test]
    fn tokens_debug_hides_secrets() {
        let t = OAuthTokens {
            athlete_id: 1,
            access_token: Secret::new("acc-123"),
            refresh_token: Secret::new("ref-456"),
            expires_at: 100,
            scopes: Scopes::default(),
            connected_at: 0,
        };
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("acc-123") && !dbg.contains("ref-456"));
        assert!(t.expires_within(0, 300) && !t.expires_within(-1000, 300));
    }

    #[test]
    fn schema_check() {
        assert!(check_schema("profile", 1).is_ok());
        let e = check_schema("profile", 9).unwrap_err();
        assert!(e.to_string().contains("schema version 9"));
    }

    #[test]
    fn rate_windows() {
        let w = RateWindow::containing(RateWindowKind::QuarterHour, 1_700_000_000);
        assert_eq!(w.resets_at(), 1_700_000_100);
        let d = RateWindow::containing(RateWindowKind::Daily, 1_700_000_000);
        assert_eq!(d.resets_at() % 86_400, 0);
    }
}
