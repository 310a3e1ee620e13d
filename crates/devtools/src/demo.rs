//! The whole pipeline on one machine: moto (AWS), fake-strava (Strava), and the real
//! handler code of the three Lambdas. `stravasync-dev demo` (and `make demo`) runs it; the
//! end-to-end tests under `tests/` run the same scenario and check its result.
//!
//! Scenario: bootstrap the stack; start fake-strava with a generated athlete; serve the
//! webhook handler on a local HTTP listener; create Strava's push subscription (the fake
//! performs the GET challenge against the listener); connect the athlete through the OAuth
//! flow; pump the queue into the consumer (the backfill); record new activities on the
//! fake, which pushes their events over HTTP; edit and delete one; pump; run the rollup.
//! The read API and dashboard are served on the same listener as the webhook (one site,
//! as the HttpApi is in AWS); [`DemoReport::keep_syncing`] then plays the event source
//! and the schedule for a person (or a browser test) clicking through.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use clap::Args;

use fake_strava::data::{GENERATED_ATHLETE_BASE, Season};
use fake_strava::{FakeConfig, RunningFake};
use stravasync_api::{ApiConfig, AwsApi};
use stravasync_aws::local::{LOCAL_WEBHOOK_PATH_SECRET, LocalStack, local_app_credentials};
use stravasync_consumer::deps::{AwsConsumer, ConsumerEnv};
use stravasync_consumer::pump::pump_until_idle;
use stravasync_core::LocalDate;
use stravasync_core::model::{ActivityState, PmcRow};
use stravasync_core::ports::ReadStore;
use stravasync_rollup::deps::{AwsRollup, RollupConfig};
use stravasync_rollup::{Mode, RollupRequest};
use stravasync_strava::{StravaClient, StravaConfig};
use stravasync_webhook::{AwsWebhook, WebhookConfig};

use stravasync_cli::{CliError, InputError, chart};

/// `stravasync-dev demo`'s arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Generated activities of the demo athlete (about one every 1-2 days).
    #[arg(long, default_value_t = 60)]
    pub activities: u32,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Where to write the chart as SVG.
    #[arg(long, default_value = "target/demo/pmc.svg")]
    pub svg: PathBuf,
    /// Keep the stack running afterwards (the dashboard, the webhook, the queue pumped
    /// into the consumer and the rollup every second) until interrupted.
    #[arg(long)]
    pub serve: bool,
}

impl DemoArgs {
    /// Runs the scenario on the local moto server, writes the chart, prints the summary;
    /// with `--serve`, keeps the stack syncing until interrupted.
    pub fn run(self) -> Result<String, CliError> {
        if !stravasync_cli::ops::endpoint_is_local(std::env::var("AWS_ENDPOINT_URL").ok().as_deref()) {
            return Err(InputError::new(
                "the demo runs against a local moto server: use `make demo` (AWS_ENDPOINT_URL must be on this machine)",
            )
            .into());
        }
        let now = stravasync_core::clock::unix_now();
        let runtime = tokio::runtime::Runtime::new().map_err(CliError::runtime("async runtime"))?;
        let options = DemoOptions {
            suffix: format!("demo-{now}"),
            activities: self.activities,
            seed: self.seed,
            now,
            kms_tokens: false,
            read_limits: None,
        };
        let report = runtime.block_on(run(options, |line| println!("- {line}"))).map_err(CliError::runtime("demo"))?;
        let form = runtime.block_on(report.form()).map_err(CliError::runtime("demo"))?;
        let svg = &self.svg;
        if let Some(dir) = svg.parent() {
            std::fs::create_dir_all(dir).map_err(|e| InputError::new(format!("{}: {e}", dir.display())))?;
        }
        std::fs::write(svg, chart::svg_chart(&report.pmc).map_err(InputError::new)?)
            .map_err(|e| InputError::new(format!("{}: {e}", svg.display())))?;
        let summary = format!(
            "\nathlete {}: {} activities stored, {} deleted, {} Strava API requests in all\n\n{}\n{}\nchart: {}\ndashboard: {}/",
            report.athlete,
            report.stored_activities,
            report.deleted_activities,
            report.strava_requests,
            chart::text_chart(&report.pmc, 21),
            stravasync_cli::insight::render_form(form.form.as_ref(), form.settling.as_ref()),
            svg.display(),
            report.base_url,
        );
        if !self.serve {
            return Ok(format!("{summary} (up while the demo runs; `make demo-serve` keeps it up)"));
        }
        println!(
            "{summary}\n\nServing until interrupted (Ctrl-C): open the dashboard and click \"Connect with Strava\". \
             The demo's clock now follows real time; the rollup runs hourly, as deployed."
        );
        report.clock.follow();
        runtime.block_on(async {
            tokio::select! {
                _ = report.keep_syncing(std::time::Duration::from_secs(1), Some(ROLLUP_EVERY_S)) => {}
                _ = tokio::signal::ctrl_c() => println!("\ninterrupted: stopping the demo"),
            }
        });
        Ok(String::new())
    }
}

