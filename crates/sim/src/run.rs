//! The simulation: the real consumer and rollup on in-memory ports, fake-strava on the
//! same virtual clock, and a discrete-event loop that plays Lambda's SQS event sources,
//! the rollup's schedules and the athletes.
//!
//! What is real: every line of the consumer (`handle_batch`: lanes, budget, deferrals,
//! re-sends, backfill, token refresh, scoring, storage rules) and of the rollup; the Strava
//! client and its HTTP requests to fake-strava (its rate limits, 429s, token expiry,
//! pagination) over loopback. What is modelled: SQS FIFO ([`crate::queue`]); time, which
//! only the loop advances (nothing sleeps); how long a Strava call takes
//! ([`SimOptions::request_ms`]; each batch occupies its invocation for that long per call);
//! Lambda's concurrency (4 reserved, the background source at most 2: `template.yaml`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

use fake_strava::{FakeConfig, FakeState, Fault, FaultKind, RunningFake};
use stravasync_consumer::{Consumer, ConsumerPolicy, Record};
use stravasync_core::Secret;
use stravasync_core::event::WebhookEvent;
use stravasync_core::job::{Job, Lane, QueueMessage};
use stravasync_core::model::{AppCredentials, AthleteProfile, OAuthTokens, Scopes, Sex, Thresholds};
use stravasync_core::ports::{ProfileStore, ReadStore, TokenVault};
use stravasync_rollup::{Mode, Rollup, RollupRequest};
use stravasync_strava::{StravaClient, StravaConfig};

use crate::load::{AthletePlan, Rng, next_start, plan_athletes, rng};
use crate::options::SimOptions;
use crate::queue::{SimQueue, VirtualClock};
use crate::report::Report;
use stravasync_memory::{MemoryStore, MemoryVault};

/// Reserved concurrency of the consumer (`ConsumerReservedConcurrency`) and the background
/// source's `MaximumConcurrency`.
const CONCURRENCY: usize = 4;
const BACKGROUND_MAX: usize = 2;
/// The queues' `maxReceiveCount` (`template.yaml`): events, background.
const MAX_RECEIVE_COUNT: (u32, u32) = (20, 1000);
/// Activities' summaries are sketched from streams this many times shorter (set-up time).
const SUMMARY_STEP: usize = 120;
/// Fixed cost of one invocation besides its Strava calls (SQS, DynamoDB, scoring).
const INVOCATION_MS: i64 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    Connect(u32),
    Upload(u32),
    TitleEdit(u32, i64),
    TypeEdit(u32, i64),
    Delete(u32, i64),
    Deauthorize(u32),
    InvocationEnds(Lane),
    HourlyRollup,
    DailyRollup,
    Stray429,
}

/// One webhook event on its way: when it was sent, and what kind it is.
struct Pending {
    sent_ms: i64,
    kind: &'static str,
}

pub struct Simulation {
    options: SimOptions,
    clock: VirtualClock,
    fake: RunningFake,
    consumer: Consumer<MemoryStore, MemoryVault, SimQueue>,
    rollup: Rollup<MemoryStore, SimQueue>,
    plans: Vec<AthletePlan>,
    athlete_ids: Vec<i64>,
    rngs: Vec<Rng>,
    heap: BinaryHeap<Reverse<(i64, u64, Happening)>>,
    serial: u64,
    now_ms: i64,
    busy: [usize; 2],
    pending: HashMap<String, Pending>,
    /// Seconds from connection to the end of the invocation that finished the backfill.
    backfilled: HashMap<i64, f64>,
    /// Seconds from connection to the end of the athlete's first backfill slice.
    first_slice: HashMap<i64, f64>,
    report: Report,
}

fn lane_index(lane: Lane) -> usize {
    match lane {
        Lane::Events => 0,
        Lane::Background => 1,
    }
}

fn event(kind: &str, object: &str, id: i64, owner: i64, time: i64, updates: serde_json::Value) -> WebhookEvent {
    let json = serde_json::json!({
        "object_type": object, "object_id": id, "aspect_type": kind, "updates": updates,
        "owner_id": owner, "subscription_id": 1, "event_time": time,
    });
    WebhookEvent::parse(json.to_string().as_bytes()).expect("a well-formed event")
}

