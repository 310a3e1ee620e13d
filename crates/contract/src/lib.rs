//! The storage ports' contract: one async function per role trait of
//! [`stravasync_core::ports`], generic over the store, and [`store_contract!`], which
//! makes a test of each for one implementation. `stravasync-memory` runs it on the
//! in-memory store, `stravasync-aws` on DynamoDB on moto; a store that passes is
//! interchangeable with the other wherever a function's crate names the trait.
//!
//! Each function starts from an empty store and covers every method of its trait: ordering
//! and cursors, conditional writes and generations, tombstones, deletion leaving nothing,
//! read-unit counting. A later port joins the suite with a function of its own and a line
//! in the macro.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use stravasync_core::LocalDate;
use stravasync_core::codec::{decode_chunks, encode_chunks_sized, stream_set_id};
use stravasync_core::metrics::{ActivityMetrics, Score, ScoreSource};
use stravasync_core::model::{
    ActivityId, ActivityState, AthleteId, AthleteProfile, ImportLine, PmcConstants, RateWindow, RateWindowKind,
    SCHEMA_VERSION, StoredActivity, StreamSetRef, Tombstone,
};
use stravasync_core::pmc;
use stravasync_core::ports::{
    ActivityCursor, EraseStore, ImportStore, ProfileStore, QueryMeter, RateBudget, Ration, RationStore, ReadStore,
    Reservation, RollupStore, WriteOutcome, WriteStore, by_date_order,
};
use stravasync_core::streams::{NumericKey, StreamSet};

/// Ids above 2^32, as Strava's are.
const BIG: i64 = 1 << 40;

fn day(s: &str) -> LocalDate {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

/// A scored ride of `athlete` on `date` with load `load`.
pub fn activity(athlete: AthleteId, id: ActivityId, version: i64, date: &str, load: f64) -> StoredActivity {
    StoredActivity {
        schema: SCHEMA_VERSION,
        athlete_id: athlete,
        activity_id: id,
        version,
        local_date: day(date),
        summary: serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("ride {id} v{version}"), "sport_type": "Ride",
            "start_date": format!("{date}T08:00:00Z"), "start_date_local": format!("{date}T09:00:00Z"),
            "moving_time": 3600, "distance": 30_000.0,
        }))
        .unwrap_or_else(|e| panic!("static summary: {e}")),
        metrics: Some(ActivityMetrics {
            duration_s: 3600,
            power: None,
            pace: None,
            heartrate: None,
            score: Score { source: ScoreSource::Power, value: Some(load) },
            ..Default::default()
        }),
        stream_chunks: 0,
        streams_id: None,
        unscored_reason: None,
        pending_streams: false,
        field_versions: Default::default(),
    }
}

fn ids(page: &[StoredActivity]) -> Vec<ActivityId> {
    page.iter().map(|a| a.activity_id).collect()
}

fn streams(n: i32, seed: i32) -> StreamSet {
    StreamSet::default()
        .with(NumericKey::Time, (0..n).map(f64::from).collect())
        .with(NumericKey::Watts, (0..n).map(|i| f64::from((i * seed) % 500)).collect())
        .with(NumericKey::Altitude, (0..n).map(|i| f64::from(i).sin() * 100.0).collect())
}

/// [`ProfileStore`]: round trip; a put replaces (a new connection's generation); an update
/// never creates a profile, lands every concurrent change, and writes nothing when it
/// changes nothing.
pub async fn profile_store<S: ProfileStore>(store: &S) {
    assert_eq!(store.get_profile(BIG).await.unwrap(), None);
    let mut p = AthleteProfile::new(BIG);
    p.thresholds.ftp = Some(265.0);
    p.session_generation = Some(11);
    store.put_profile(&p).await.unwrap();
    assert_eq!(store.get_profile(BIG).await.unwrap(), Some(p.clone()));
    // A new connection replaces the profile whatever is stored: its generation ends the
    // old sessions.
    let mut again = AthleteProfile::new(BIG);
    again.session_generation = Some(12);
    store.put_profile(&again).await.unwrap();
    let stored = store.get_profile(BIG).await.unwrap().unwrap();
    assert!(stored.session_is_current(12) && !stored.session_is_current(11));
    assert_eq!(stored.thresholds.ftp, None, "replaced, not merged");

    assert_eq!(store.update_profile(7, |_| true).await.unwrap(), None);
    assert_eq!(store.get_profile(7).await.unwrap(), None, "an update never creates a profile");
    store.put_profile(&AthleteProfile::new(7)).await.unwrap();
    let updates = (0..6u32).map(|i| {
        store.update_profile(7, move |p| {
            p.thresholds_version += 1;
            p.rescored_version = p.rescored_version.max(i);
            true
        })
    });
    for updated in join_all(updates).await {
        assert!(updated.unwrap().is_some());
    }
    let p = store.get_profile(7).await.unwrap().unwrap();
    assert_eq!((p.thresholds_version, p.rescored_version), (6, 5), "every concurrent change landed");
    assert_eq!(store.update_profile(7, |_| false).await.unwrap(), Some(p), "no change: what is stored");
    let kept = store.update_profile(BIG, |p| {
        p.firstname = Some("Ada".into());
        true
    });
    let kept = kept.await.unwrap().unwrap();
    assert_eq!((kept.firstname.as_deref(), kept.session_generation), (Some("Ada"), Some(12)), "the generation stays");
}