/// The demo's clock. The scripted run happens at its start instant (so that its output is
/// the same every time); [`DemoClock::follow`] then lets it move with real time, and
/// [`DemoClock::advance`] moves it on at once (a test's half hour). Every part of the demo
/// reads this one clock: fake-strava, the webhook's Strava client, the API, the consumer,
/// the rollup; so rate windows roll over, rations run out and come back, and every sync
/// time is the demo's own.
#[derive(Clone)]
pub struct DemoClock {
    start: i64,
    offset: Arc<AtomicI64>,
    followed_since: Arc<Mutex<Option<std::time::Instant>>>,
}

impl DemoClock {
    pub fn new(start: i64) -> Self {
        DemoClock { start, offset: Arc::default(), followed_since: Arc::default() }
    }

    /// Unix seconds now, on the demo's clock.
    pub fn now(&self) -> i64 {
        let real = self
            .followed_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map_or(0, |since| i64::try_from(since.elapsed().as_secs()).unwrap_or(i64::MAX));
        self.start + self.offset.load(Ordering::Relaxed) + real
    }

    /// Moves the clock on by `seconds` at once.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }

    /// From now on the clock moves with real time (the served demo, for a person).
    pub fn follow(&self) {
        self.followed_since.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(std::time::Instant::now);
    }

    /// The clock as the components take one.
    pub fn clock(&self) -> stravasync_core::clock::Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Suffix of the resource names, so runs do not collide on one moto server.
    pub suffix: String,
    pub activities: u32,
    pub seed: u64,
    /// Unix seconds of "now": the generated season ends the day before.
    pub now: i64,
    /// Tokens sealed with KMS in the table (`TOKEN_STORE=dynamodb-kms`) instead of one
    /// Secrets Manager secret per athlete.
    pub kms_tokens: bool,
    /// Strava's read limits (per 15 minutes, per day) for fake-strava and the consumer's
    /// budget alike, instead of a new application's 100 and 1,000 (a long history import).
    pub read_limits: Option<(u32, u32)>,
}

#[derive(Clone)]
pub struct DemoReport {
    pub athlete: i64,
    /// Where the webhook, the dashboard and the read API are served (`http://127.0.0.1:N`).
    pub base_url: String,
    /// The session cookie (`name=value`) the OAuth callback set.
    pub session_cookie: String,
    pub stored_activities: usize,
    pub deleted_activities: usize,
    pub strava_requests: usize,
    pub pmc: Vec<PmcRow>,
    pub fake: Arc<RunningFake>,
    pub stack: Arc<LocalStack>,
    pub consumer: Arc<AwsConsumer>,
    pub rollup: Arc<AwsRollup>,
    /// When the scripted run happened, on the demo's clock (unix seconds).
    pub now: i64,
    /// The demo's clock, for what comes after the script ([`DemoReport::keep_syncing`]).
    pub clock: DemoClock,
    /// What the callback showed a second athlete, whom Strava refused (the application's
    /// athlete capacity: Single Player Mode): `(status, title, message)`.
    pub capacity_refusal: (u16, String, String),
}

/// The scheduled rollup as the template runs it: hourly, on the demo's clock.
pub const ROLLUP_EVERY_S: i64 = 3600;