impl Simulation {
    /// Sets up fake-strava (athletes and their history), the consumer and the rollup.
    pub async fn new(options: SimOptions) -> std::io::Result<Self> {
        let clock = VirtualClock::new(options.start);
        let end = options.start + i64::from(options.days) * 86_400;
        let config = FakeConfig {
            fixtures_dir: None,
            read_limit_15min: options.limit_15min,
            read_limit_daily: options.limit_daily,
            limit_15min: options.limit_15min * 2,
            limit_daily: options.limit_daily * 2,
            stream_step: options.stream_step,
            keep_log: false,
            ..FakeConfig::default()
        };
        let state = FakeState::new(config.clone()).map_err(std::io::Error::other)?.with_clock(clock.as_fn());
        let plans = plan_athletes(
            options.athletes,
            options.start,
            (options.connect_over_hours * 3600.0) as i64,
            end,
            options.history,
            &options.behaviour,
            options.seed,
        );
        let mut athlete_ids = Vec::with_capacity(plans.len());
        for p in &plans {
            let id = state.add_generated_athlete(p.index, options.seed);
            for start in &p.history {
                state.new_activity_with(id, *start, SUMMARY_STEP);
            }
            athlete_ids.push(id);
        }
        let fake = fake_strava::serve(state).await?;
        let strava = StravaClient::new(
            StravaConfig::new(config.client_id.clone(), Secret::new(config.client_secret.clone()))
                .with_urls(fake.api_url(), fake.oauth_url())
                .with_clock(clock.as_fn()),
        )
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        // The deployed policy but the simulated limits and shares; background paced.
        let policy = ConsumerPolicy {
            limit_15min: options.limit_15min,
            limit_daily: options.limit_daily,
            background_share: options.background_share,
            backfill_batch: options.backfill_batch,
            ..ConsumerPolicy::default()
        };
        let store = MemoryStore::metered();
        let queue = SimQueue::new(clock.clone(), MAX_RECEIVE_COUNT.0, MAX_RECEIVE_COUNT.1);
        let app = AppCredentials {
            client_id: config.client_id.clone(),
            client_secret: Secret::new(config.client_secret.clone()),
            verify_token: Secret::new("simulated"),
            subscription_id: 1,
        };
        let consumer = Consumer::new(policy, strava, store.clone(), MemoryVault::new(app), queue.clone());
        let rollup = Rollup::new(store, queue);
        let rngs = plans.iter().map(|p| rng(options.seed ^ 0x5EED ^ (u64::from(p.index) << 24))).collect();
        let mut sim = Simulation {
            clock,
            fake,
            consumer,
            rollup,
            athlete_ids,
            rngs,
            heap: BinaryHeap::new(),
            serial: 0,
            now_ms: options.start * 1000,
            busy: [0, 0],
            pending: HashMap::new(),
            backfilled: HashMap::new(),
            first_slice: HashMap::new(),
            report: Report::new(&options),
            plans,
            options,
        };
        for i in 0..sim.plans.len() {
            let p = &sim.plans[i];
            let (connect_at, deauth) = (p.connect_at, p.deauthorize_at);
            sim.at(connect_at * 1000, Happening::Connect(i as u32));
            if let Some(t) = deauth {
                sim.at(t * 1000, Happening::Deauthorize(i as u32));
            }
        }
        let start = sim.options.start;
        for hour in 1..=i64::from(sim.options.days) * 24 {
            sim.at((start + hour * 3600) * 1000, Happening::HourlyRollup);
            if sim.options.stray_429_per_hour > 0.0 {
                sim.at((start + hour * 3600 - 1800) * 1000, Happening::Stray429);
            }
        }
        for day in 0..i64::from(sim.options.days) {
            sim.at((start + day * 86_400 + 900) * 1000, Happening::DailyRollup);
        }
        Ok(sim)
    }

    fn at(&mut self, ms: i64, what: Happening) {
        self.serial += 1;
        self.heap.push(Reverse((ms, self.serial, what)));
    }

    fn end_ms(&self) -> i64 {
        (self.options.start + i64::from(self.options.days) * 86_400) * 1000
    }

