//! Dated thresholds against moto (docs/design.md §6b): a change rescores only its group's
//! activities from its day, in chunks of [`RESCORE_CHUNK`] across messages, the PMC marked
//! from that day; and the one-time migration stores the single thresholds as the first
//! entries and brings every stored activity to §6b (a run with power and no running FTP
//! moves from the bike FTP's power score to pace).

use crate::common::*;
use serde_json::json;
use stravasync_consumer::{Outcome, RESCORE_CHUNK};
use stravasync_core::LocalDate;
use stravasync_core::job::{Job, RescoreScope};
use stravasync_core::metrics::ScoreSource;
use stravasync_core::model::{ActivityState, StoredActivity};
use stravasync_core::ports::roles::*;
use stravasync_core::thresholds::{
    MODEL_VERSION, SportGroup, ThresholdChange, ThresholdEntry, ThresholdGroup, ThresholdHistory,
};

const T: i64 = 1_763_755_200;

/// The two recordings fetched as Strava sends them, then `copies` of them (new ids, one a
/// day back from 2025-11-20, rides and runs in turn) stored with their streams.
async fn season(h: &Harness, copies: usize) -> Vec<StoredActivity> {
    for id in [EDGE810, FENIX2] {
        assert_eq!(h.run(&event_job("activity", id, "create", json!({}), T)).await, Outcome::Done);
    }
    let store = &h.consumer.store;
    let mut originals = Vec::new();
    for id in [EDGE810, FENIX2] {
        match store.get_activity(ATHLETE, id).await.unwrap() {
            Some(ActivityState::Live(a)) => originals.push(*a),
            other => panic!("{other:?}"),
        }
    }
    let last: LocalDate = "2025-11-20".parse().unwrap();
    for i in 0..copies {
        let original = &originals[i % 2];
        let date = last.add_days(-(i as i32));
        let mut copy = original.clone();
        copy.activity_id = 8_000_000 + i as i64;
        copy.summary.id = copy.activity_id;
        copy.local_date = date;
        copy.summary.start_date_local = format!("{date}T07:00:00Z");
        copy.summary.start_date = copy.summary.start_date_local.clone();
        let set = original.streams_ref().unwrap();
        let chunks = store.get_stream_chunks(ATHLETE, original.activity_id, set).await.unwrap();
        store
            .put_stream_chunks(ATHLETE, copy.activity_id, original.streams_id.as_deref().unwrap(), &chunks)
            .await
            .unwrap();
        store.put_activity(&copy).await.unwrap();
    }
    everything(h).await
}

async fn everything(h: &Harness) -> Vec<StoredActivity> {
    h.consumer
        .store
        .activities_between(ATHLETE, LocalDate::from_days_since_epoch(0), "2030-01-01".parse().unwrap())
        .await
        .unwrap()
}

/// Runs every queued message until none is left; the rescore messages it ran.
async fn drain_all(h: &Harness) -> usize {
    let mut rescores = 0;
    loop {
        let messages = h.stack.queue().drain().await.unwrap();
        if messages.is_empty() {
            return rescores;
        }
        for m in messages {
            let job = Job::parse(&m.body).unwrap();
            rescores += usize::from(matches!(job, Job::Rescore { .. }));
            assert_eq!(h.run(&job).await, Outcome::Done, "{job:?}");
        }
    }
}

