//! The webhook event Strava pushes (docs/design.md §4). The queue message made from it is
//! [`crate::job`]'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hash::fnv1a64;
use crate::json::{ParseError, parse_json_with_path};
use crate::model::AthleteId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    Activity,
    Athlete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AspectType {
    Create,
    Update,
    Delete,
}

/// `updates` of an update event. Strava sends strings, including for booleans
/// (`"private": "true"`). Keys beyond the documented ones are kept in `other`: they make
/// the update one that needs a refetch (docs/design.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Updates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub sport_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<BoolString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized: Option<BoolString>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Strava's `"true"` / `"false"` strings; a JSON boolean is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "String")]
pub struct BoolString(pub bool);

impl TryFrom<serde_json::Value> for BoolString {
    type Error = String;
    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        match v {
            serde_json::Value::Bool(b) => Ok(BoolString(b)),
            serde_json::Value::String(s) if s == "true" => Ok(BoolString(true)),
            serde_json::Value::String(s) if s == "false" => Ok(BoolString(false)),
            _ => Err("expected \"true\" or \"false\"".to_string()),
        }
    }
}

impl From<BoolString> for String {
    fn from(b: BoolString) -> String {
        b.0.to_string()
    }
}

/// An event may be at most this far ahead of the receiver's clock (s). A far-future
/// `event_time` would make every later real event of its activity look stale, so the
/// webhook refuses it and the consumer treats it as poison.
pub const MAX_EVENT_CLOCK_SKEW_S: i64 = 86_400;

/// One push event. Ids are `i64`: Strava's exceed 2^32.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub object_type: ObjectType,
    pub object_id: i64,
    pub aspect_type: AspectType,
    #[serde(default)]
    pub updates: Updates,
    pub owner_id: AthleteId,
    pub subscription_id: i64,
    /// Unix seconds.
    pub event_time: i64,
}

impl WebhookEvent {
    /// Parses a push body; an error names the JSON path of the offending field.
    pub fn parse(json: &[u8]) -> Result<Self, ParseError> {
        parse_json_with_path(json)
    }

    /// `athlete` + `update` + `authorized: "false"`: the athlete revoked access.
    pub fn is_deauthorization(&self) -> bool {
        self.object_type == ObjectType::Athlete
            && self.aspect_type == AspectType::Update
            && self.updates.authorized == Some(BoolString(false))
    }

    /// SQS FIFO deduplication id: equal for Strava's retries of one push (same object,
    /// aspect, time and updates), different otherwise. At most 128 characters.
    pub fn dedup_id(&self) -> String {
        let updates = serde_json::to_string(&self.updates).unwrap_or_default();
        format!(
            "{}-{}-{}-{}-{:016x}",
            match self.object_type {
                ObjectType::Activity => "act",
                ObjectType::Athlete => "ath",
            },
            self.object_id,
            match self.aspect_type {
                AspectType::Create => "c",
                AspectType::Update => "u",
                AspectType::Delete => "d",
            },
            self.event_time,
            fnv1a64(updates.as_bytes())
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Strava's example create event (its webhook documentation's).
    pub(crate) const CREATE: &str = r#"{"aspect_type":"create","event_time":1516126040,"object_id":1099511627776,
        "object_type":"activity","owner_id":5123456789,"subscription_id":120475,"updates":{}}"#;

    #[test]
    fn parses_strava_events() {
        let e = WebhookEvent::parse(CREATE.as_bytes()).unwrap();
        assert_eq!(e.object_id, 1 << 40);
        assert_eq!(e.aspect_type, AspectType::Create);
        let deauth = r#"{"aspect_type":"update","event_time":1,"object_id":5,"object_type":"athlete",
            "owner_id":5,"subscription_id":1,"updates":{"authorized":"false"}}"#;
        assert!(WebhookEvent::parse(deauth.as_bytes()).unwrap().is_deauthorization());
        let private = r#"{"aspect_type":"update","event_time":1,"object_id":5,"object_type":"activity",
            "owner_id":5,"subscription_id":1,"updates":{"private":"true","title":"x","sport_type":"Run"}}"#;
        let e = WebhookEvent::parse(private.as_bytes()).unwrap();
        assert_eq!(e.updates.private, Some(BoolString(true)));
        assert!(e.updates.other.contains_key("sport_type"));
    }

    #[test]
    fn bad_events_name_the_field() {
        let e = WebhookEvent::parse(CREATE.replace("\"activity\"", "\"club\"").as_bytes()).unwrap_err();
        assert_eq!(e.path, "object_type");
        let e = WebhookEvent::parse(CREATE.replace("1099511627776", "\"1\"").as_bytes()).unwrap_err();
        assert_eq!(e.path, "object_id");
        let e = WebhookEvent::parse(br#"{"object_type":"activity"}"#).unwrap_err();
        assert!(e.message.contains("missing field"), "{e}");
        let bad_private = CREATE.replace("\"updates\":{}", "\"updates\":{\"private\":\"maybe\"}");
        assert_eq!(WebhookEvent::parse(bad_private.as_bytes()).unwrap_err().path, "updates.private");
    }
}
