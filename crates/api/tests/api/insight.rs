//! The insight routes on the moto-backed stack: form, season bests with the estimated
//! thresholds, weekly totals, each equal to a plain computation over what is stored; and
//! an estimate saved as a dated threshold entry, rescoring the power scores from its date
//! by (old FTP / new FTP)², and nothing before it, the PMC following from that day only.

use std::sync::Arc;

use serde_json::Value;
use stravasync_core::LocalDate;
use stravasync_core::metrics::PEAK_WINDOWS;
use stravasync_core::model::{PmcConstants, StoredActivity};
use stravasync_core::ports::roles::*;
use stravasync_rollup::{Mode, Rollup, RollupRequest};
use stravasync_testkit::ATHLETE;

use crate::helpers::*;

fn day(d: &str) -> LocalDate {
    d.parse().unwrap()
}

/// Noon UTC of `date`.
fn noon(date: LocalDate) -> i64 {
    i64::from(date.days_since_epoch()) * 86_400 + 43_200
}

/// The four recordings as stored, and copies of them (new ids and dates) spread over the
/// twelve weeks before `today`, the last week two a day: every window, week and band has
/// something to show. The rollup then brings the PMC up to date.
async fn season(h: &Harness, today: LocalDate) -> Vec<StoredActivity> {
    let store = h.stack.store();
    let originals = store.activities_between(ATHLETE, LocalDate::from_days_since_epoch(0), today).await.unwrap();
    assert_eq!(originals.len(), 4);
    let mut dates: Vec<LocalDate> = (1..12).map(|w| today.add_days(-7 * w - 2)).collect();
    for d in 0..6 {
        dates.extend([today.add_days(-d), today.add_days(-d)]);
    }
    for (i, date) in dates.into_iter().enumerate() {
        let mut copy = originals[i % 4].clone();
        copy.activity_id = 9_000_000 + i as i64;
        copy.local_date = date;
        copy.summary.id = copy.activity_id;
        copy.summary.start_date_local = format!("{date}T07:00:00Z");
        copy.summary.start_date = copy.summary.start_date_local.clone();
        let original = &originals[i % 4];
        if let Some(set) = original.streams_ref() {
            let chunks = store.get_stream_chunks(ATHLETE, original.activity_id, set).await.unwrap();
            store
                .put_stream_chunks(ATHLETE, copy.activity_id, original.streams_id.as_deref().unwrap(), &chunks)
                .await
                .unwrap();
        }
        store.put_activity(&copy).await.unwrap();
        store.mark_pmc_dirty(ATHLETE, date).await.unwrap();
    }
    Rollup::new(store.clone(), h.stack.queue())
        .run(&RollupRequest { mode: Mode::Dirty, athlete_id: None }, noon(today))
        .await
        .unwrap();
    store.activities_between(ATHLETE, LocalDate::from_days_since_epoch(0), today).await.unwrap()
}

fn api_on(h: &Harness, today: LocalDate) -> Arc<LocalApi> {
    Arc::new(api_for(&h.stack, noon(today)))
}