/// [`ProfileStore`]'s threshold history: none before one is stored; each write names the
/// version it replaces (0: none), so of two writes from one version one lands; never for
/// an athlete without a profile; gone with the athlete.
pub async fn threshold_history<S: ProfileStore + EraseStore>(store: &S) {
    use stravasync_core::thresholds::{ThresholdEntry, ThresholdGroup, ThresholdHistory};
    let athlete = 31;
    let mut h = ThresholdHistory::from_profile(&stravasync_core::model::Thresholds {
        ftp: Some(250.0),
        lthr: Some(165.0),
        ..Default::default()
    });
    assert!(!store.put_threshold_history(athlete, &h, 0).await.unwrap(), "no profile, nothing written");
    assert_eq!(store.threshold_history(athlete).await.unwrap(), None);
    store.put_profile(&AthleteProfile::new(athlete)).await.unwrap();
    assert_eq!(store.threshold_history(athlete).await.unwrap(), None, "none stored yet");
    assert!(store.put_threshold_history(athlete, &h, 0).await.unwrap());
    let stored = store.threshold_history(athlete).await.unwrap().unwrap();
    assert_eq!((stored.history.clone(), stored.version), (h.clone(), 1));
    assert!(!store.put_threshold_history(athlete, &h, 0).await.unwrap(), "version 0 is gone");
    // Two changes made from version 1: one lands, the other is refused.
    let mut a = h.clone();
    a.save(ThresholdEntry { ftp: Some(280.0), ..ThresholdEntry::new(ThresholdGroup::Running, day("2026-10-01")) })
        .unwrap();
    h.save(ThresholdEntry { css: Some(1.2), ..ThresholdEntry::new(ThresholdGroup::Swimming, day("2026-10-01")) })
        .unwrap();
    let both = join_all([store.put_threshold_history(athlete, &a, 1), store.put_threshold_history(athlete, &h, 1)]);
    let landed: Vec<bool> = both.await.into_iter().map(Result::unwrap).collect();
    assert_eq!(landed.iter().filter(|w| **w).count(), 1, "exactly one of two writes from one version lands");
    let stored = store.threshold_history(athlete).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert!(stored.history == a || stored.history == h);
    store.delete_athlete(athlete).await.unwrap();
    assert_eq!(store.threshold_history(athlete).await.unwrap(), None, "deleted with the athlete");
    assert!(!store.athlete_has_items(athlete).await.unwrap());
}

