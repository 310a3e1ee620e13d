//! `stravasync bests` and `stravasync weeks`, and the form lines of `stravasync pmc
//! --athlete`: what the dashboard shows, from the same computations
//! ([`stravasync_core::insight`]) on the athlete's stored items (TABLE_NAME).

use std::fmt::Write;

use clap::Args;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_core::LocalDate;
use stravasync_core::insight::{self, BestsRange, ChannelBests, Estimate, Form, SeasonBests, Week, WeeklyTotals};
use stravasync_core::metrics::PEAK_WINDOWS;
use stravasync_core::model::{AthleteId, AthleteProfile};
use stravasync_core::ports::{ActivityStore, activities_by_page};

use crate::stack::{sdk, store};
use crate::{CliError, InputError, block_on};

/// Activities read per page, as the API reads them.
const PAGE: usize = stravasync_core::view::MAX_PAGE;

fn today() -> LocalDate {
    LocalDate::from_unix_seconds(stravasync_core::clock::unix_now())
}

/// The stack's table and the athlete's profile (an error when they are not connected).
async fn athlete_store(athlete: AthleteId) -> Result<(DynamoStore, AthleteProfile), CliError> {
    let sdk = sdk().await;
    let store = store(&sdk)?;
    let profile = store
        .get_profile(athlete)
        .await
        .map_err(CliError::runtime("reading the profile"))?
        .ok_or_else(|| InputError::new(format!("athlete {athlete} is not connected (no profile)")))?;
    Ok((store, profile))
}

/// Today's form of a stored athlete (`None` before anything is scored).
pub async fn stored_form(athlete: AthleteId) -> Result<Option<Form>, CliError> {
    let (store, profile) = athlete_store(athlete).await?;
    let today = today();
    let (first, last) = insight::form_read_days(today);
    let rows = store.pmc_rows(athlete, first, last).await.map_err(CliError::runtime("reading the PMC"))?;
    Ok(insight::form(&rows, today, profile.pmc))
}

/// The form lines under the chart: the band, the ramp and, when it is up, the banner.
pub fn render_form(form: Option<&Form>) -> String {
    let Some(f) = form else {
        return "form: no training load yet\n".into();
    };
    let mut out = format!(
        "form on {}: TSB {:.1}, {} ({})\nCTL {:.1} ({:+.1} in {} days), ATL {:.1}\n",
        f.date, f.tsb, f.zone.label, f.zone.meaning, f.ctl, f.ramp.ctl_change, f.ramp.days, f.atl
    );
    if let Some(note) = f.ramp.note {
        let _ = writeln!(out, "note: {note}");
    }
    if let Some(o) = &f.overreaching {
        let _ = writeln!(
            out,
            "WARNING since {} ({} days below {}): {}",
            o.since,
            o.days,
            insight::OVERREACHING_TSB,
            o.message
        );
    }
    out
}

/// `stravasync bests`' arguments.
#[derive(Debug, Args)]
pub struct BestsArgs {
    #[arg(long)]
    pub athlete: AthleteId,
    /// 42d, 90d, 1y or all.
    #[arg(long, default_value = "90d")]
    pub range: String,
}

impl BestsArgs {
    pub fn run(self) -> Result<String, CliError> {
        let range = BestsRange::parse("range", Some(&self.range)).map_err(|e| InputError::new(format!("--{e}")))?;
        block_on(bests(self.athlete, range))
    }
}

pub async fn bests(athlete: AthleteId, range: BestsRange) -> Result<String, CliError> {
    let (store, profile) = athlete_store(athlete).await?;
    let today = today();
    let (first, last) = insight::bests_read_days(range, today);
    let mut bests = SeasonBests::new(range, today);
    let mut recent = SeasonBests::new(BestsRange::Days90, today);
    activities_by_page(&store, athlete, first, last, PAGE, |page| {
        for a in page {
            bests.add(a);
            recent.add(a);
        }
    })
    .await
    .map_err(CliError::runtime("reading activities"))?;
    let t = &profile.thresholds;
    let estimates = insight::estimates_from(&recent, t.ftp, t.threshold_speed);
    let mut out = format!("bests from {} to {} ({})\n", bests.first, bests.last, range.as_str());
    render_channel(&mut out, "power (W)", &bests.power, |v| format!("{v:.0}"));
    render_channel(&mut out, "heart rate (bpm)", &bests.heartrate, |v| format!("{v:.0}"));
    render_channel(&mut out, "pace (/km, runs)", &bests.pace, pace);
    render_estimate(&mut out, "FTP", estimates.ftp.as_ref(), |v| format!("{v:.0} W"));
    render_estimate(&mut out, "threshold pace", estimates.threshold_speed.as_ref(), pace);
    Ok(out)
}