async fn get_json(api: &Arc<LocalApi>, path: &str) -> Value {
    let r = call(api, get(path, Some(&session_at(api)))).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

fn session_at(api: &Arc<LocalApi>) -> String {
    session_cookie(ATHLETE, stravasync_testkit::SESSION_GENERATION, api.now() + 3600)
}

/// The best of `peaks` per window over `activities`, by a loop as plain as it gets.
fn plain_best(activities: &[&StoredActivity], peak: impl Fn(&StoredActivity) -> Option<f64>) -> Option<(f64, i64)> {
    let mut best: Option<(f64, i64)> = None;
    for a in activities {
        if let Some(v) = peak(a)
            && best.is_none_or(|(b, _)| v > b)
        {
            best = Some((v, a.activity_id));
        }
    }
    best
}

fn shown(v: &Value) -> Option<(f64, i64)> {
    (!v.is_null()).then(|| (v["value"].as_f64().unwrap(), v["activity_id"].as_i64().unwrap()))
}

#[tokio::test]
async fn bests_and_estimates_are_the_stored_peaks_maxima_and_their_definitions() {
    let h = harness("api-bests").await;
    let today = day("2025-11-21");
    let all = season(&h, today).await;
    let api = api_on(&h, today);
    for range in ["42d", "90d", "1y", "all"] {
        let body = get_json(&api, &format!("/api/bests?range={range}")).await;
        let first = match range {
            "42d" => today.add_days(-41),
            "90d" => today.add_days(-89),
            "1y" => today.add_days(-364),
            _ => LocalDate::from_days_since_epoch(0),
        };
        assert_eq!(body["bests"]["first"], first.to_string(), "{range}");
        let within: Vec<&StoredActivity> =
            all.iter().filter(|a| a.local_date >= first && a.local_date <= today).collect();
        for (i, w) in PEAK_WINDOWS.iter().enumerate() {
            let peak = |a: &StoredActivity, key: &str| {
                let p = &a.metrics.as_ref()?.peaks;
                let series = match key {
                    "power" => p.watts.as_ref(),
                    "heartrate" => p.heartrate.as_ref(),
                    _ => p.velocity_smooth.as_ref().filter(|_| a.summary.sport().unwrap().is_run()),
                };
                series?.get(*w)
            };
            for key in ["power", "heartrate", "pace"] {
                let want = plain_best(&within, |a| peak(a, key));
                let got = &body["bests"][key][i];
                assert_eq!(shown(got), want, "{range} {key} {w}s");
                if let Some((_, id)) = want {
                    assert_eq!(got["window_s"], *w);
                    assert_eq!(got["strava_url"], format!("https://www.strava.com/activities/{id}"));
                    let a = within.iter().find(|a| a.activity_id == id).unwrap();
                    assert_eq!(got["date"], a.local_date.to_string());
                    assert_eq!(got["name"].as_str(), a.summary.name.as_deref());
                }
            }
        }
        // Something to compare: the curve has points.
        assert!(body["bests"]["power"].as_array().unwrap().iter().any(|b| !b.is_null()), "{range}");

        // The estimates, whatever the range: the last 90 days.
        let recent: Vec<&StoredActivity> = all.iter().filter(|a| a.local_date >= today.add_days(-89)).collect();
        let best20 = plain_best(&recent, |a| a.metrics.as_ref()?.peaks.watts.as_ref()?.get(1200)).unwrap();
        let ftp = &body["estimates"]["ftp"];
        assert_eq!(ftp["value"].as_f64().unwrap(), (0.95 * best20.0).round(), "{range}");
        assert_eq!(ftp["from"]["activity_id"], best20.1);
        assert_eq!(ftp["stored"], 250.0);
        let change = (ftp["value"].as_f64().unwrap() - 250.0) / 250.0;
        assert_eq!(ftp["suggest"], change.abs() > 0.03);
        assert!(ftp["definition"].as_str().unwrap().contains("95 %"));
        let best30 = plain_best(&recent, |a| {
            a.metrics
                .as_ref()?
                .peaks
                .velocity_smooth
                .as_ref()
                .filter(|_| a.summary.sport().unwrap().is_run())?
                .get(1800)
        })
        .unwrap();
        let pace = &body["estimates"]["threshold_speed"];
        assert_eq!(pace["value"].as_f64().unwrap(), (best30.0 * 1000.0).round() / 1000.0);
        assert_eq!(pace["from"]["activity_id"], best30.1);
    }
    // A range it does not know: 400 naming the field.
    let r = call(&api, get("/api/bests?range=2y", Some(&session_at(&api)))).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().starts_with("range"), "{}", r.text());
    assert_eq!(call(&api, get("/api/bests", None)).await.status, 401);
}