/// [`WriteStore`]: versions decide and a delete wins a tie; tombstones block resurrection
/// and are not listed; concurrent writers leave the newest; stream sets round-trip, never
/// share keys and are pruned exactly; the PMC marker keeps the earliest date; the range
/// read is in date order and one athlete's.
pub async fn write_store<S: WriteStore + ReadStore>(store: &S) {
    let (athlete, id) = (BIG, BIG + 1);
    let v = |version, date| activity(athlete, id, version, date, 80.5);
    assert_eq!(store.put_activity(&v(100, "2024-03-01")).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.put_activity(&v(99, "2024-03-01")).await.unwrap(), WriteOutcome::Stale { stored_version: 100 });
    assert_eq!(store.put_activity(&v(100, "2024-03-02")).await.unwrap(), WriteOutcome::Written, "a tie of lives");
    assert_eq!(store.put_activity(&v(101, "2024-03-02")).await.unwrap(), WriteOutcome::Written);
    assert_eq!(
        store.get_activity(athlete, id).await.unwrap(),
        Some(ActivityState::Live(Box::new(v(101, "2024-03-02"))))
    );
    let t = |version| Tombstone { athlete_id: athlete, activity_id: id, version };
    assert_eq!(store.put_tombstone(t(100)).await.unwrap(), WriteOutcome::Stale { stored_version: 101 });
    assert_eq!(store.put_tombstone(t(101)).await.unwrap(), WriteOutcome::Written, "a delete wins the tie");
    assert_eq!(store.get_activity(athlete, id).await.unwrap(), Some(ActivityState::Deleted(t(101))));
    assert_eq!(store.put_activity(&v(101, "2024-03-02")).await.unwrap(), WriteOutcome::Stale { stored_version: 101 });
    let (from, to) = (day("2024-03-01"), day("2024-03-31"));
    assert!(store.activities_between(athlete, from, to).await.unwrap().is_empty(), "tombstones are not listed");
    assert_eq!(store.put_activity(&v(102, "2024-03-05")).await.unwrap(), WriteOutcome::Written, "a later create");
    assert_eq!(store.activities_between(athlete, from, to).await.unwrap(), vec![v(102, "2024-03-05")]);

    // Concurrent writers of one activity: the newest stays.
    let racers: Vec<StoredActivity> = (1..=12).map(|version| activity(5, 6, version, "2024-01-01", 1.0)).collect();
    let outcomes = join_all(racers.iter().map(|a| store.put_activity(a))).await;
    assert!(outcomes.into_iter().any(|o| o.unwrap() == WriteOutcome::Written));
    match store.get_activity(5, 6).await.unwrap() {
        Some(ActivityState::Live(a)) => assert_eq!(a.version, 12),
        other => panic!("{other:?}"),
    }

    // The range read: in date order, inclusive, this athlete's only.
    let start = day("2023-12-25");
    for i in 0..40 {
        store.put_activity(&activity(9, 1000 + i, 1, &start.add_days(i as i32).to_string(), 1.0)).await.unwrap();
    }
    store.put_activity(&activity(10, 1, 1, "2024-01-01", 1.0)).await.unwrap();
    let got = store.activities_between(9, day("2024-01-01"), day("2024-01-10")).await.unwrap();
    assert_eq!(got.len(), 10);
    assert!(got.windows(2).all(|w| w[0].local_date <= w[1].local_date));
    assert_eq!((got[0].local_date, got[9].local_date), (day("2024-01-01"), day("2024-01-10")));

    // Stream sets: content-addressed, never sharing keys, pruned exactly.
    let set = streams(3000, 37);
    let first = encode_chunks_sized(&set, 1000).unwrap();
    assert!(first.len() > 5, "{}", first.len());
    let first_id = stream_set_id(&first).unwrap();
    assert!(store.get_stream_chunks(1, 2, StreamSetRef::Id(&first_id)).await.unwrap().is_empty());
    store.put_stream_chunks(1, 2, &first_id, &first).await.unwrap();
    let back = store.get_stream_chunks(1, 2, StreamSetRef::Id(&first_id)).await.unwrap();
    assert_eq!(back, first, "in index order");
    assert_eq!(decode_chunks(&back).unwrap(), set);
    let other = encode_chunks_sized(&streams(3000, 41), 1000).unwrap();
    let other_id = stream_set_id(&other).unwrap();
    assert_ne!(other_id, first_id);
    store.put_stream_chunks(1, 2, &other_id, &other).await.unwrap();
    assert_eq!(store.get_stream_chunks(1, 2, StreamSetRef::Id(&first_id)).await.unwrap(), first, "left intact");
    assert_eq!(store.stream_chunk_count(1, 2).await.unwrap(), first.len() + other.len());
    store.put_stream_chunks(1, 20, &first_id, &first).await.unwrap(); // activity 20 is not activity 2
    let pruned = store.delete_stream_chunks(1, 2, Some(StreamSetRef::Id(&other_id))).await.unwrap();
    assert_eq!(pruned, first.len());
    assert_eq!(store.get_stream_chunks(1, 2, StreamSetRef::Id(&other_id)).await.unwrap(), other);
    assert_eq!(store.delete_stream_chunks(1, 2, None).await.unwrap(), other.len());
    assert_eq!(store.stream_chunk_count(1, 2).await.unwrap(), 0);
    assert_eq!(store.stream_chunk_count(1, 20).await.unwrap(), first.len());

    // The PMC's dirty marker keeps the earliest date (read by the rollup's contract).
    store.mark_pmc_dirty(3, day("2024-03-10")).await.unwrap();
    store.mark_pmc_dirty(3, day("2024-03-12")).await.unwrap();
    store.mark_pmc_dirty(3, day("2024-03-01")).await.unwrap();
}

