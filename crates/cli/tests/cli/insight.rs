//! `stravasync bests`, `weeks` and the form lines of `pmc --athlete`, run as the binary
//! against a moto-backed stack holding 120 days of the shared recordings (their real
//! metrics, zones and peaks): each figure printed is the one core computes from what is
//! stored, and the plain sums agree.

use stravasync_aws::local::LocalStack;
use stravasync_core::LocalDate;
use stravasync_core::model::{AthleteProfile, PmcRow, StoredActivity};
use stravasync_core::ports::roles::*;
use stravasync_read::insight::{self, BestsRange};

use crate::operator::run;

const ATHLETE: i64 = 79;

fn today() -> LocalDate {
    LocalDate::from_unix_seconds(stravasync_core::clock::unix_now())
}

async fn seeded(label: &str) -> (LocalStack, Vec<(&'static str, String)>, Vec<StoredActivity>) {
    let stack = LocalStack::from_template(label, false).await.expect("the template's stack on the local moto server");
    let store = stack.store();
    let mut profile = AthleteProfile::new(ATHLETE);
    profile.thresholds = stravasync_testkit::thresholds();
    store.put_profile(&profile).await.unwrap();
    stravasync_testkit::store_history(&store, ATHLETE, 120, 120, today()).await;
    let stored = store.activities_between(ATHLETE, today().add_days(-400), today()).await.unwrap();
    let env = stack.handler_env();
    (stack, env, stored)
}

#[tokio::test]
async fn bests_print_the_stored_peaks_maxima_and_the_estimates() {
    let (_stack, env, stored) = seeded("cli-bests").await;
    let (code, out, err) = run(&["bests", "--athlete", "79", "--range", "42d"], &env);
    assert_eq!(code, Some(0), "{err}");
    let bests = insight::season_bests(&stored, BestsRange::Days42, today());
    assert!(out.starts_with(&format!("bests from {} to {} (42d)", today().add_days(-41), today())), "{out}");
    // Every window of every channel: its value and its activity's link.
    for (channel, list) in [("power", &bests.power), ("heartrate", &bests.heartrate), ("pace", &bests.pace)] {
        for b in list.0.iter().flatten() {
            let value = if channel == "pace" {
                let s = (1000.0 / b.value).round() as i64;
                format!("{}:{:02}", s / 60, s % 60)
            } else {
                format!("{:.0}", b.value)
            };
            let line = out.lines().find(|l| l.contains(&b.strava_url) && l.contains(&value));
            assert!(line.is_some(), "{channel} {}s: {value} {} in\n{out}", b.window_s, b.strava_url);
        }
    }
    let windows = stravasync_core::metrics::PEAK_WINDOWS.len();
    assert_eq!(bests.power.0.iter().flatten().count(), windows, "the recordings reach an hour of power");
    // The CP/W' fit of the rides and the EF trend, as the read side folds them.
    let mut model = insight::ModelFold::new(today());
    stored.iter().for_each(|a| model.add(a));
    let (cp, trend) = model.finish();
    let (fitted, w_prime) = (cp.fit.cp.expect("a CP fit"), cp.fit.w_prime.unwrap());
    assert!(
        out.contains(&format!("CP {fitted:.0} W, W' {:.1} kJ, model eFTP {fitted:.0} W", w_prime / 1000.0)),
        "{out}"
    );
    let efs: Vec<String> = trend.cycling.iter().map(|p| format!("{:.2}", p.ef)).collect();
    assert!(!efs.is_empty() && out.contains(&format!("rides (W/bpm): {}", efs.join(" "))), "{out}");
    let estimates = insight::estimates(&stored, today(), Some(250.0), None);
    let ftp = estimates.ftp.unwrap();
    assert!(out.contains(&format!("estimated FTP: {:.0} W (stored: 250 W", ftp.value)), "{out}");
    assert!(out.contains(insight::EFTP_DEFINITION), "{out}");
    // A range it does not know: exit 2, naming the option.
    let (code, _, err) = run(&["bests", "--athlete", "79", "--range", "3y"], &env);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--range"), "{err}");
    let (code, _, err) = run(&["bests", "--athlete", "80"], &env);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not connected"), "{err}");
}

#[tokio::test]
async fn weeks_print_the_sums_of_the_stored_activities() {
    let (_stack, env, stored) = seeded("cli-weeks").await;
    let (code, out, err) = run(&["weeks", "--athlete", "79"], &env);
    assert_eq!(code, Some(0), "{err}");
    let week_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("20")).collect();
    assert_eq!(week_lines.len(), 12, "{out}");
    let newest = insight::week_start(today());
    assert!(week_lines[0].starts_with(&newest.to_string()), "newest first: {out}");
    for line in week_lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let start: LocalDate = fields[0].parse().unwrap();
        let week: Vec<&StoredActivity> =
            stored.iter().filter(|a| a.local_date >= start && a.local_date <= start.add_days(6)).collect();
        let load = week.iter().fold(0.0, |s, a| s + a.load());
        let km = week.iter().fold(0.0, |s, a| s + a.summary.distance.unwrap_or(0.0)) / 1000.0;
        let moving: i64 = week.iter().map(|a| a.summary.moving_time.unwrap_or(0)).sum();
        assert_eq!(fields[1], format!("{load:.1}"), "{line}");
        assert_eq!(fields[2], format!("{}:{:02}", moving / 3600, moving / 60 % 60), "{line}");
        assert_eq!(fields[3], format!("{km:.1}"), "{line}");
        assert_eq!(fields[4], week.len().to_string(), "{line}");
    }
    assert!(out.contains("  Ride ") && out.contains("  Run "), "a line per sport: {out}");
}