#[tokio::test]
async fn weekly_totals_are_the_sums_of_the_stored_activities() {
    let h = harness("api-weeks").await;
    let today = day("2025-11-21"); // a Friday
    let all = season(&h, today).await;
    let api = api_on(&h, today);
    let body = get_json(&api, "/api/weeks").await;
    let weeks = body["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks[11]["start"], "2025-11-17", "this week's Monday");
    assert_eq!(weeks[11]["end"], "2025-11-23");
    let mut counted = 0;
    for w in weeks {
        let (start, end) = (day(w["start"].as_str().unwrap()), day(w["end"].as_str().unwrap()));
        assert_eq!(start.days_until(end), 6);
        let of_week: Vec<&StoredActivity> =
            all.iter().filter(|a| a.local_date >= start && a.local_date <= end).collect();
        counted += of_week.len();
        let t = &w["total"];
        assert_eq!(t["count"], of_week.len());
        assert!((t["load"].as_f64().unwrap() - of_week.iter().map(|a| a.load()).sum::<f64>()).abs() < 1e-9);
        assert_eq!(t["moving_time_s"], of_week.iter().map(|a| a.summary.moving_time.unwrap_or(0)).sum::<i64>());
        let distance: f64 = of_week.iter().map(|a| a.summary.distance.unwrap_or(0.0)).sum();
        assert!((t["distance_m"].as_f64().unwrap() - distance).abs() < 1e-6);
        for (sport, s) in w["sports"].as_object().unwrap() {
            let n = of_week.iter().filter(|a| a.summary.sport_type.as_deref() == Some(sport.as_str())).count();
            assert_eq!(s["count"], n, "{sport}");
        }
    }
    assert_eq!(counted, 11 + 12, "the copies of the last twelve weeks, none of the old recordings");
}

#[tokio::test]
async fn form_is_the_pmc_of_the_stored_scores_with_the_band_ramp_and_banner() {
    let h = harness("api-form").await;
    let today = day("2025-11-21");
    let all = season(&h, today).await;
    let api = api_on(&h, today);
    let body = get_json(&api, "/api/form").await;
    // The plain computation: the PMC of every stored score, from zero, up to today.
    let loads = stravasync_core::pmc::daily_loads(all.iter().map(|a| (a.local_date, a.load())));
    let first = *loads.keys().next().unwrap();
    let rows = stravasync_core::pmc::roll_forward(first, today, Default::default(), &loads, PmcConstants::default());
    let last = rows.last().unwrap();
    let f = &body["form"];
    assert_eq!(f["date"], today.to_string());
    for (k, v) in [("ctl", last.ctl), ("atl", last.atl), ("tsb", last.tsb)] {
        assert!((f[k].as_f64().unwrap() - v).abs() < 1e-6, "{k}: {} vs {v}", f[k]);
    }
    let zone = stravasync_read::insight::form_zone(last.tsb);
    assert_eq!(f["zone"]["key"], zone.key);
    let week_ago = rows.iter().find(|r| r.date == today.add_days(-7)).unwrap();
    assert!((f["ramp"]["ctl_change"].as_f64().unwrap() - (last.ctl - week_ago.ctl)).abs() < 1e-6);
    assert_eq!(f["ramp"]["note"].is_string(), last.ctl - week_ago.ctl > 8.0);
    // The banner: the days up to today with TSB below −20, if three or more.
    let streak = rows.iter().rev().take_while(|r| r.tsb < -20.0).count();
    assert!(streak >= 3, "the hard last week puts form below −20 for days ({streak})");
    assert_eq!(f["overreaching"]["days"], streak);
    assert_eq!(f["overreaching"]["since"], today.add_days(1 - streak as i32).to_string());
    assert!(f["overreaching"]["message"].as_str().unwrap().contains("recovery"));
    let bands: Vec<&str> = body["zones"].as_array().unwrap().iter().map(|z| z["key"].as_str().unwrap()).collect();
    assert_eq!(bands, ["transition", "fresh", "neutral", "optimal", "high_risk"]);
    // Weeks later, rested: no banner.
    let later = api_on(&h, today.add_days(30));
    let rested = get_json(&later, "/api/form").await;
    assert!(rested["form"]["overreaching"].is_null(), "{}", rested["form"]);
    assert_eq!(call(&api, get("/api/form", None)).await.status, 401);
}

/// Checks that every score of `source` dated `from` or later went from `before` to `after`
/// times `factor` (to 1e-9), and every other score stayed exactly; returns how many were
/// rescaled.
fn rescaled(
    before: &[StoredActivity],
    after: &[StoredActivity],
    source: stravasync_core::metrics::ScoreSource,
    factor: f64,
    from: LocalDate,
) -> usize {
    let mut n = 0;
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b.activity_id, a.activity_id);
        let (old, new) = (b.metrics.as_ref().unwrap().score.clone(), a.metrics.as_ref().unwrap().score.clone());
        if old.source == source && a.local_date >= from {
            let want = old.value.unwrap() * factor;
            assert!((new.value.unwrap() - want).abs() <= 1e-9 * want, "{}: {:?} vs {want}", a.activity_id, new.value);
            n += 1;
        } else {
            assert_eq!(new, old, "{} of {}: only {source:?} scores from {from} change", a.activity_id, a.local_date);
        }
    }
    n
}

/// Saves `entry` from the history's current version, as the dashboard's form does.
async fn save_entry(api: &Arc<LocalApi>, entry: Value) -> crate::helpers::Reply {
    let history = get_json(api, "/api/me/thresholds").await;
    let body = serde_json::json!({"entry": entry, "version": history["version"]}).to_string();
    call(api, change("POST", "/api/me/thresholds", &session_at(api), &body)).await
}