/// [`ReadStore`]: one activity by id; PMC rows by range; pages in the by-date order with
/// the cursors they hand out (same-day ids compared as text), a whole-day cursor, pages
/// past DynamoDB's 1 MB; the counts of live and waiting activities.
pub async fn read_store<S: ReadStore + WriteStore + RollupStore>(store: &S) {
    let athlete = 4;
    assert_eq!(store.get_activity(athlete, 1).await.unwrap(), None);
    assert_eq!(store.first_activity_date(athlete).await.unwrap(), None);
    let listed: [(ActivityId, &str); 6] = [
        (9, "2026-03-02"),
        (10, "2026-03-02"),
        (100, "2026-03-01"),
        (7, "2026-03-03"),
        (8, "2026-03-01"),
        (11, "2026-03-02"),
    ];
    for (id, date) in listed {
        store.put_activity(&activity(athlete, id, 1, date, 10.0)).await.unwrap();
    }
    store.put_activity(&activity(athlete + 1, 12, 1, "2026-03-02", 10.0)).await.unwrap();
    store.put_activity(&activity(athlete, 13, 1, "2026-03-02", 10.0)).await.unwrap();
    store.put_tombstone(Tombstone { athlete_id: athlete, activity_id: 13, version: 2 }).await.unwrap();
    // The order every store keeps: dates, then same-day ids as text ("10" < "11" < "9").
    let mut want: Vec<StoredActivity> = listed.iter().map(|(id, date)| activity(athlete, *id, 1, date, 10.0)).collect();
    want.sort_by(|a, b| by_date_order(b, a));
    assert_eq!(ids(&want), [7, 9, 11, 10, 8, 100]);
    let mut got = Vec::new();
    let mut before = None;
    loop {
        let page = store.activities_page(athlete, before, 2).await.unwrap();
        got.extend(ids(&page));
        match page.last() {
            Some(last) if page.len() == 2 => before = Some(ActivityCursor::after(last)),
            _ => break,
        }
    }
    assert_eq!(got, ids(&want), "walked two at a time with the cursors handed out");
    assert_eq!(store.activities_page(athlete, None, 100).await.unwrap(), want, "whole items, newest first");
    let whole_day = ActivityCursor { date: day("2026-03-02"), activity: None };
    assert_eq!(ids(&store.activities_page(athlete, Some(whole_day), 10).await.unwrap()), [8, 100]);
    assert!(store.activities_page(athlete, Some(ActivityCursor::after(&want[5])), 10).await.unwrap().is_empty());
    assert_eq!(store.first_activity_date(athlete).await.unwrap(), Some(day("2026-03-01")));
    store.put_tombstone(Tombstone { athlete_id: athlete, activity_id: 100, version: 2 }).await.unwrap();
    store.put_tombstone(Tombstone { athlete_id: athlete, activity_id: 8, version: 2 }).await.unwrap();
    assert_eq!(store.first_activity_date(athlete).await.unwrap(), Some(day("2026-03-02")), "live ones only");
    store.put_activity(&activity(athlete, 8, 3, "2026-03-01", 10.0)).await.unwrap();
    store.put_activity(&activity(athlete, 100, 3, "2026-03-01", 10.0)).await.unwrap();

    let counts = store.activity_counts(athlete).await.unwrap();
    assert_eq!((counts.stored, counts.pending_streams), (6, 0), "live ones only");
    let mut waiting = activity(athlete, 8, 4, "2026-03-01", 0.0);
    waiting.metrics = None;
    waiting.pending_streams = true;
    store.put_activity(&waiting).await.unwrap();
    assert_eq!(store.activity_counts(athlete).await.unwrap().pending_streams, 1);
    store.put_activity(&activity(athlete, 8, 5, "2026-03-01", 5.0)).await.unwrap();
    assert_eq!(store.activity_counts(athlete).await.unwrap().pending_streams, 0, "a rewrite drops the marker");

    // PMC rows: exactly what was written, by inclusive range, across pages.
    let start = day("2015-01-01");
    let loads: BTreeMap<LocalDate, f64> = (0..1200).map(|i| (start.add_days(i), f64::from(i % 13) * 9.5)).collect();
    let rows = pmc::series(&loads, PmcConstants::default());
    store.put_pmc_rows(athlete, &rows).await.unwrap();
    assert_eq!(store.pmc_rows(athlete, start, start.add_days(5000)).await.unwrap(), rows);
    assert_eq!(store.pmc_rows(athlete, start.add_days(10), start.add_days(19)).await.unwrap(), rows[10..20].to_vec());
    assert!(store.pmc_rows(athlete + 1, start, start.add_days(5000)).await.unwrap().is_empty());

    // Items of ~100 KB: more than one of DynamoDB's 1 MB pages, whatever the limit.
    let padding = "x".repeat(100_000);
    for i in 0..14 {
        let mut a = activity(11, i + 1, 1, "2024-02-01", 1.0);
        a.summary.name = Some(padding.clone());
        store.put_activity(&a).await.unwrap();
    }
    let page = store.activities_page(11, None, 100).await.unwrap();
    assert_eq!(page.len(), 14);
    assert!(page.iter().all(|a| a.summary.name.as_deref() == Some(padding.as_str())));
    let range = store.activities_between(11, day("2024-02-01"), day("2024-02-01")).await.unwrap();
    assert_eq!(range.len(), 14, "the range read crosses them too");
}