/// Speed (m/s) as pace, `m:ss` per km.
pub fn pace(speed: f64) -> String {
    if speed <= 0.0 {
        return "–".into();
    }
    let s = (1000.0 / speed).round() as i64;
    format!("{}:{:02}", s / 60, s % 60)
}

fn window_label(w: usize) -> String {
    if w < 60 {
        format!("{w}s")
    } else if w < 3600 {
        format!("{}m", w / 60)
    } else {
        format!("{}h", w / 3600)
    }
}

fn render_channel(out: &mut String, name: &str, bests: &ChannelBests, show: impl Fn(f64) -> String) {
    let _ = writeln!(out, "\n{name}");
    if bests.0.iter().all(Option::is_none) {
        let _ = writeln!(out, "  none in this range");
        return;
    }
    for (w, best) in PEAK_WINDOWS.iter().zip(&bests.0) {
        if let Some(b) = best {
            let name = b.name.as_deref().unwrap_or("(untitled)");
            let _ = writeln!(
                out,
                "  {:>4}  {:>6}  {}  {}  {}",
                window_label(*w),
                show(b.value),
                b.date,
                name,
                b.strava_url
            );
        }
    }
}

fn render_estimate(out: &mut String, name: &str, e: Option<&Estimate>, show: impl Fn(f64) -> String) {
    let _ = writeln!(out);
    let Some(e) = e else {
        let _ = writeln!(out, "estimated {name}: no effort long enough in the last 90 days");
        return;
    };
    let stored = e.stored.map_or("none".to_string(), &show);
    let change = e.change.map_or(String::new(), |c| format!(", {:+.1} %", c * 100.0));
    let _ = writeln!(
        out,
        "estimated {name}: {} (stored: {stored}{change}) from {} {} {}",
        show(e.value),
        e.from.date,
        e.from.name.as_deref().unwrap_or("(untitled)"),
        e.from.strava_url
    );
    if e.suggest {
        let _ = writeln!(
            out,
            "  differs by more than {:.0} %: set it with the dashboard's \"Use\" button",
            insight::SUGGEST_ABOVE * 100.0
        );
    }
    let _ = writeln!(out, "  {}", e.definition);
}

/// `stravasync weeks`' arguments.
#[derive(Debug, Args)]
pub struct WeeksArgs {
    #[arg(long)]
    pub athlete: AthleteId,
}

impl WeeksArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(weeks(self.athlete))
    }
}

pub async fn weeks(athlete: AthleteId) -> Result<String, CliError> {
    let (store, _) = athlete_store(athlete).await?;
    let today = today();
    let (first, last) = insight::weeks_read_days(today);
    let mut weeks = WeeklyTotals::new(today);
    activities_by_page(&store, athlete, first, last, PAGE, |page| page.iter().for_each(|a| weeks.add(a)))
        .await
        .map_err(CliError::runtime("reading activities"))?;
    Ok(render_weeks(&weeks.weeks()))
}

fn hours(s: i64) -> String {
    format!("{}:{:02}", s / 3600, s / 60 % 60)
}

/// The weeks as a table, newest first; a line per sport under each week.
pub fn render_weeks(weeks: &[Week]) -> String {
    let mut out = format!("{:<10}  {:>7}  {:>7}  {:>9}  {:>5}\n", "week of", "load", "moving", "km", "count");
    for w in weeks.iter().rev() {
        let t = &w.total;
        let _ = writeln!(
            out,
            "{:<10}  {:>7.1}  {:>7}  {:>9.1}  {:>5}",
            w.start,
            t.load,
            hours(t.moving_time_s),
            t.distance_m / 1000.0,
            t.count
        );
        for (sport, s) in &w.sports {
            let _ = writeln!(
                out,
                "  {:<8}  {:>7.1}  {:>7}  {:>9.1}  {:>5}",
                sport,
                s.load,
                hours(s.moving_time_s),
                s.distance_m / 1000.0,
                s.count
            );
        }
    }
    out
}