#[tokio::test]
async fn a_dated_change_rescores_only_its_group_from_its_day_in_chunks() {
    let h = harness("thresholds-dated", "read,activity:read_all").await;
    let before = season(&h, 2 * RESCORE_CHUNK + 40).await;
    let from: LocalDate = "2025-08-01".parse().unwrap();
    let profile = h.consumer.store.get_profile(ATHLETE).await.unwrap().unwrap();
    let old_speed = profile.thresholds.threshold_speed.unwrap();
    let entry =
        ThresholdEntry { threshold_speed: Some(old_speed * 1.1), ..ThresholdEntry::new(ThresholdGroup::Running, from) };
    let change = Job::ChangeThresholds { athlete_id: ATHLETE, change: ThresholdChange::Save { entry }, version: 0 };
    h.consumer.recompute_dirtied().await; // the chart as the season's writes left it
    assert_eq!(h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap(), None);
    assert_eq!(h.run(&change).await, Outcome::Done);
    let rescores = drain_all(&h).await;
    let covered = before.iter().filter(|a| a.local_date >= from).count();
    // Newest first, a chunk a message, until a chunk reaches a day before the change.
    assert_eq!(rescores, covered / RESCORE_CHUNK + 1, "{covered} activities from {from}");
    let after = everything(&h).await;
    let mut rescored = 0;
    let mut first_rescored: Option<LocalDate> = None;
    for (b, a) in before.iter().zip(&after) {
        let run = SportGroup::of_summary(&a.summary) == SportGroup::Running;
        let (old, new) = (&b.metrics.as_ref().unwrap().score, &a.metrics.as_ref().unwrap().score);
        if run && a.local_date >= from {
            assert_eq!(new.source, ScoreSource::Pace);
            let want = old.value.unwrap() / 1.1f64.powi(2);
            assert!((new.value.unwrap() - want).abs() <= 1e-9 * want, "{}: {new:?} vs {want}", a.activity_id);
            rescored += 1;
            first_rescored = Some(first_rescored.map_or(a.local_date, |d| d.min(a.local_date)));
        } else {
            assert_eq!(a.metrics, b.metrics, "{} of {}", a.activity_id, a.local_date);
        }
    }
    assert!(rescored > RESCORE_CHUNK / 2, "{rescored}");
    let store = &h.consumer.store;
    let profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!((profile.thresholds_version, profile.rescored_version), (1, 1), "the dashboard stops waiting");
    assert_eq!(store.threshold_history(ATHLETE).await.unwrap().unwrap().version, 1);
    // The chart is marked from the first day rescored, none before the change's.
    let marked = store.pmc_dirty_from(ATHLETE).await.unwrap().expect("marked");
    assert_eq!(Some(marked), first_rescored);
    assert!(marked >= from);
}

/// Metrics as an earlier release stored them: §6's fields only, nine peak windows, and a
/// run with power scored against the bike FTP.
fn as_stored_before_6b(a: &mut StoredActivity, bike_ftp: f64) {
    let m = a.metrics.as_mut().unwrap();
    (m.group, m.thresholds_in_force, m.swim, m.stss, m.decoupling, m.ef, m.wbal) =
        (None, None, None, None, None, None, None);
    for series in [&mut m.peaks.watts, &mut m.peaks.heartrate, &mut m.peaks.velocity_smooth].into_iter().flatten() {
        for w in [180, 720] {
            let i = stravasync_core::metrics::PEAK_WINDOWS.iter().position(|&x| x == w).unwrap();
            series.0[i] = None;
        }
    }
    if let Some(p) = m.power.as_mut().filter(|_| a.summary.sport_type.as_deref() == Some("Run")) {
        let tss = m.duration_s as f64 * p.np.unwrap().powi(2) / (bike_ftp * bike_ftp * 36.0);
        p.tss = Some(tss);
        m.score = stravasync_core::metrics::Score { source: ScoreSource::Power, value: Some(tss) };
    }
}