/// [`RollupStore`]: the athletes with a profile and those whose PMC is dirty (sparse
/// listings); the marker cleared only if unchanged; each day's loads, as the full items
/// say, in date order; the rows written.
pub async fn rollup_store<S: RollupStore + WriteStore + ReadStore + ProfileStore>(store: &S) {
    assert!(store.athletes().await.unwrap().is_empty());
    store.put_profile(&AthleteProfile::new(BIG)).await.unwrap();
    store.put_profile(&AthleteProfile::new(7)).await.unwrap();
    let mut athletes = store.athletes().await.unwrap();
    athletes.sort();
    assert_eq!(athletes, [7, BIG]);

    assert_eq!(store.pmc_dirty_from(1).await.unwrap(), None);
    assert_eq!(store.pmc_dirty_mark(1).await.unwrap(), None);
    store.mark_pmc_dirty(1, day("2024-03-10")).await.unwrap();
    let first = store.pmc_dirty_mark(1).await.unwrap().unwrap();
    store.mark_pmc_dirty(1, day("2024-03-12")).await.unwrap();
    assert_eq!(store.pmc_dirty_from(1).await.unwrap(), Some(day("2024-03-10")), "the earlier day stays");
    let later = store.pmc_dirty_mark(1).await.unwrap().unwrap();
    assert!(later.seq > first.seq, "every mark counts: {first:?} {later:?}");
    // A rollup that read the first mark clears nothing: a later activity (even of a later
    // day) came in meanwhile.
    assert!(!store.clear_pmc_dirty(1, first).await.unwrap(), "marked again meanwhile: kept");
    store.mark_pmc_dirty(1, day("2024-03-01")).await.unwrap();
    store.mark_pmc_dirty(2, day("2024-01-01")).await.unwrap();
    let mut dirty = store.dirty_athletes().await.unwrap();
    dirty.sort();
    let days: Vec<_> = dirty.iter().map(|(a, m)| (*a, m.from)).collect();
    assert_eq!(days, [(1, day("2024-03-01")), (2, day("2024-01-01"))]);
    assert_eq!(Some(dirty[0].1), store.pmc_dirty_mark(1).await.unwrap(), "the listing's mark is the athlete's");
    assert!(store.clear_pmc_dirty(1, dirty[0].1).await.unwrap());
    assert_eq!(store.dirty_athletes().await.unwrap(), [dirty[1]]);
    assert_eq!(store.pmc_dirty_from(1).await.unwrap(), None);
    store.mark_pmc_dirty(1, day("2024-05-01")).await.unwrap();
    assert_eq!(store.pmc_dirty_from(1).await.unwrap(), Some(day("2024-05-01")), "cleared, then marked anew");

    let (from, to) = (day("2024-01-01"), day("2024-12-31"));
    let mut written = Vec::new();
    for i in 0..120i64 {
        let mut a = activity(3, 500 + i, 1, &from.add_days((i * 3) as i32).to_string(), i as f64 + 0.25);
        if i % 10 == 0 {
            a.metrics = None; // waiting for streams: load 0
            a.pending_streams = true;
        }
        store.put_activity(&a).await.unwrap();
        written.push(a);
    }
    store.put_tombstone(Tombstone { athlete_id: 3, activity_id: 501, version: 2 }).await.unwrap();
    let expected: Vec<(LocalDate, f64)> =
        written.iter().filter(|a| a.activity_id != 501).map(|a| (a.local_date, a.load())).collect();
    assert_eq!(store.daily_loads(3, from, to).await.unwrap(), expected);
    assert_eq!(store.daily_loads(3, from.add_days(3), from.add_days(3)).await.unwrap(), []);
    assert_eq!(store.daily_loads(3, from.add_days(6), from.add_days(6)).await.unwrap(), [(from.add_days(6), 2.25)]);

    let rows = pmc::series(&pmc::daily_loads(expected.iter().copied()), PmcConstants::default());
    store.put_pmc_rows(3, &rows).await.unwrap();
    assert_eq!(store.pmc_rows(3, from, to).await.unwrap(), rows);
    let mut again = rows[0];
    again.load += 1.0;
    store.put_pmc_rows(3, &[again]).await.unwrap();
    assert_eq!(store.pmc_rows(3, from, from).await.unwrap(), [again], "a day written again is replaced");
    assert_eq!(store.pmc_rows(3, from, to).await.unwrap().len(), rows.len());
}

/// [`EraseStore`]: deleting an athlete removes every item of theirs, a thousand and more
/// of every kind, and nothing of a neighbour's; afterwards nothing is found under their
/// keys, and a second deletion finds nothing to delete.
pub async fn erase_store<
    S: EraseStore + WriteStore + ReadStore + RollupStore + ProfileStore + RationStore + ImportStore,