    fn set_now(&mut self, ms: i64) {
        self.now_ms = ms;
        self.clock.set(ms.div_euclid(1000));
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Runs to the end and reports.
    pub async fn run(mut self) -> Report {
        let wall = Instant::now();
        let end = self.end_ms();
        loop {
            self.start_invocations().await;
            let next_visible = Lane::ALL
                .iter()
                .filter(|l| self.free(**l))
                .filter_map(|l| self.consumer.queue.next_visible(*l))
                .map(|s| s * 1000)
                .filter(|ms| *ms > self.now_ms)
                .min();
            let next_happening = self.heap.peek().map(|Reverse((ms, _, _))| *ms);
            let Some(next) = [next_visible, next_happening].into_iter().flatten().min() else { break };
            if next > end {
                break;
            }
            self.set_now(next);
            while let Some(Reverse((ms, _, what))) = self.heap.peek().copied() {
                if ms > self.now_ms {
                    break;
                }
                self.heap.pop();
                self.happen(what).await;
            }
        }
        self.set_now(end);
        self.finish(wall).await
    }

    fn free(&self, lane: Lane) -> bool {
        let total = self.busy[0] + self.busy[1];
        match lane {
            Lane::Events => total < CONCURRENCY,
            Lane::Background => total < CONCURRENCY && self.busy[1] < BACKGROUND_MAX,
        }
    }

    /// Gives every free invocation slot a batch, events first (as two event sources would).
    async fn start_invocations(&mut self) {
        for lane in Lane::ALL {
            while self.free(lane) {
                let delivered = self.consumer.queue.receive(lane, 10);
                if delivered.is_empty() {
                    break;
                }
                let ends = self.invoke(lane, delivered).await;
                self.busy[lane_index(lane)] += 1;
                self.at(ends, Happening::InvocationEnds(lane));
            }
        }
    }

    /// One Lambda invocation of the consumer on a batch; returns when it ends (ms).
    async fn invoke(&mut self, lane: Lane, delivered: Vec<crate::queue::Delivered>) -> i64 {
        let records: Vec<Record> = delivered
            .into_iter()
            .map(|d| Record {
                message_id: d.message_id,
                receipt_handle: d.receipt_handle,
                body: d.body,
                receive_count: d.receive_count,
                group_id: Some(d.group_id),
                dedup_id: Some(d.dedup_id),
                sent_at: Some(d.sent_at),
            })
            .collect();
        let before = self.fake.state.api_calls();
        let report = self.consumer.handle_batch(&records).await;
        let calls = self.fake.state.api_calls() - before;
        let ends = self.now_ms + INVOCATION_MS + calls as i64 * self.options.request_ms;
        let mut latencies = Vec::new();
        let stats = self.report.lane_mut(lane);
        stats.invocations += 1;
        stats.records += records.len() as u64;
        stats.strava_requests += calls;
        stats.invocation_ms += ends - self.now_ms;
        let mut done = Vec::new();
        for r in &records {
            let id = &r.message_id;
            if report.failed.contains(id) {
                stats.deferred += 1;
            } else if report.dead_lettered.contains(id) {
                stats.dead_lettered += 1;
            } else if report.resent.contains(id) {
                stats.resent += 1;
            } else {
                done.push(r.receipt_handle.as_str());
                stats.done += 1;
                if let Some(p) = self.pending.remove(&r.body) {
                    latencies.push((p.kind, (ends - p.sent_ms) as f64 / 1000.0));
                }
            }
        }
        for (kind, seconds) in latencies {
            self.report.latency(kind, seconds);
        }
        if lane == Lane::Background {
            let done: Vec<&Record> = records.iter().filter(|r| !report.failed.contains(&r.message_id)).collect();
            self.note_backfills(&done, ends).await;
        }
        self.consumer.queue.delete_batch(&done);
        ends
    }

    /// Backfill slices the invocation ending at `ends` (ms) completed: the athlete's first
    /// (their most recent activities), and the one that finished the backfill, each timed
    /// from the connection.
    async fn note_backfills(&mut self, done: &[&Record], ends: i64) {
        for r in done {
            let Ok(Job::Backfill { athlete_id, requested_at: Some(id), .. }) = Job::parse(&r.body) else { continue };
            let since = (ends as f64 / 1000.0) - id as f64;
            self.first_slice.entry(athlete_id).or_insert(since);
            if self.backfilled.contains_key(&athlete_id) {
                continue;
            }
            let profile = self.consumer.store.get_profile(athlete_id).await.ok().flatten();
            if profile.and_then(|p| p.backfill).is_some_and(|b| b.requested_at == id && b.finished_at.is_some()) {
                self.backfilled.insert(athlete_id, since);
            }
        }
    }

    async fn happen(&mut self, what: Happening) {
        match what {
            Happening::Connect(i) => self.connect(i).await,
            Happening::Upload(i) => self.upload(i),
            Happening::TitleEdit(i, id) => {
                let title = format!("Edited {id}");
                self.fake.state.update_activity(id, Some(&title), None);
                self.push(i, "update", id, serde_json::json!({"title": title}), "title edit");
            }
            Happening::TypeEdit(i, id) => {
                self.fake.state.update_activity(id, None, Some("Run"));
                self.push(i, "update", id, serde_json::json!({"type": "Run"}), "type edit");
            }
            Happening::Delete(i, id) => {
                self.fake.state.delete_activity(id);
                self.push(i, "delete", id, serde_json::json!({}), "delete");
            }
            Happening::Deauthorize(i) => {
                let athlete = self.athlete_ids[i as usize];
                self.fake.state.revoke(athlete);
                let e = event(
                    "update",
                    "athlete",
                    athlete,
                    athlete,
                    self.now(),
                    serde_json::json!({"authorized": "false"}),
                );
                self.send(QueueMessage::for_event(&e, None), "deauthorization");
                self.report.deauthorized += 1;
            }
            Happening::InvocationEnds(lane) => self.busy[lane_index(lane)] -= 1,
            Happening::HourlyRollup => self.rollup(Mode::Dirty).await,
            Happening::DailyRollup => self.rollup(Mode::Daily).await,
            Happening::Stray429 => {
                let roll = self.rngs.first_mut().map_or(1.0, Rng::unit);
                if roll < self.options.stray_429_per_hour {
                    let fault = Fault { route: "*".into(), kind: FaultKind::RateLimited, count: 1, delay_ms: 0 };
                    self.fake.state.inject(fault);
                    self.report.stray_429s += 1;
                }
            }
        }
    }

    fn send(&mut self, message: QueueMessage, kind: &'static str) {
        let body = message.body.clone();
        if self.consumer.queue.send(&message) {
            self.pending.insert(body, Pending { sent_ms: self.now_ms, kind });
        }
    }

    fn push(&mut self, i: u32, aspect: &str, id: i64, updates: serde_json::Value, kind: &'static str) {
        let athlete = self.athlete_ids[i as usize];
        let e = event(aspect, "activity", id, athlete, self.now(), updates);
        self.send(QueueMessage::for_event(&e, None), kind);
    }

    /// The OAuth callback's work: tokens, profile, the backfill of the most recent
    /// `backfill_count` activities (the webhook's own calls are not modelled).
    async fn connect(&mut self, i: u32) {
        let athlete = self.athlete_ids[i as usize];
        let now = self.now();
        let scope = "read,activity:read_all,profile:read_all";
        let (access, refresh, expires_at) = self.fake.state.mint_tokens(athlete, scope);
        let tokens = OAuthTokens {
            athlete_id: athlete,
            access_token: Secret::new(access),
            refresh_token: Secret::new(refresh),
            expires_at,
            scopes: Scopes::parse(scope),
            connected_at: now,
        };
        let stored = self.consumer.vault.put_tokens(&tokens).await;
        let mut profile = AthleteProfile::new(athlete);
        profile.thresholds = Thresholds::starter(if i % 2 == 1 { Sex::Female } else { Sex::Male });
        profile.scopes = Scopes::parse(scope);
        let profiled = self.consumer.store.put_profile(&profile).await;
        if stored.is_err() || profiled.is_err() {
            return;
        }
        let job = Job::start_backfill(athlete, Some(self.options.backfill_count), None, None, Some(now));
        self.consumer.queue.send(&QueueMessage::for_job(&job, &format!("connect-{now}")));
        self.report.connected += 1;
        let plan = &self.plans[i as usize];
        let (rate, offset) = (plan.rate, plan.utc_offset);
        let rng = &mut self.rngs[i as usize];
        let first = next_start(rng, now, rate, offset);
        let upload = upload_ms(rng, first);
        self.at(upload, Happening::Upload(i));
    }

    /// An athlete records an activity: it appears on Strava, the create event is pushed;
    /// some are edited or deleted later; the next one is planned.
    fn upload(&mut self, i: u32) {
        let athlete = self.athlete_ids[i as usize];
        let plan = &self.plans[i as usize];
        if plan.deauthorize_at.is_some_and(|t| t <= self.now()) {
            return;
        }
        let (rate, offset) = (plan.rate, plan.utc_offset);
        let b = self.options.behaviour;
        let now = self.now();
        let start = now - 2 * 3600;
        let Some(id) = self.fake.state.new_activity_with(athlete, start, SUMMARY_STEP) else { return };
        self.push(i, "create", id, serde_json::json!({}), "create");
        self.report.recorded += 1;
        let rng = &mut self.rngs[i as usize];
        let (edit, retype, delete) = (rng.unit(), rng.unit(), rng.unit());
        let later = |rng: &mut Rng, max_s: f64| (now as f64 + rng.range(60.0, max_s)) as i64 * 1000;
        let mut plans = Vec::new();
        if edit < b.title_edits {
            plans.push((later(rng, 6.0 * 3600.0), Happening::TitleEdit(i, id)));
        }
        if retype < b.type_edits {
            plans.push((later(rng, 12.0 * 3600.0), Happening::TypeEdit(i, id)));
        }
        if delete < b.deletes {
            plans.push((later(rng, 3.0 * 86_400.0), Happening::Delete(i, id)));
        }
        let next = next_start(rng, now, rate, offset);
        let next_upload = upload_ms(rng, next);
        for (ms, what) in plans {
            self.at(ms, what);
        }
        self.at(next_upload, Happening::Upload(i));
    }

    async fn rollup(&mut self, mode: Mode) {
        match self.rollup.run(&RollupRequest { mode, athlete_id: None }, self.now()).await {
            Ok(r) => {
                self.report.rollup_runs += 1;
                self.report.reconciles += r.reconciles_enqueued as u64;
            }
            Err(e) => self.report.failures.push(format!("rollup: {e}")),
        }
    }

    async fn finish(mut self, wall: Instant) -> Report {
        let now = self.now();
        for (i, athlete) in self.athlete_ids.iter().enumerate() {
            let plan = &self.plans[i];
            if plan.connect_at > now || plan.deauthorize_at.is_some() {
                continue;
            }
            match self.backfilled.get(athlete) {
                Some(took) => self.report.backfill_done(*took),
                None => self.report.backfill_unfinished += 1,
            }
            // An athlete still without a first slice counts as late as the run is long.
            let first = self.first_slice.get(athlete).copied();
            self.report.first_slices.push(first.unwrap_or((self.now_ms / 1000 - plan.connect_at) as f64));
        }
        for (_, p) in self.pending.drain() {
            self.report.waiting(p.kind, (self.now_ms - p.sent_ms) as f64 / 1000.0);
        }
        self.report.quarter_counts = self.fake.state.quarter_counts();
        self.report.answered_429s = self.fake.state.api_429s();
        self.report.strava_requests = self.fake.state.api_calls();
        self.report.queue_requests = self.consumer.queue.requests();
        let dead_letters = self.consumer.queue.dead_letters();
        self.report.dead_letters = dead_letters.len() as u64;
        for (_, reason) in dead_letters {
            let reason: String = reason.chars().take(70).collect();
            *self.report.dead_letter_reasons.entry(reason).or_default() += 1;
        }
        self.report.redriven = self.consumer.queue.redriven();
        self.report.units = self.consumer.store.units();
        self.report.vault_calls = self.consumer.vault.calls();
        self.report.events_depth = self.consumer.queue.depth(Lane::Events) as u64;
        self.report.background_depth = self.consumer.queue.depth(Lane::Background) as u64;
        self.report.stored = count_stored(&self.consumer.store, &self.athlete_ids).await;
        self.report.wall_s = wall.elapsed().as_secs_f64();
        self.report
    }
}

/// When an activity that started at `start` is uploaded (after it ends).
fn upload_ms(rng: &mut Rng, start: i64) -> i64 {
    (start + rng.range(40.0 * 60.0, 160.0 * 60.0) as i64) * 1000
}

async fn count_stored(store: &MemoryStore, athletes: &[i64]) -> u64 {
    let mut n = 0;
    for a in athletes {
        n += store.activity_counts(*a).await.map_or(0, |c| c.stored as u64);
    }
    n
}