#[tokio::test]
async fn pmc_prints_the_form_band_the_ramp_and_the_banner() {
    let (stack, env, _) = seeded("cli-form").await;
    // The last four days below −20.
    let rows: Vec<PmcRow> = (0..10)
        .map(|back| {
            let tsb = if back < 4 { -25.0 - f64::from(back) } else { 2.0 };
            PmcRow { date: today().add_days(-back), load: 90.0, ctl: 60.0 - f64::from(back), atl: 80.0, tsb }
        })
        .rev()
        .collect();
    stack.store().put_pmc_rows(ATHLETE, &rows).await.unwrap();
    // 120 days of history: CTL is still settling (it needs 126), so the form is
    // provisional and raises no banner; the line says why.
    let pmc = ["pmc", "--athlete", "79", "--from", &today().add_days(-9).to_string()].map(str::to_string);
    let (code, out, err) = run(&pmc.iter().map(String::as_str).collect::<Vec<_>>(), &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("form on {}: TSB -25.0, Optimal training (provisional)", today())), "{out}");
    assert!(out.contains(&format!("settling: Your history starts on {}", today().add_days(-120))), "{out}");
    assert!(!out.contains("WARNING"), "no banner on a settling day: {out}");
    // A history import of a range that reached a year back: settled, the banner as ever.
    let since = today().add_days(-365);
    let settle = |p: &mut AthleteProfile| {
        p.history_imported_from = Some(since);
        true
    };
    stack.store().update_profile(ATHLETE, settle).await.unwrap();
    let (code, out, err) = run(&pmc.iter().map(String::as_str).collect::<Vec<_>>(), &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("form on {}: TSB -25.0, Optimal training (", today())), "{out}");
    assert!(!out.contains("provisional") && !out.contains("settling"), "{out}");
    assert!(out.contains("CTL 60.0 (+7.0 in 7 days), ATL 80.0"), "{out}");
    assert!(!out.contains("note:"), "a ramp of 7 a week is no note: {out}");
    assert!(out.contains(&format!("WARNING since {} (4 days below -20)", today().add_days(-3))), "{out}");
    assert!(out.contains("Schedule recovery"), "{out}");
}