>(
    store: &S,
) {
    let start = day("2020-01-01");
    assert!(!store.athlete_has_items(42).await.unwrap());
    let loads: BTreeMap<LocalDate, f64> = (0..1100).map(|i| (start.add_days(i), 50.0)).collect();
    store.put_pmc_rows(42, &pmc::series(&loads, PmcConstants::default())).await.unwrap();
    assert!(store.athlete_has_items(42).await.unwrap(), "PMC rows alone are items");
    store.put_profile(&AthleteProfile::new(42)).await.unwrap();
    store.take_export(42, 1_000, 300).await.unwrap();
    for i in 0..5 {
        store.put_activity(&activity(42, i + 1, 1, "2020-02-01", 10.0)).await.unwrap();
    }
    store.put_tombstone(Tombstone { athlete_id: 42, activity_id: 9, version: 1 }).await.unwrap();
    let chunks = encode_chunks_sized(&streams(500, 7), 100).unwrap();
    store.put_stream_chunks(42, 1, &stream_set_id(&chunks).unwrap(), &chunks).await.unwrap();
    store.mark_pmc_dirty(42, start).await.unwrap();
    store.put_import_line(42, "i-1", 0, &ImportLine::refused("a.fit", None, "empty"), 1_000).await.unwrap();
    store.put_profile(&AthleteProfile::new(43)).await.unwrap();
    store.put_activity(&activity(43, 1, 1, "2020-02-01", 10.0)).await.unwrap();

    let deleted = store.delete_athlete(42).await.unwrap();
    assert!(deleted > 1100 + 5 + chunks.len(), "{deleted}");
    assert!(!store.athlete_has_items(42).await.unwrap(), "nothing left");
    assert_eq!(store.get_profile(42).await.unwrap(), None);
    assert_eq!(store.get_activity(42, 9).await.unwrap(), None, "tombstones too");
    assert!(store.pmc_rows(42, start, start.add_days(2000)).await.unwrap().is_empty());
    assert_eq!(store.stream_chunk_count(42, 1).await.unwrap(), 0);
    assert_eq!(store.activity_counts(42).await.unwrap().stored, 0);
    assert!(!store.dirty_athletes().await.unwrap().iter().any(|(a, _)| *a == 42));
    assert!(!store.athletes().await.unwrap().contains(&42));
    assert!(store.import_lines(42, "i-1").await.unwrap().is_empty(), "import reports too");
    assert_eq!(store.delete_athlete(42).await.unwrap(), 0);
    // The neighbour is whole; the rations went with the profile (a fresh start).
    assert!(store.get_profile(43).await.unwrap().is_some());
    assert_eq!(store.activity_counts(43).await.unwrap().stored, 1);
    store.put_profile(&AthleteProfile::new(42)).await.unwrap();
    assert_eq!(store.take_export(42, 1_100, 300).await.unwrap(), Ration::Granted { activities: 1 });
}

/// [`RationStore`]: nothing is written for an athlete without a profile; one export per
/// period; a backfill allowance taken atomically, a count or whatever remains.
pub async fn ration_store<S: RationStore + ProfileStore>(store: &S) {
    let (athlete, now) = (BIG, 1_764_590_400);
    assert_eq!(store.take_export(athlete, now, 300).await.unwrap(), Ration::NotConnected);
    assert_eq!(store.take_backfill(athlete, Some(1), 10, now).await.unwrap(), Ration::NotConnected);
    assert_eq!(store.get_profile(athlete).await.unwrap(), None, "nothing written");
    store.put_profile(&AthleteProfile::new(athlete)).await.unwrap();
    assert_eq!(store.take_export(athlete, now, 300).await.unwrap(), Ration::Granted { activities: 1 });
    assert_eq!(
        store.take_export(athlete, now + 100, 300).await.unwrap(),
        Ration::Wait { retry_after_s: 200, remaining: 0 }
    );
    assert_eq!(store.take_export(athlete, now + 300, 300).await.unwrap(), Ration::Granted { activities: 1 });
    assert_eq!(store.take_backfill(athlete, Some(8), 10, now).await.unwrap(), Ration::Granted { activities: 8 });
    assert!(matches!(
        store.take_backfill(athlete, Some(5), 10, now).await.unwrap(),
        Ration::Wait { remaining: 2, retry_after_s } if retry_after_s > 0
    ));
    assert_eq!(store.take_backfill(athlete, None, 10, now).await.unwrap(), Ration::Granted { activities: 2 });
    assert!(matches!(store.take_backfill(athlete, None, 10, now).await.unwrap(), Ration::Wait { remaining: 0, .. }));
    // What an import did not bring is given back, on its day only; what remains is read.
    let today = LocalDate::from_unix_seconds(now);
    assert_eq!(store.backfill_remaining(athlete, 10, now).await.unwrap(), 0);
    store.refund_backfill(athlete, today, 7).await.unwrap();
    assert_eq!(store.backfill_remaining(athlete, 10, now).await.unwrap(), 7);
    store.refund_backfill(athlete, today.add_days(-1), 7).await.unwrap();
    assert_eq!(store.backfill_remaining(athlete, 10, now).await.unwrap(), 7, "another day's refund");
    store.refund_backfill(athlete, today, 70).await.unwrap();
    assert_eq!(store.backfill_remaining(athlete, 10, now).await.unwrap(), 10, "never below nothing used");
    assert_eq!(store.backfill_remaining(athlete, 10, now + 86_400).await.unwrap(), 10, "a new day");
    assert_eq!(store.take_backfill(athlete, Some(10), 10, now).await.unwrap(), Ration::Granted { activities: 10 });
    store.refund_backfill(404, today, 3).await.unwrap();
    assert_eq!(store.get_profile(404).await.unwrap(), None, "no profile is created by a refund");
    assert_eq!(store.backfill_remaining(404, 10, now).await.unwrap(), 10);
    // Concurrent requests never share one allowance.
    let other = 7;
    store.put_profile(&AthleteProfile::new(other)).await.unwrap();
    let grants = join_all((0..6).map(|_| store.take_backfill(other, Some(3), 10, now))).await;
    let granted: u32 = grants
        .into_iter()
        .map(|g| match g.unwrap() {
            Ration::Granted { activities } => activities,
            _ => 0,
        })
        .sum();
    assert_eq!(granted, 9, "three grants of three, then refusals");
    // The profile's other fields survive the rations' writes.
    assert!(store.get_profile(other).await.unwrap().is_some_and(|p| p.athlete_id == other));
    // Threshold changes: a daily count of their own, atomic as the backfill's.
    assert_eq!(store.take_threshold_change(404, 3, now).await.unwrap(), Ration::NotConnected);
    let changes = join_all((0..5).map(|_| store.take_threshold_change(other, 3, now))).await;
    let granted = changes.into_iter().filter(|g| matches!(g, Ok(Ration::Granted { .. }))).count();
    assert_eq!(granted, 3, "three of the day's three, then refusals");
    assert!(matches!(store.take_threshold_change(other, 3, now).await.unwrap(), Ration::Wait { remaining: 0, .. }));
    assert_eq!(store.take_threshold_change(other, 3, now + 86_400).await.unwrap(), Ration::Granted { activities: 1 });
    assert_eq!(store.backfill_remaining(other, 10, now).await.unwrap(), 1, "the backfill's count is its own");
}

