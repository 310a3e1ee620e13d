//! How the consumer behaves: its share of Strava's budget, its waits and its patience.
//! Nothing here names a stack (the AWS wiring, `deps.rs`, does): the simulation and the
//! tests build a consumer from [`ConsumerPolicy::default`].

pub use stravasync_core::config::ConfigError;
use stravasync_core::config::Env;
use stravasync_core::config::manifest::{
    BACKFILL_BATCH, BACKGROUND_SHARE, MAX_RECEIVES, PACE_BACKGROUND, RATE_LIMIT_15MIN, RATE_LIMIT_DAILY, RESEND_AFTER,
    RETRY_BASE_SECONDS,
};

#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerPolicy {
    /// The app's Strava read budget per 15 minutes (`RATE_LIMIT_15MIN`, default 100: Strava's
    /// read limit, which every call the consumer makes counts against).
    pub limit_15min: u32,
    /// The app's Strava read budget per UTC day (`RATE_LIMIT_DAILY`, default 1000).
    pub limit_daily: u32,
    /// Share of each window backfill and reconcile may use (`BACKGROUND_SHARE`, default
    /// 0.7), so webhook events keep priority.
    pub background_share: f64,
    /// Activities a backfill message imports before handing over to a continuation at the
    /// back of the background queue (`BACKFILL_BATCH`, default 10). Small slices share the
    /// background budget round-robin among athletes who connected together, each getting
    /// their most recent activities first; each slice re-lists its page (one request per
    /// 10 imports).
    pub backfill_batch: u32,
    /// Deferrals (seconds) while Strava has no streams yet after a create.
    pub empty_stream_delays: Vec<u32>,
    /// Receives after which a transient failure is given up and dead-lettered
    /// (`MAX_RECEIVES`, default 5). The queue's own `maxReceiveCount` stays well above it,
    /// as a backstop for crashes and timeouts only.
    pub max_receives: u32,
    /// Receives after which a record still waiting for the budget is replaced by a fresh
    /// copy (`RESEND_AFTER`, default 10), so that waiting never reaches the queue's
    /// `maxReceiveCount` (20), which counts every receive.
    pub resend_after: u32,
    /// First retry delay of a transient failure, doubled on every receive
    /// (`RETRY_BASE_SECONDS`, default 10).
    pub retry_base_s: u32,
    /// Whether background's share of the day grows hour by hour
    /// (`core::model::paced_daily_share`; `PACE_BACKGROUND`, default true). Local stacks
    /// turn it off: they run on the wall clock, and a demo at 00:30 UTC would otherwise
    /// wait for the pace.
    pub pace_background: bool,
}

impl Default for ConsumerPolicy {
    /// Strava's default read limits, and what the template deploys.
    fn default() -> Self {
        ConsumerPolicy {
            limit_15min: Self::DEFAULT_LIMIT_15MIN,
            limit_daily: Self::DEFAULT_LIMIT_DAILY,
            background_share: Self::DEFAULT_BACKGROUND_SHARE,
            backfill_batch: Self::DEFAULT_BACKFILL_BATCH,
            empty_stream_delays: vec![60, 300, 900],
            max_receives: Self::DEFAULT_MAX_RECEIVES,
            resend_after: Self::DEFAULT_RESEND_AFTER,
            retry_base_s: Self::DEFAULT_RETRY_BASE_S,
            pace_background: PACE_BACKGROUND.flag_default(),
        }
    }
}

