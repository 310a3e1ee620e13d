//! Response and request types of the endpoints the pipeline uses. Unknown fields are
//! ignored everywhere; ids are `i64`.

use serde::{Deserialize, Serialize};
use stravasync_core::Secret;

use crate::rate::RateUsage;

/// A parsed response and the rate-limit usage it reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    pub value: T,
    pub usage: Option<RateUsage>,
}

/// `POST /oauth/token` answer. `athlete` is present for the authorization-code grant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenGrant {
    pub access_token: Secret,
    pub refresh_token: Secret,
    pub expires_at: i64,
    #[serde(default)]
    pub athlete: Option<AthleteInfo>,
}

/// `GET /athlete` (DetailedAthlete), reduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AthleteInfo {
    pub id: i64,
    #[serde(default)]
    pub firstname: Option<String>,
    #[serde(default)]
    pub lastname: Option<String>,
    /// `"M"` or `"F"`.
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub ftp: Option<f64>,
    #[serde(default)]
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneRange {
    pub min: f64,
    /// `-1` for the open top zone.
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ZoneSet {
    #[serde(default)]
    pub custom_zones: bool,
    #[serde(default)]
    pub zones: Vec<ZoneRange>,
}

impl ZoneSet {
    /// Lower bounds of zones 2..N, the form `Thresholds` keeps; `None` unless ascending.
    pub fn lower_bounds(&self) -> Option<Vec<f64>> {
        let bounds: Vec<f64> = self.zones.iter().skip(1).map(|z| z.min).collect();
        (!bounds.is_empty() && bounds.windows(2).all(|w| w[0] < w[1])).then_some(bounds)
    }
}

/// `GET /athlete/zones`: an object (anything else, such as the array of an activity's zone
/// distribution that Strava's API document shows as this operation's example, is refused
/// rather than read as empty zones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct AthleteZones {
    #[serde(default)]
    pub heart_rate: Option<ZoneSet>,
    #[serde(default)]
    pub power: Option<ZoneSet>,
}

/// `GET /athlete/activities` parameters. Strava caps `per_page` at 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityQuery {
    /// Only activities that started before this unix time.
    pub before: Option<i64>,
    /// Only activities that started after this unix time.
    pub after: Option<i64>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for AthleteZones {
    type Error = serde_json::Error;

    fn try_from(mut object: serde_json::Map<String, serde_json::Value>) -> Result<Self, Self::Error> {
        let mut zone_set = |name: &str| match object.remove(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => serde_json::from_value::<ZoneSet>(value).map(Some),
        };
        Ok(AthleteZones { heart_rate: zone_set("heart_rate")?, power: zone_set("power")? })
    }
}

impl Default for ActivityQuery {
    fn default() -> Self {
        ActivityQuery { before: None, after: None, page: 1, per_page: 200 }
    }
}

/// A push subscription (`/push_subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    pub id: i64,
    #[serde(default)]
    pub callback_url: Option<String>,
}
