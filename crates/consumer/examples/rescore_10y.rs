//! What a dated threshold change costs on ten years of history (docs/design.md §6b): one
//! activity a day for 3,653 days (the four shared recordings in turn, with their stored
//! streams), then a `default` entry dated at the start, which rescores every one of them.
//! The real consumer on the in-memory ports, its store metered in DynamoDB's units; each
//! message is timed.
//!
//! `cargo run --release -p stravasync-consumer --example rescore_10y`

use std::time::Instant;

use stravasync_consumer::{Outcome, RESCORE_CHUNK};
use stravasync_core::LocalDate;
use stravasync_core::analysis::score_single;
use stravasync_core::codec::{encode_chunks, stream_set_id};
use stravasync_core::job::Job;
use stravasync_core::model::{ActivitySummary, AthleteProfile, StoredActivity, Thresholds};
use stravasync_core::ports::roles::*;
use stravasync_core::streams::parse_streams_json;
use stravasync_core::thresholds::{ThresholdChange, ThresholdEntry, ThresholdGroup};
use stravasync_memory::MemoryStore;

const ATHLETE: i64 = 4_242;
const DAYS: i32 = 3_653;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let fake = fake_strava::start(fake_strava::FakeConfig {
        fixtures_dir: fake_strava::default_fixtures_dir(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut consumer = stravasync_consumer::testing::memory_consumer(&fake);
    consumer.store = MemoryStore::metered();
    let store = &consumer.store;
    let thresholds = Thresholds::starter(stravasync_core::model::Sex::Male);
    let mut profile = AthleteProfile::new(ATHLETE);
    profile.thresholds = thresholds.clone();
    store.put_profile(&profile).await.unwrap();

    let dir = fake_strava::default_fixtures_dir().expect("the shared recordings");
    let mut recordings = Vec::new();
    for name in ["ride_power_edge810", "virtualride_zwift", "run_fenix2", "ride_elevate_sample"] {
        let summary: ActivitySummary =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.activity.json"))).unwrap()).unwrap();
        let streams = parse_streams_json(&std::fs::read(dir.join(format!("{name}.streams.json"))).unwrap()).unwrap();
        let chunks = encode_chunks(&streams).unwrap();
        recordings.push((summary, streams, chunks));
    }
    let last: LocalDate = "2026-12-01".parse().unwrap();
    let first = last.add_days(1 - DAYS);
    for day in 0..DAYS {
        let (summary, streams, chunks) = &recordings[day as usize % recordings.len()];
        let date = first.add_days(day);
        let id = 60_000_000 + i64::from(day);
        let mut summary = summary.clone();
        summary.id = id;
        summary.start_date_local = format!("{date}T07:00:00Z");
        summary.start_date = summary.start_date_local.clone();
        let set_id = stream_set_id(chunks).unwrap();
        store.put_stream_chunks(ATHLETE, id, &set_id, chunks).await.unwrap();
        let metrics = score_single(&summary, streams, &thresholds).unwrap();
        store
            .put_activity(&StoredActivity {
                schema: 1,
                athlete_id: ATHLETE,
                activity_id: id,
                version: 1,
                local_date: date,
                summary,
                metrics: Some(metrics),
                stream_chunks: chunks.len() as u32,
                streams_id: Some(set_id),
                unscored_reason: None,
                pending_streams: false,
                field_versions: Default::default(),
            })
            .await
            .unwrap();
    }
    let seeded = store.units();

    // The athlete's heart rates from the first day: every activity of every sport.
    let entry = ThresholdEntry {
        lthr: Some(170.0),
        hr_max: Some(192.0),
        hr_rest: Some(48.0),
        ..ThresholdEntry::new(ThresholdGroup::Default, first)
    };
    let change = Job::ChangeThresholds { athlete_id: ATHLETE, change: ThresholdChange::Save { entry }, version: 0 };
    let record = |job: &Job| stravasync_consumer::testing::record(job, "m", 1);
    let started = Instant::now();
    assert_eq!(consumer.process(&record(&change)).await, Outcome::Done);
    let mut seen = 0;
    let mut times = Vec::new();
    loop {
        let sent = consumer.queue.messages();
        if sent.len() <= seen {
            break;
        }
        let jobs: Vec<Job> = sent[seen..].iter().map(|m| Job::parse(&m.body).unwrap()).collect();
        seen = sent.len();
        for job in jobs {
            let t = Instant::now();
            assert_eq!(consumer.process(&record(&job)).await, Outcome::Done);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    consumer.recompute_dirtied().await;
    let total = started.elapsed().as_secs_f64();
    let used = store.units();
    let (read, write) = (used.read - seeded.read, used.write - seeded.write);
    times.sort_by(f64::total_cmp);
    let p = store.get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!(p.rescored_version, p.thresholds_version, "the rescore finished");
    println!("{DAYS} activities, one a day; a default entry from {first} rescores every one of them");
    println!(
        "{} rescore messages of {RESCORE_CHUNK}; per message: median {:.0} ms, slowest {:.0} ms (CPU of the consumer, store in memory)",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
    println!("whole rescore and the PMC recompute: {total:.2} s");
    // DynamoDB on demand, us-east-1: $0.25 per million read request units, $1.25 per million write.
    let dollars = read * 0.25e-6 + write * 1.25e-6;
    println!("DynamoDB request units: {read:.0} read, {write:.0} write: ${dollars:.4} on demand");
}