#[tokio::test]
async fn the_migration_stores_the_first_entries_and_brings_every_activity_to_6b() {
    let h = harness("thresholds-migrate", "read,activity:read_all").await;
    let store = &h.consumer.store;
    let mut stored = season(&h, RESCORE_CHUNK + 10).await;
    let mut profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    profile.model_version = 0;
    store.put_profile(&profile).await.unwrap();
    let bike_ftp = profile.thresholds.ftp.unwrap();
    // A Stryd run: the Edge 810's streams (watts and speed) recorded as a run.
    let mut stryd = stored.iter().find(|a| a.activity_id == EDGE810).unwrap().clone();
    stryd.activity_id = 7_000_001;
    stryd.summary.id = stryd.activity_id;
    stryd.summary.sport_type = Some("Run".into());
    let set = stryd.streams_ref().unwrap();
    let chunks = store.get_stream_chunks(ATHLETE, EDGE810, set).await.unwrap();
    store.put_stream_chunks(ATHLETE, stryd.activity_id, stryd.streams_id.as_deref().unwrap(), &chunks).await.unwrap();
    stored.push(stryd);
    for a in &mut stored {
        as_stored_before_6b(a, bike_ftp);
        store.put_activity(a).await.unwrap();
    }
    assert!(store.threshold_history(ATHLETE).await.unwrap().is_none());

    let scope = RescoreScope { migrate: true, ..RescoreScope::everything(profile.thresholds_version) };
    assert_eq!(
        h.run(&Job::Rescore { athlete_id: ATHLETE, activity_id: None, scope: Some(scope) }).await,
        Outcome::Done
    );
    let rescores = 1 + drain_all(&h).await;
    assert_eq!(rescores, stored.len() / RESCORE_CHUNK + 1, "a chunk a message");

    let history = store.threshold_history(ATHLETE).await.unwrap().unwrap();
    assert_eq!((history.history, history.version), (ThresholdHistory::from_profile(&profile.thresholds), 1));
    for a in everything(&h).await {
        let m = a.metrics.as_ref().unwrap();
        assert!(m.group.is_some() && m.thresholds_in_force.is_some(), "{}", a.activity_id);
        if m.duration_s >= 720 {
            let w = m.peaks.heartrate.as_ref().unwrap();
            assert!(w.get(180).is_some() && w.get(720).is_some(), "{}: the new peak windows", a.activity_id);
        }
        if a.activity_id == 7_000_001 {
            // No running FTP: the Stryd run is scored by pace, not against the bike's FTP.
            assert_eq!(m.score.source, ScoreSource::Pace);
            assert_eq!(m.power.as_ref().unwrap().tss, None);
            assert!(m.decoupling.is_some() && m.ef.is_some());
        }
    }
    let profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!(profile.model_version, MODEL_VERSION, "done: the migration skips this athlete from now on");
}

/// A change's record delivered again after its history was stored (a failure before the
/// record was done) is carried on, not refused; a different change from that old version is.
#[tokio::test]
async fn a_change_delivered_again_is_not_refused_as_stale() {
    let h = harness("thresholds-again", "read,activity:read_all").await;
    let store = &h.consumer.store;
    let from: LocalDate = "2025-08-01".parse().unwrap();
    let entry = ThresholdEntry { ftp: Some(280.0), ..ThresholdEntry::new(ThresholdGroup::Running, from) };
    let change = Job::ChangeThresholds { athlete_id: ATHLETE, change: ThresholdChange::Save { entry }, version: 0 };
    assert_eq!(h.run(&change).await, Outcome::Done);
    assert_eq!(h.run(&change).await, Outcome::Done, "the same record again");
    let profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!(profile.threshold_refusal, None, "a retry is not a conflict");
    assert_eq!(store.threshold_history(ATHLETE).await.unwrap().unwrap().version, 1, "stored once");
    let removal = ThresholdChange::Remove { group: ThresholdGroup::Running, effective_from: from };
    let remove = Job::ChangeThresholds { athlete_id: ATHLETE, change: removal, version: 1 };
    assert_eq!(h.run(&remove).await, Outcome::Done);
    assert_eq!(h.run(&remove).await, Outcome::Done, "a removal again");
    assert_eq!(store.get_profile(ATHLETE).await.unwrap().unwrap().threshold_refusal, None);
    assert_eq!(store.threshold_history(ATHLETE).await.unwrap().unwrap().version, 2);
    // Another change made from version 0 (a second tab): refused and said.
    let other = ThresholdEntry { css: Some(1.2), ..ThresholdEntry::new(ThresholdGroup::Swimming, from) };
    let stale =
        Job::ChangeThresholds { athlete_id: ATHLETE, change: ThresholdChange::Save { entry: other }, version: 0 };
    assert_eq!(h.run(&stale).await, Outcome::Done);
    let refusal = store.get_profile(ATHLETE).await.unwrap().unwrap().threshold_refusal;
    assert!(refusal.is_some_and(|r| r.contains("changed elsewhere")));
    assert_eq!(store.threshold_history(ATHLETE).await.unwrap().unwrap().version, 2, "nothing stored");
}