#[tokio::test]
async fn the_estimated_ftp_saved_from_a_date_rescales_only_later_power_scores_and_pmc_rows() {
    let h = harness("api-use-eftp").await;
    let today = day("2025-11-21");
    let before = season(&h, today).await;
    let store = h.stack.store();
    let rows_before = store.pmc_rows(ATHLETE, today.add_days(-90), today).await.unwrap();
    let api = api_on(&h, today);
    let body = get_json(&api, "/api/bests").await;
    let ftp = &body["estimates"]["ftp"];
    assert_eq!(ftp["suggest"], true, "{ftp}");
    let new_ftp = ftp["value"].as_f64().unwrap();
    // "Use N W" from a day in the middle of the season: a cycling entry from then on.
    let from = today.add_days(-20);
    let entry = serde_json::json!({"group": "cycling", "effective_from": from.to_string(), "ftp": new_ftp});
    let r = save_entry(&api, entry).await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(store.threshold_history(ATHLETE).await.unwrap().is_none(), "the API writes nothing");
    h.settle().await;
    let after = store.activities_between(ATHLETE, LocalDate::from_days_since_epoch(0), today).await.unwrap();
    let factor = (250.0 / new_ftp).powi(2);
    let power = rescaled(&before, &after, stravasync_core::metrics::ScoreSource::Power, factor, from);
    assert!(power >= 6, "{power} power scores rescaled");
    assert!(before.iter().any(|a| a.local_date < from && a.load() > 0.0), "scores before the date, kept");
    // The PMC follows from the entry's day only: every row before it is as it was, to the bit.
    Rollup::new(store.clone(), h.stack.queue())
        .run(&RollupRequest { mode: Mode::Dirty, athlete_id: None }, noon(today))
        .await
        .unwrap();
    let rows = store.pmc_rows(ATHLETE, today.add_days(-90), today).await.unwrap();
    assert_eq!(rows.len(), rows_before.len());
    for (r, was) in rows.iter().zip(&rows_before) {
        let load: f64 = after.iter().filter(|a| a.local_date == r.date).map(StoredActivity::load).sum();
        assert!((r.load - load).abs() < 1e-9, "{}", r.date);
        if r.date < from {
            assert_eq!(r, was, "a row before {from} changed");
        }
    }
    assert!(rows.iter().zip(&rows_before).any(|(r, was)| r.date >= from && r != was), "later rows follow");
    // Now the estimate is the FTP in force: nothing to suggest.
    let again = get_json(&api, "/api/bests").await;
    assert_eq!(again["estimates"]["ftp"]["stored"], new_ftp);
    assert_eq!(again["estimates"]["ftp"]["suggest"], false);
    // The first change stores the history: the single values as its first entries
    // (0001-01-01), and this one.
    let history = get_json(&api, "/api/me/thresholds").await;
    assert_eq!(history["version"], 1, "{history}");
    let cycling: Vec<&Value> =
        history["history"].as_array().unwrap().iter().filter(|e| e["group"] == "cycling").collect();
    assert_eq!(cycling.len(), 2, "{history}");
    assert_eq!((cycling[0]["effective_from"].as_str(), cycling[0]["ftp"].as_f64()), (Some("0001-01-01"), Some(250.0)));
    assert_eq!(cycling[1]["effective_from"], from.to_string());
}

#[tokio::test]
async fn the_estimated_threshold_pace_saved_from_a_date_rescales_only_later_runs() {
    let h = harness("api-use-pace").await;
    let today = day("2025-11-21");
    let before = season(&h, today).await;
    let api = api_on(&h, today);
    let old_speed = h.stack.store().get_profile(ATHLETE).await.unwrap().unwrap().thresholds.threshold_speed.unwrap();
    let body = get_json(&api, "/api/bests").await;
    let pace = &body["estimates"]["threshold_speed"];
    assert_eq!(pace["stored"], old_speed);
    let new_speed = pace["value"].as_f64().unwrap();
    assert_ne!(new_speed, old_speed, "an estimate that changes the scores");
    assert_eq!(pace["suggest"], ((new_speed - old_speed) / old_speed).abs() > 0.03, "{pace}");
    assert!(pace["definition"].as_str().unwrap().contains("30-minute"));
    // The dashboard's "Use m:ss /km": a running entry, in m/s, from a day of the season.
    let from = today.add_days(-30);
    let entry =
        serde_json::json!({"group": "running", "effective_from": from.to_string(), "threshold_speed": new_speed});
    let r = save_entry(&api, entry).await;
    assert_eq!(r.status, 202, "{}", r.text());
    h.settle().await;
    let after = h.stack.store().activities_between(ATHLETE, LocalDate::from_days_since_epoch(0), today).await.unwrap();
    // rTSS grows with (NGS / threshold speed)²: times (old / new)², from the date on.
    let factor = (old_speed / new_speed).powi(2);
    let paced = rescaled(&before, &after, stravasync_core::metrics::ScoreSource::Pace, factor, from);
    assert!(paced >= 2, "{paced} pace scores");
    let again = get_json(&api, "/api/bests").await;
    assert_eq!(again["estimates"]["threshold_speed"]["suggest"], false);
}
