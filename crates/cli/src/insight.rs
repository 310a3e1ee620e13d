//! `stravasync bests` and `stravasync weeks`, and the form lines of `stravasync pmc
//! --athlete`: the same typed answers the dashboard reads ([`stravasync_read::answers`]),
//! computed from the athlete's stored items (TABLE_NAME) and printed as text.

use std::fmt::Write;

use clap::Args;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_core::LocalDate;
use stravasync_core::metrics::PEAK_WINDOWS;
use stravasync_core::model::{AthleteId, AthleteProfile};
use stravasync_read::answers::{self, BestsAnswer, FormAnswer, WeeksAnswer};
use stravasync_read::catalog::window_label;
use stravasync_read::insight::{self, BestsRange, ChannelBests, CpView, EfTrend, Estimate, Form, Settling, Week};

use crate::stack::{read_error, sdk, store};
use crate::{CliError, InputError, block_on};

fn today() -> LocalDate {
    LocalDate::from_unix_seconds(stravasync_core::clock::unix_now())
}

/// The stack's table and the athlete's profile (an error when they are not connected).
async fn athlete_store(athlete: AthleteId) -> Result<(DynamoStore, AthleteProfile), CliError> {
    let sdk = sdk().await;
    let store = store(&sdk)?;
    let profile = answers::profile(&store, athlete).await.map_err(read_error("reading the profile"))?;
    Ok((store, profile))
}

/// Today's form of a stored athlete, and where their history begins.
pub async fn stored_form(athlete: AthleteId) -> Result<FormAnswer, CliError> {
    let (store, profile) = athlete_store(athlete).await?;
    answers::form(&store, &profile, today()).await.map_err(read_error("reading the PMC"))
}

/// The form lines under the chart: the band, the ramp and, when it is up, the banner; on a
/// settling day, that the form is provisional and why.
pub fn render_form(form: Option<&Form>, settling: Option<&Settling>) -> String {
    let Some(f) = form else {
        return "form: no training load yet\n".into();
    };
    let provisional = if f.provisional { " (provisional)" } else { "" };
    let mut out = format!(
        "form on {}: TSB {:.1}, {}{provisional} ({})\nCTL {:.1} ({:+.1} in {} days), ATL {:.1}\n",
        f.date, f.tsb, f.zone.label, f.zone.meaning, f.ctl, f.ramp.ctl_change, f.ramp.days, f.atl
    );
    if let Some(s) = settling.filter(|_| f.provisional) {
        let _ = writeln!(out, "settling: {}", s.reason);
    }
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
    let answer = answers::bests(&store, &profile, range, today()).await.map_err(read_error("reading activities"))?;
    Ok(render_bests(&answer))
}

/// The bests and the estimates, a table per channel.
pub fn render_bests(answer: &BestsAnswer) -> String {
    let (bests, estimates, range) = (&answer.bests, &answer.estimates, answer.bests.range);
    let mut out = format!("bests from {} to {} ({})\n", bests.first, bests.last, range.as_str());
    render_channel(&mut out, "power (W)", &bests.power, |v| format!("{v:.0}"));
    render_channel(&mut out, "heart rate (bpm)", &bests.heartrate, |v| format!("{v:.0}"));
    render_channel(&mut out, "pace (/km, runs)", &bests.pace, pace);
    render_estimate(&mut out, "FTP", estimates.ftp.as_ref(), |v| format!("{v:.0} W"));
    render_estimate(&mut out, "threshold pace", estimates.threshold_speed.as_ref(), pace);
    render_cp(&mut out, &answer.cp);
    render_ef_trend(&mut out, &answer.ef_trend);
    out
}

/// The CP/W′ fit of the last 90 days' rides, or why there is none.
fn render_cp(out: &mut String, cp: &CpView) {
    let _ = writeln!(
        out,
        "
critical power from {} ({} rides with power)",
        cp.first, cp.rides
    );
    match (cp.fit.cp, cp.fit.w_prime, &cp.reason) {
        (Some(c), Some(w), _) => {
            let _ = writeln!(
                out,
                "  CP {c:.0} W, W' {:.1} kJ, model eFTP {c:.0} W, fit within {:.1} W over {} durations",
                w / 1000.0,
                cp.fit.rmse_w.unwrap_or_default(),
                cp.fit.n
            );
        }
        (_, _, reason) => {
            let _ = writeln!(out, "  no fit: {}", reason.as_deref().unwrap_or("no bests"));
        }
    }
}

/// The EF of each ride and run of the last 90 days, oldest first.
fn render_ef_trend(out: &mut String, trend: &EfTrend) {
    let _ = writeln!(
        out,
        "
efficiency factor from {}",
        trend.first
    );
    for (name, points, unit) in [("rides", &trend.cycling, "W/bpm"), ("runs", &trend.running, "m/min per bpm")] {
        if points.is_empty() {
            let _ = writeln!(out, "  {name}: none with output and heart rate");
            continue;
        }
        let scale = if name == "runs" { 60.0 } else { 1.0 };
        let values: Vec<String> = points.iter().map(|p| format!("{:.2}", p.ef * scale)).collect();
        let _ = writeln!(out, "  {name} ({unit}): {}", values.join(" "));
    }
}

/// Speed (m/s) as pace, `m:ss` per km.
pub fn pace(speed: f64) -> String {
    if speed <= 0.0 {
        return "–".into();
    }
    let s = (1000.0 / speed).round() as i64;
    format!("{}:{:02}", s / 60, s % 60)
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
    let WeeksAnswer { weeks } = answers::weeks(&store, athlete, stravasync_core::clock::unix_now())
        .await
        .map_err(read_error("reading activities"))?;
    Ok(render_weeks(&weeks))
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