/// [`ImportStore`]: an import's lines by their place, a line written again replaced, one
/// import's lines apart from another's and another athlete's; and the imports' daily
/// allowance of files and bytes ([`RationStore::take_import`]), taken whole or not at all.
pub async fn import_store<S: ImportStore + RationStore + ProfileStore>(store: &S) {
    use stravasync_core::model::ImportOutcome;
    use stravasync_core::ration::IMPORT_KIB_DAILY;
    let now = 1_764_590_400;
    let line = |file: &str, outcome| ImportLine { file: file.into(), activity_id: Some(BIG), outcome, reason: None };
    for seq in [2, 0, 11, 1] {
        store.put_import_line(BIG, "cli-1", seq, &line(&format!("f{seq}"), ImportOutcome::Stored), now).await.unwrap();
    }
    store.put_import_line(BIG, "cli-1", 1, &line("f1", ImportOutcome::Duplicate), now).await.unwrap();
    store.put_import_line(BIG, "cli-10", 0, &line("other", ImportOutcome::Stored), now).await.unwrap();
    store.put_import_line(7, "cli-1", 0, &line("neighbour", ImportOutcome::Stored), now).await.unwrap();
    let lines = store.import_lines(BIG, "cli-1").await.unwrap();
    let seqs: Vec<u32> = lines.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, [0, 1, 2, 11]);
    assert_eq!(lines[1].1.outcome, ImportOutcome::Duplicate, "written again, replaced");
    assert_eq!(store.import_lines(BIG, "cli-10").await.unwrap().len(), 1, "a prefix is not another import");
    assert!(store.import_lines(BIG, "cli-2").await.unwrap().is_empty());
    // The allowance: nothing for an athlete without a profile; a file taken whole or not at all.
    assert_eq!(store.take_import(404, 10, now).await.unwrap(), Ration::NotConnected);
    store.put_profile(&AthleteProfile::new(BIG)).await.unwrap();
    assert_eq!(store.take_import(BIG, IMPORT_KIB_DAILY - 10, now).await.unwrap(), Ration::Granted { activities: 1 });
    assert!(
        matches!(store.take_import(BIG, 11, now).await.unwrap(), Ration::Wait { retry_after_s, .. } if retry_after_s > 0)
    );
    assert_eq!(store.take_import(BIG, 1, now + 86_400).await.unwrap(), Ration::Granted { activities: 1 }, "a new day");
}

