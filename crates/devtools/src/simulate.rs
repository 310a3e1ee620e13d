//! `stravasync-dev simulate`: checks the options, runs [`stravasync_sim::simulate`] on a
//! current-thread runtime (the simulation is sequential; fake-strava runs on the same
//! thread), prints the report.

use clap::Args;
use stravasync_sim::SimOptions;

use stravasync_cli::{CliError, InputError};

/// `stravasync-dev simulate`'s arguments.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 100)]
    pub athletes: u32,
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Strava's read limits, per 15 minutes / per day (default: a new app's).
    #[arg(long, default_value = "100/1000")]
    pub limits: String,
    /// Athletes connect uniformly over this many hours from the start.
    #[arg(long, default_value_t = 168.0)]
    pub connect_over_hours: f64,
    /// Activities each athlete recorded before connecting.
    #[arg(long, default_value_t = 60)]
    pub history: u32,
    /// Activities imported at connection (the template's BackfillCount).
    #[arg(long, default_value_t = 30)]
    pub backfill: u32,
    /// Mean activities per athlete per day.
    #[arg(long, default_value_t = 0.7)]
    pub activities_per_day: f64,
    /// Share of each window the background lane may use (BACKGROUND_SHARE).
    #[arg(long, default_value_t = 0.7)]
    pub background_share: f64,
    /// Imports per background message before it hands over (BACKFILL_BATCH).
    #[arg(long)]
    pub backfill_batch: Option<u32>,
    /// Chance each hour that Strava answers one request 429 although our count says
    /// there is budget (requests outside the shared budget, a count that drifted).
    #[arg(long, default_value_t = 0.05)]
    pub stray_429_per_hour: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl SimulateArgs {
    /// The simulation's options, unchecked ([`check`] refuses what it cannot mean).
    pub fn options(&self) -> Result<SimOptions, InputError> {
        let (limit_15min, limit_daily) = parse_limits(&self.limits)?;
        let mut options = SimOptions {
            athletes: self.athletes,
            days: self.days,
            limit_15min,
            limit_daily,
            connect_over_hours: self.connect_over_hours,
            history: self.history,
            backfill_count: self.backfill,
            background_share: self.background_share,
            stray_429_per_hour: self.stray_429_per_hour,
            seed: self.seed,
            ..Default::default()
        };
        options.behaviour.activities_per_day = self.activities_per_day;
        if let Some(b) = self.backfill_batch {
            options.backfill_batch = b;
        }
        Ok(options)
    }

    pub fn run(self) -> Result<String, CliError> {
        run(self.options()?)
    }
}

/// `"100/1000"`: Strava's read limits per 15 minutes and per day.
pub fn parse_limits(text: &str) -> Result<(u32, u32), InputError> {
    let bad = || InputError::new(format!("--limits must be <per 15 min>/<per day>, e.g. 100/1000; got {text:?}"));
    let (quarter, daily) = text.split_once('/').ok_or_else(bad)?;
    let (quarter, daily): (u32, u32) =
        (quarter.trim().parse().map_err(|_| bad())?, daily.trim().parse().map_err(|_| bad())?);
    if quarter == 0 || daily < quarter {
        return Err(InputError::new(format!(
            "--limits {text}: both must be positive and the daily limit at least the 15-minute one"
        )));
    }
    Ok((quarter, daily))
}

/// Refuses options the simulation cannot mean.
pub fn check(o: &SimOptions) -> Result<(), InputError> {
    let problem = if o.athletes == 0 || o.athletes > 100_000 {
        "--athletes must be 1 to 100000"
    } else if o.days == 0 || o.days > 366 {
        "--days must be 1 to 366"
    } else if !(o.connect_over_hours.is_finite() && o.connect_over_hours >= 0.0) {
        "--connect-over-hours must be a number ≥ 0"
    } else if !(o.behaviour.activities_per_day.is_finite() && (0.0..=20.0).contains(&o.behaviour.activities_per_day)) {
        "--activities-per-day must be 0 to 20"
    } else if !(0.0..=1.0).contains(&o.stray_429_per_hour) {
        "--stray-429-per-hour must be within 0..=1"
    } else if !(0.0..=1.0).contains(&o.background_share) {
        "--background-share must be within 0..=1"
    } else if o.backfill_batch == 0 || o.backfill_count == 0 || o.backfill_count > 2_000 {
        "--backfill must be 1 to 2000 and --backfill-batch positive"
    } else if o.history > 2_000 {
        "--history must be at most 2000"
    } else {
        return Ok(());
    };
    Err(InputError::new(problem))
}

pub fn run(options: SimOptions) -> Result<String, CliError> {
    check(&options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::runtime("async runtime"))?;
    let report = runtime.block_on(stravasync_sim::simulate(options)).map_err(CliError::runtime("simulation"))?;
    Ok(report.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_or_name_the_flag() {
        assert_eq!(parse_limits("100/1000").unwrap(), (100, 1000));
        assert_eq!(parse_limits(" 600 / 30000 ").unwrap(), (600, 30_000));
        for bad in ["", "100", "a/b", "0/10", "100/50", "-1/10"] {
            assert!(parse_limits(bad).unwrap_err().to_string().contains("--limits"), "{bad}");
        }
        let o = SimOptions { athletes: 0, ..Default::default() };
        assert!(check(&o).unwrap_err().to_string().contains("--athletes"));
        let o = SimOptions { stray_429_per_hour: f64::NAN, ..Default::default() };
        assert!(check(&o).unwrap_err().to_string().contains("--stray-429-per-hour"));
        let o = SimOptions { background_share: 1.5, ..Default::default() };
        assert!(check(&o).unwrap_err().to_string().contains("--background-share"));
        assert!(check(&SimOptions::default()).is_ok());
    }
}