impl ConsumerPolicy {
    /// `BACKFILL_BATCH` unless set (the manifest's default, as all of these).
    pub const DEFAULT_BACKFILL_BATCH: u32 = BACKFILL_BATCH.whole_default();
    /// `RESEND_AFTER` unless set.
    pub const DEFAULT_RESEND_AFTER: u32 = RESEND_AFTER.whole_default();
    /// `RATE_LIMIT_15MIN` unless set: Strava's default read limit per 15 minutes.
    pub const DEFAULT_LIMIT_15MIN: u32 = RATE_LIMIT_15MIN.whole_default();
    /// `RATE_LIMIT_DAILY` unless set: Strava's default read limit per UTC day.
    pub const DEFAULT_LIMIT_DAILY: u32 = RATE_LIMIT_DAILY.whole_default();
    /// `BACKGROUND_SHARE` unless set.
    pub const DEFAULT_BACKGROUND_SHARE: f64 = BACKGROUND_SHARE.share_default();
    /// `MAX_RECEIVES` unless set.
    pub const DEFAULT_MAX_RECEIVES: u32 = MAX_RECEIVES.whole_default();
    /// `RETRY_BASE_SECONDS` unless set.
    pub const DEFAULT_RETRY_BASE_S: u32 = RETRY_BASE_SECONDS.whole_default();

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The policy variables of the Lambda's environment, each defaulting
    /// (`RATE_LIMIT_15MIN`, `RATE_LIMIT_DAILY`, `BACKGROUND_SHARE`, `BACKFILL_BATCH`,
    /// `MAX_RECEIVES`, `RESEND_AFTER`, `RETRY_BASE_SECONDS`, `PACE_BACKGROUND`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let background_share: f64 = env.parsed(&BACKGROUND_SHARE)?;
        if !(0.0..=1.0).contains(&background_share) {
            return Err(ConfigError::Invalid { var: BACKGROUND_SHARE.name(), reason: "must be within 0..=1".into() });
        }
        let limit_15min = env.parsed(&RATE_LIMIT_15MIN)?;
        let limit_daily = env.parsed(&RATE_LIMIT_DAILY)?;
        let backfill_batch = env.parsed(&BACKFILL_BATCH)?;
        if backfill_batch == 0 {
            return Err(ConfigError::Invalid { var: BACKFILL_BATCH.name(), reason: "must be > 0".into() });
        }
        let max_receives = env.parsed(&MAX_RECEIVES)?;
        if max_receives == 0 {
            return Err(ConfigError::Invalid { var: MAX_RECEIVES.name(), reason: "must be > 0".into() });
        }
        let resend_after = env.parsed(&RESEND_AFTER)?;
        if resend_after < 2 {
            return Err(ConfigError::Invalid { var: RESEND_AFTER.name(), reason: "must be >= 2".into() });
        }
        Ok(ConsumerPolicy {
            limit_15min,
            limit_daily,
            background_share,
            backfill_batch,
            max_receives,
            resend_after,
            retry_base_s: env.parsed(&RETRY_BASE_SECONDS)?,
            pace_background: env.parsed(&PACE_BACKGROUND)?,
            ..Self::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_and_bad_values_are_named() {
        let base = |_: &str| None;
        let c = ConsumerPolicy::from_lookup(base).unwrap();
        assert_eq!(c, ConsumerPolicy::default());
        assert_eq!((c.limit_15min, c.limit_daily, c.background_share), (100, 1000, 0.7));
        assert!(c.pace_background);
        let e =
            ConsumerPolicy::from_lookup(|k| if k == "PACE_BACKGROUND" { Some("sometimes".into()) } else { base(k) })
                .unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { var: "PACE_BACKGROUND", .. }), "{e:?}");
        let e = ConsumerPolicy::from_lookup(|k| if k == "BACKGROUND_SHARE" { Some("1.5".into()) } else { base(k) })
            .unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { var: "BACKGROUND_SHARE", .. }));
        let e = ConsumerPolicy::from_lookup(|k| if k == "RATE_LIMIT_15MIN" { Some("lots".into()) } else { base(k) })
            .unwrap_err();
        assert!(e.to_string().contains("RATE_LIMIT_15MIN"));
        assert_eq!((c.max_receives, c.retry_base_s), (5, 10));
        let e =
            ConsumerPolicy::from_lookup(|k| if k == "MAX_RECEIVES" { Some("0".into()) } else { base(k) }).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { var: "MAX_RECEIVES", .. }));
        assert_eq!(c.resend_after, 10);
        let e =
            ConsumerPolicy::from_lookup(|k| if k == "RESEND_AFTER" { Some("1".into()) } else { base(k) }).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { var: "RESEND_AFTER", .. }));
    }
}