/// [`RateBudget`]: a window never passes its limit under concurrent reservations; Strava's
/// usage header corrects the count upwards only; a window held for events refuses the
/// background lane only.
pub async fn rate_budget<S: RateBudget>(store: &S) {
    let w = RateWindow::containing(RateWindowKind::QuarterHour, 1_700_000_000);
    let limit = 25;
    let outcomes = join_all((0..40).map(|_| store.reserve(w, 1, limit))).await;
    let mut granted = 0;
    for o in outcomes {
        if let Reservation::Granted { used } = o.unwrap() {
            assert!(used <= limit);
            granted += 1;
        }
    }
    assert_eq!(granted, limit, "exactly the limit is granted, never more");
    assert_eq!(store.reserve(w, 1, limit).await.unwrap(), Reservation::Exhausted { used: limit });
    assert_eq!(store.used(w).await.unwrap(), limit);

    let daily = RateWindow::containing(RateWindowKind::Daily, 1_700_000_000);
    assert_eq!(store.reserve(daily, 2, 10).await.unwrap(), Reservation::Granted { used: 2 });
    store.record_usage(daily, 8).await.unwrap();
    store.record_usage(daily, 3).await.unwrap();
    assert_eq!(store.reserve(daily, 2, 10).await.unwrap(), Reservation::Granted { used: 10 });
    assert_eq!(store.reserve(daily, 11, 10).await.unwrap(), Reservation::Exhausted { used: 10 });

    let h = w.next();
    assert_eq!(store.reserve_background(h, 1, 10).await.unwrap(), Reservation::Granted { used: 1 });
    store.hold_for_events(h.next()).await.unwrap();
    assert_eq!(store.reserve_background(h, 1, 10).await.unwrap(), Reservation::Granted { used: 2 }, "another window");
    assert_eq!(store.reserve_background(h.next(), 1, 10).await.unwrap(), Reservation::Held { used: 0 });
    assert_eq!(store.reserve(h.next(), 1, 10).await.unwrap(), Reservation::Granted { used: 1 }, "events reserve");
    assert_eq!(store.reserve_background(h.next(), 1, 10).await.unwrap(), Reservation::Held { used: 1 });
    assert_eq!(store.reserve_background(h.next().next(), 3, 2).await.unwrap(), Reservation::Exhausted { used: 0 });
    assert_eq!(store.used(h.next().next()).await.unwrap(), 0, "a window nobody reserved in");
}

/// [`QueryMeter`]: queries are counted as DynamoDB bills them: nothing before the first;
/// a page costs with its size; the rollup's loads cost a fraction of the items they come
/// from.
pub async fn query_meter<S: QueryMeter + ReadStore + WriteStore + RollupStore>(store: &S) {
    assert_eq!(store.query_read_units(), 0.0);
    let from = day("2024-01-01");
    for i in 0..120i64 {
        let mut a = activity(3, 500 + i, 1, &from.add_days(i as i32).to_string(), 10.0);
        a.summary.name = Some(format!("{i} {}", "a long name of a ride ".repeat(40)));
        store.put_activity(&a).await.unwrap();
    }
    let units = |before: f64| store.query_read_units() - before;
    let start = store.query_read_units();
    assert_eq!(store.activities_page(3, None, 10).await.unwrap().len(), 10);
    let ten = units(start);
    let start = store.query_read_units();
    assert_eq!(store.activities_page(3, None, 100).await.unwrap().len(), 100);
    let hundred = units(start);
    assert!(ten >= 0.5 && hundred >= 5.0 * ten && hundred <= 20.0 * ten, "{ten} for 10 items, {hundred} for 100");
    let start = store.query_read_units();
    let full = store.activities_between(3, from, from.add_days(200)).await.unwrap();
    let full_units = units(start);
    let start = store.query_read_units();
    let loads = store.daily_loads(3, from, from.add_days(200)).await.unwrap();
    let load_units = units(start);
    assert_eq!(loads.len(), full.len());
    assert!(load_units * 5.0 <= full_units, "{load_units} units for the loads, {full_units} for the items");
}

/// A test per role trait for one store. `$make` is an async function of a label (unique
/// per test, for stores that need their own tables) returning `(store, guard)`; the guard
/// is kept alive for the test (a local stack, or `()`).
#[macro_export]
macro_rules! store_contract {
    ($make:path) => {
        #[tokio::test]
        async fn contract_profile_store() {
            let (store, _guard) = $make("contract-profiles").await;
            $crate::profile_store(&store).await;
        }
        #[tokio::test]
        async fn contract_threshold_history() {
            let (store, _guard) = $make("contract-thresholds").await;
            $crate::threshold_history(&store).await;
        }
        #[tokio::test]
        async fn contract_write_store() {
            let (store, _guard) = $make("contract-writes").await;
            $crate::write_store(&store).await;
        }
        #[tokio::test]
        async fn contract_read_store() {
            let (store, _guard) = $make("contract-reads").await;
            $crate::read_store(&store).await;
        }
        #[tokio::test]
        async fn contract_rollup_store() {
            let (store, _guard) = $make("contract-rollup").await;
            $crate::rollup_store(&store).await;
        }
        #[tokio::test]
        async fn contract_erase_store() {
            let (store, _guard) = $make("contract-erase").await;
            $crate::erase_store(&store).await;
        }
        #[tokio::test]
        async fn contract_ration_store() {
            let (store, _guard) = $make("contract-rations").await;
            $crate::ration_store(&store).await;
        }
        #[tokio::test]
        async fn contract_import_store() {
            let (store, _guard) = $make("contract-imports").await;
            $crate::import_store(&store).await;
        }
        #[tokio::test]
        async fn contract_rate_budget() {
            let (store, _guard) = $make("contract-budget").await;
            $crate::rate_budget(&store).await;
        }
        #[tokio::test]
        async fn contract_query_meter() {
            let (store, _guard) = $make("contract-meter").await;
            $crate::query_meter(&store).await;
        }
    };
}