impl DemoReport {
    /// What Lambda does in AWS, forever: the SQS event source into the consumer every
    /// `interval` (the consumer recomputes the chart of what it changed at once), and the
    /// scheduled rollup every `rollup_every_s` of the demo's clock (`None`: never, to show
    /// that the page does not wait for it). For `stravasync-dev demo --serve` and the
    /// browser test.
    pub async fn keep_syncing(&self, interval: std::time::Duration, rollup_every_s: Option<i64>) {
        let mut last_rollup = self.clock.now();
        loop {
            if let Err(e) = pump_until_idle(&self.consumer, 100).await {
                tracing::warn!(error = %e, "pump failed; retrying");
            }
            let now = self.clock.now();
            if rollup_every_s.is_some_and(|every| now - last_rollup >= every) {
                last_rollup = now;
                let request = RollupRequest { mode: Mode::Dirty, athlete_id: None };
                if let Err(e) = self.rollup.run(&request, now).await {
                    tracing::warn!(error = %e, "rollup failed; retrying");
                }
            }
            tokio::time::sleep(interval).await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("demo step {step}: {message}")]
pub struct DemoError {
    pub step: &'static str,
    pub message: String,
}

fn step<E: std::fmt::Display>(step: &'static str) -> impl Fn(E) -> DemoError {
    move |e| DemoError { step, message: e.to_string() }
}

/// Strava's push of one event to the webhook; anything but a 200 stops the demo.
pub(crate) async fn push(fake: &RunningFake, event: &serde_json::Value) -> Result<(), DemoError> {
    match fake.state.push_event(event).await.map_err(step("push"))? {
        200 => Ok(()),
        status => Err(DemoError { step: "push", message: format!("webhook answered {status} to {event}") }),
    }
}

/// The demo athlete's last days: two activities each (see [`Season::block_days`]).
pub const DEMO_BLOCK_DAYS: u32 = 7;

pub async fn run(options: DemoOptions, say: impl Fn(&str)) -> Result<DemoReport, DemoError> {
    let app = local_app_credentials();
    // The stack `sam deploy` would create, from template.yaml (infra/local_stack.py).
    let stack = LocalStack::from_template(&options.suffix, options.kms_tokens).await.map_err(step("stack"))?;
    say(&format!("local AWS made from template.yaml: table {}, queue {}", stack.names.table, stack.names.queue));

    let today = LocalDate::from_unix_seconds(options.now);
    let season_end = i64::from(today.add_days(-1).days_since_epoch()) * 86_400;
    let demo_clock = DemoClock::new(options.now);
    let fake = fake_strava::FakeState::new(FakeConfig {
        fixtures_dir: None,
        season: Some(Season {
            athletes: 1,
            activities_per_athlete: options.activities,
            seed: options.seed,
            end: season_end,
            // Ends in a hard week: form below −20 for days, the dashboard's warning.
            block_days: DEMO_BLOCK_DAYS,
        }),
        client_secret: app.client_secret.expose().to_string(),
        // A new Strava application: its developer only, until Strava has reviewed it.
        athlete_capacity: Some(1),
        read_limit_15min: options.read_limits.map_or(FakeConfig::default().read_limit_15min, |l| l.0),
        read_limit_daily: options.read_limits.map_or(FakeConfig::default().read_limit_daily, |l| l.1),
        limit_15min: options.read_limits.map_or(FakeConfig::default().limit_15min, |l| 2 * l.0),
        limit_daily: options.read_limits.map_or(FakeConfig::default().limit_daily, |l| 2 * l.1),
        ..Default::default()
    })
    .map_err(step("fake-strava"))?
    .with_clock(demo_clock.clock());
    let fake = fake_strava::serve(fake).await.map_err(step("fake-strava"))?;
    let athlete = GENERATED_ATHLETE_BASE + 1;
    say(&format!("fake-strava at {} with athlete {athlete} and {} activities", fake.base_url(), options.activities));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(step("listen"))?;
    let base = format!("http://{}", listener.local_addr().map_err(step("listen"))?);
    let mut env = stack.handler_env();
    env.extend(LocalStack::endpoint_env(&fake.api_url(), &fake.oauth_url(), &base));
    if let Some((quarter, day)) = options.read_limits {
        env.retain(|(k, _)| *k != "RATE_LIMIT_15MIN" && *k != "RATE_LIMIT_DAILY");
        env.extend([("RATE_LIMIT_15MIN", quarter.to_string()), ("RATE_LIMIT_DAILY", day.to_string())]);
    }
    let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let strava_config = || {
        StravaConfig::new(app.client_id.clone(), app.client_secret.clone())
            .with_urls(fake.api_url(), fake.oauth_url())
            .with_clock(demo_clock.clock())
    };
    // A webhook "cold start": reads the app secret, as the Lambda does; then its router is
    // served over HTTP, as API Gateway does in AWS.
    let webhook_config = WebhookConfig::from_lookup(lookup).map_err(step("webhook config"))?;
    // Each function reaches AWS as its own role (its own IAM user where the server enforces
    // IAM: the least-privilege run).
    let sdk = |binary: &str| stack.function_sdk(binary).map_err(step("stack"));
    let mut webhook = AwsWebhook::build(&sdk("webhook")?, webhook_config).await.map_err(step("webhook start"))?;
    // The demo's clock, not the system's (the generated season ends yesterday).
    webhook.strava = StravaClient::new(strava_config()).map_err(step("strava client"))?;
    // The read API on the same site; what it does not route goes to the webhook's router.
    // `/export` is the export function's (in AWS, behind its own URL).
    let api_config = ApiConfig::from_lookup(lookup).map_err(step("api config"))?;
    let api = AwsApi::build(&sdk("api")?, api_config.clone())
        .await
        .map_err(step("api start"))?
        .with_clock(demo_clock.clock());
    let export =
        AwsApi::build(&sdk("export")?, api_config).await.map_err(step("export start"))?.with_clock(demo_clock.clock());
    let router = stravasync_api::export_router::<_, _, ()>(Arc::new(export)).fallback_service(
        stravasync_api::router(Arc::new(api)).fallback_service(stravasync_webhook::router(Arc::new(webhook))),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    say(&format!("webhook, read API and dashboard listening at {base}"));

    // One-time setup, as `stravasync subscribe` does it against Strava: create the push
    // subscription (Strava checks the callback with a GET challenge first) and store its
    // id in the app secret, so that the webhook accepts its events.
    let strava = StravaClient::new(strava_config()).map_err(step("strava client"))?;
    let callback = format!("{base}/webhook/{LOCAL_WEBHOOK_PATH_SECRET}");
    let sub = strava.create_subscription(&callback, &app.verify_token).await.map_err(step("subscribe"))?;
    let mut with_id = app.clone();
    with_id.subscription_id = sub.id;
    let secret = serde_json::to_string(&with_id).map_err(step("subscribe"))?;
    stack.vault().write(&stack.names.app_secret_id, &secret).await.map_err(step("subscribe"))?;
    // No restart: the running webhook re-reads the app secret on the first event that
    // carries the new subscription id.
    say(&format!("push subscription {} created (the challenge was answered over HTTP) and stored", sub.id));

    // The athlete clicks "connect", consents on Strava, and comes back to the callback.
    let http = stravasync_strava::tls::http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(step("http"))?;
    let connect = http.get(format!("{base}/connect")).send().await.map_err(step("connect"))?;
    let header = |r: &reqwest::Response, h: &str| {
        r.headers().get(h).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    let authorize = format!("{}&athlete_id={athlete}", header(&connect, "location"));
    let cookie = header(&connect, "set-cookie").split(';').next().unwrap_or_default().to_string();
    let consent = http.get(&authorize).send().await.map_err(step("authorize"))?;
    let back = header(&consent, "location");
    let landed = http.get(&back).header("cookie", cookie).send().await.map_err(step("callback"))?;
    let session_cookie = header(&landed, "set-cookie")
        .split(';')
        .next()
        .filter(|c| c.starts_with(stravasync_read::site::SESSION_COOKIE_INSECURE))
        .unwrap_or_default()
        .to_string();
    if landed.status() != reqwest::StatusCode::SEE_OTHER || session_cookie.is_empty() {
        let status = landed.status();
        let page = landed.text().await.unwrap_or_default();
        return Err(DemoError { step: "callback", message: format!("{status}: {page}") });
    }
    say("athlete connected through OAuth (session cookie set); backfill job enqueued");

    // A second athlete tries to connect: a new Strava application connects its developer
    // only, so Strava refuses the token exchange and the callback says why.
    let second = fake.state.add_generated_athlete(2, options.seed);
    let connect = http.get(format!("{base}/connect")).send().await.map_err(step("connect"))?;
    let authorize = format!("{}&athlete_id={second}", header(&connect, "location"));
    let cookie = header(&connect, "set-cookie").split(';').next().unwrap_or_default().to_string();
    let consent = http.get(&authorize).send().await.map_err(step("authorize"))?;
    let refused =
        http.get(header(&consent, "location")).header("cookie", cookie).send().await.map_err(step("callback"))?;
    let status = refused.status().as_u16();
    let page = refused.text().await.map_err(step("callback"))?;
    let capacity_refusal = (status, page_part(&page, "<h1>", "</h1>"), page_part(&page, "<p id=\"message\">", "</p>"));
    say(&format!("a second athlete tried to connect; the callback answered {status}: {}", capacity_refusal.1));
    say(&format!("  {}", capacity_refusal.2));

    let consumer_env = ConsumerEnv::from_lookup(lookup).map_err(step("consumer config"))?;
    let mut consumer = AwsConsumer::build(&sdk("consumer")?, consumer_env).await.map_err(step("consumer start"))?;
    consumer.strava = StravaClient::new(strava_config()).map_err(step("strava client"))?;
    let stats = pump_until_idle(&consumer, 100).await.map_err(step("pump"))?;
    say(&format!("consumer: {} message(s) processed (backfill)", stats.done));

    // Two new activities recorded today, pushed by Strava to the webhook.
    for hours in [9, 17] {
        let start = i64::from(today.days_since_epoch()) * 86_400 + hours * 3600;
        let id = fake
            .state
            .new_activity(athlete, start)
            .ok_or(DemoError { step: "new activity", message: "no athlete".into() })?;
        let event = fake.state.event("activity", id, "create", serde_json::json!({}), athlete);
        push(&fake, &event).await?;
    }
    // An edit and a delete of two of the imported activities (oldest first; the last two
    // are today's).
    let ids = fake.state.activity_ids(athlete);
    let recent = |back: usize| ids.len().checked_sub(back).and_then(|i| ids.get(i)).copied();
    if let (Some(first), Some(second)) = (recent(4), recent(3)) {
        fake.state.update_activity(second, Some("Hill repeats (renamed)"), None);
        let mut update = fake.state.event(
            "activity",
            second,
            "update",
            serde_json::json!({"title": "Hill repeats (renamed)"}),
            athlete,
        );
        update["event_time"] = serde_json::json!(options.now + 1);
        push(&fake, &update).await?;
        fake.state.delete_activity(first);
        let mut delete = fake.state.event("activity", first, "delete", serde_json::json!({}), athlete);
        delete["event_time"] = serde_json::json!(options.now + 2);
        push(&fake, &delete).await?;
    }
    let stats = pump_until_idle(&consumer, 100).await.map_err(step("pump"))?;
    say(&format!("pushed 2 creates, 1 edit, 1 delete over HTTP; consumer processed {} message(s)", stats.done));

    let rollup = AwsRollup::build(&sdk("rollup")?, &RollupConfig::from_lookup(lookup).map_err(step("rollup config"))?);
    let report = rollup
        .run(&RollupRequest { mode: Mode::Dirty, athlete_id: None }, options.now)
        .await
        .map_err(step("rollup"))?;
    say(&format!("rollup: {} PMC rows written", report.rows_written));

    let store = stack.store();
    let (mut stored, mut deleted) = (0, 0);
    for id in ids.iter().copied() {
        match store.get_activity(athlete, id).await.map_err(step("read"))? {
            Some(ActivityState::Live(_)) => stored += 1,
            Some(ActivityState::Deleted(_)) => deleted += 1,
            None => {}
        }
    }
    let pmc = store.pmc_rows(athlete, LocalDate::from_days_since_epoch(0), today).await.map_err(step("read"))?;
    Ok(DemoReport {
        athlete,
        base_url: base,
        session_cookie,
        stored_activities: stored,
        deleted_activities: deleted,
        strava_requests: fake.state.api_requests(),
        pmc,
        fake: Arc::new(fake),
        stack: Arc::new(stack),
        consumer: Arc::new(consumer),
        rollup: Arc::new(rollup),
        now: options.now,
        clock: demo_clock,
        capacity_refusal,
    })
}

impl DemoReport {
    /// The athlete's form today, as the dashboard shows it (from what the demo stored).
    pub async fn form(&self) -> Result<stravasync_read::answers::FormAnswer, DemoError> {
        let store = self.stack.store();
        let profile = stravasync_read::answers::profile(&store, self.athlete).await.map_err(step("read"))?;
        let today = LocalDate::from_unix_seconds(self.now);
        stravasync_read::answers::form(&store, &profile, today).await.map_err(step("read"))
    }
}

/// The text between `open` and `close` in a page, unescaped for a terminal.
fn page_part(page: &str, open: &str, close: &str) -> String {
    let text = page.split_once(open).and_then(|(_, rest)| rest.split_once(close)).map_or("", |(t, _)| t);
    text.replace("&#39;", "'").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}
