//! `stravasync`: run the pipeline's metrics on files, and (later) drive the local stack.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stravasync_cli::{CliError, InputError, metrics_report, pmc_csv, read_input, stack};
use stravasync_core::model::{Sex, Thresholds};
use stravasync_core::streams::parse_streams_json;
use stravasync_core::view::BackfillRequest;

#[derive(Parser)]
#[command(name = "stravasync", version, about = "Strava → AWS training-load pipeline tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every metric of one activity as JSON (docs/design.md §6). Exit code 2 on bad input.
    #[command(allow_negative_numbers = true)]
    Metrics {
        /// Streams JSON as `GET /activities/{id}/streams?key_by_type=true` returns it.
        #[arg(long)]
        streams: PathBuf,
        /// Activity JSON as `GET /activities/{id}` returns it.
        #[arg(long)]
        activity: PathBuf,
        /// Functional threshold power, W.
        #[arg(long)]
        ftp: Option<f64>,
        /// Lactate-threshold heart rate, bpm.
        #[arg(long)]
        lthr: Option<f64>,
        /// Maximum heart rate, bpm.
        #[arg(long)]
        hr_max: Option<f64>,
        /// Resting heart rate, bpm.
        #[arg(long)]
        hr_rest: Option<f64>,
        /// Threshold running speed, m/s.
        #[arg(long)]
        threshold_speed: Option<f64>,
        /// male or female (TRIMP weighting).
        #[arg(long, default_value = "male")]
        sex: Sex,
    },
    /// The daily PMC: of a `date,load` CSV (`--loads`, printed as CSV date,load,ctl,atl,tsb),
    /// or of an athlete as stored in TABLE_NAME (`--athlete`, a text chart; `--svg` also
    /// writes it as an SVG chart).
    #[command(allow_negative_numbers = true, group(clap::ArgGroup::new("source").required(true).args(["loads", "athlete"])))]
    Pmc {
        /// CSV of `date,load` rows (unsorted; repeated dates are summed).
        #[arg(long)]
        loads: Option<PathBuf>,
        /// The athlete whose stored PMC to show.
        #[arg(long)]
        athlete: Option<i64>,
        /// First day (YYYY-MM-DD; default 90 days before --to). With --athlete.
        #[arg(long, requires = "athlete")]
        from: Option<String>,
        /// Last day (YYYY-MM-DD; default today). With --athlete.
        #[arg(long, requires = "athlete")]
        to: Option<String>,
        /// Also write the chart as SVG to this file. With --athlete.
        #[arg(long, requires = "athlete")]
        svg: Option<PathBuf>,
        /// CTL time constant, days.
        #[arg(long, default_value_t = 42.0)]
        ctl_days: f64,
        /// ATL time constant, days.
        #[arg(long, default_value_t = 7.0)]
        atl_days: f64,
    },
    /// An athlete's stored activities, newest first (TABLE_NAME).
    Activities {
        #[arg(long)]
        athlete: i64,
        /// Page size (1-100).
        #[arg(long)]
        limit: Option<String>,
        /// Start after this position (the `--before` a previous page printed, or a date).
        #[arg(long)]
        before: Option<String>,
    },
    /// Import an athlete's history: the most recent --count activities, or those from
    /// --after to --before (QUEUE_URL and BACKGROUND_QUEUE_URL; TABLE_NAME to check and follow its progress).
    #[command(group(clap::ArgGroup::new("range").required(true).args(["count", "after"])))]
    Backfill {
        #[arg(long)]
        athlete: i64,
        #[arg(long)]
        count: Option<u32>,
        /// First day (YYYY-MM-DD, UTC).
        #[arg(long)]
        after: Option<String>,
        /// Day after the last (YYYY-MM-DD, UTC).
        #[arg(long, requires = "after")]
        before: Option<String>,
        /// Show its progress until it finishes (the consumer must be running).
        #[arg(long)]
        follow: bool,
    },
    /// Recompute the scores of an athlete's stored activities (QUEUE_URL).
    Rescore {
        #[arg(long)]
        athlete: i64,
    },
    /// Athletes' rights, for support requests.
    Athlete {
        #[command(subcommand)]
        command: AthleteCommand,
    },
    /// The dead-letter queue (DLQ_URL; QUEUE_URL and BACKGROUND_QUEUE_URL to redrive into).
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Run the whole pipeline locally (needs AWS_ENDPOINT_URL of a moto server: use
    /// `make demo`) and print the resulting Performance Management Chart. Built with the
    /// `demo` feature only.
    #[cfg(feature = "demo")]
    Demo {
        /// Generated activities of the demo athlete (about one every 1-2 days).
        #[arg(long, default_value_t = 60)]
        activities: u32,
        /// Seed of the generated data.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Where to write the chart as SVG.
        #[arg(long, default_value = "target/demo/pmc.svg")]
        svg: PathBuf,
        /// Keep the stack running afterwards (the dashboard, the webhook, the queue pumped
        /// into the consumer and the rollup every second) until interrupted.
        #[arg(long)]
        serve: bool,
    },
    /// Local stack commands (against AWS_ENDPOINT_URL, e.g. a moto server).
    Local {
        #[command(subcommand)]
        command: LocalCommand,
    },
    /// Run the rollup handler once (TABLE_NAME, QUEUE_URL from the environment).
    Rollup {
        /// The daily run: also extend every series to today and enqueue reconciles.
        #[arg(long)]
        daily: bool,
        /// Recompute one athlete from their first activity.
        #[arg(long)]
        athlete: Option<i64>,
    },
    /// Create Strava's push subscription for CALLBACK and store its id in the app secret
    /// (APP_SECRET_ID; STRAVA_API_URL to use fake-strava).
    Subscribe {
        #[arg(long)]
        callback: String,
    },
    /// The monthly AWS bill per athlete for both token stores, from a measurement of the
    /// pipeline on the local stack (needs the moto server: `infra/with-moto.sh`).
    #[cfg(feature = "demo")]
    Cost {
        /// Athletes of the deployment (shares its fixed costs).
        #[arg(long, default_value_t = 1000)]
        athletes: u32,
        /// Activities each athlete records a month.
        #[arg(long, default_value_t = 20.0)]
        activities_per_month: f64,
        /// New activities measured per store.
        #[arg(long, default_value_t = 20)]
        sample: u32,
    },
    /// Simulate many athletes for days under Strava's rate limits: the real consumer and
    /// rollup on in-memory ports, fake-strava and SQS's rules on a virtual clock (no AWS,
    /// no sleeping). Prints latency per lane, backfill times, budget use and the bill.
    #[cfg(feature = "demo")]
    Simulate {
        #[arg(long, default_value_t = 100)]
        athletes: u32,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Strava's read limits, per 15 minutes / per day (default: a new app's).
        #[arg(long, default_value = "100/1000")]
        limits: String,
        /// Athletes connect uniformly over this many hours from the start.
        #[arg(long, default_value_t = 168.0)]
        connect_over_hours: f64,
        /// Activities each athlete recorded before connecting.
        #[arg(long, default_value_t = 60)]
        history: u32,
        /// Activities imported at connection (the template's BackfillCount).
        #[arg(long, default_value_t = 30)]
        backfill: u32,
        /// Mean activities per athlete per day.
        #[arg(long, default_value_t = 0.7)]
        activities_per_day: f64,
        /// Share of each window the background lane may use (BACKGROUND_SHARE).
        #[arg(long, default_value_t = 0.7)]
        background_share: f64,
        /// Imports per background message before it hands over (BACKFILL_BATCH).
        #[arg(long)]
        backfill_batch: Option<u32>,
        /// Chance each hour that Strava answers one request 429 although our count says
        /// there is budget (requests outside the shared budget, a count that drifted).
        #[arg(long, default_value_t = 0.05)]
        stray_429_per_hour: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print the AWS resource definitions the local bootstrap uses, as JSON (checked
    /// against template.yaml by infra/check_template.py).
    Resources,
    /// Write a long activity (streams JSON on stdout) by repeating a real one: for
    /// benchmarks and memory measurements.
    Tile {
        /// Streams JSON to repeat.
        #[arg(long)]
        streams: PathBuf,
        /// Minimum duration of the result, hours.
        #[arg(long)]
        hours: f64,
    },
}

#[derive(Subcommand)]
enum AthleteCommand {
    /// Disconnect an athlete and delete everything of theirs, as their dashboard's
    /// "Disconnect from Strava and delete my data" does: the consumer revokes the
    /// authorization at Strava and deletes the tokens and every item (QUEUE_URL; TABLE_NAME).
    Delete {
        #[arg(long)]
        athlete: i64,
        /// Return once enqueued instead of waiting until nothing is stored (the consumer
        /// must be running to finish it).
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Show the dead-lettered messages, with why each was moved; they stay in the queue.
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Move dead-lettered messages back to the event queue (same group and dedup id).
    Redrive {
        #[arg(long, default_value_t = usize::MAX)]
        max: usize,
    },
}

#[derive(Subcommand)]
enum LocalCommand {
    /// Create the table, FIFO queue + DLQ and app secret; print their environment.
    Up {
        #[arg(long, default_value = "local")]
        name: String,
        /// Create the resources even though AWS_ENDPOINT_URL is not on this machine (its
        /// app secret holds the well-known local credentials).
        #[arg(long)]
        yes_real_aws: bool,
    },
    /// Play the SQS event source mapping into the consumer handler until the queue is idle
    /// (consumer environment: QUEUE_URL, TABLE_NAME, APP_SECRET_ID, TOKEN_SECRET_PREFIX, STRAVA_*).
    Pump {
        #[arg(long, default_value_t = 100)]
        max_rounds: usize,
    },
}

fn block_on<T>(f: impl std::future::Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    tokio::runtime::Runtime::new().map_err(CliError::runtime("async runtime"))?.block_on(f)
}

fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Metrics { streams, activity, ftp, lthr, hr_max, hr_rest, threshold_speed, sex } => {
            let thresholds = Thresholds { ftp, lthr, hr_max, hr_rest, threshold_speed, sex, ..Default::default() };
            let report =
                metrics_report::metrics_from_json(&read_input(&activity)?, &read_input(&streams)?, &thresholds)?;
            serde_json::to_string_pretty(&report).map_err(CliError::runtime("output"))
        }
        Command::Pmc { loads: Some(loads), ctl_days, atl_days, .. } => {
            let csv = String::from_utf8(read_input(&loads)?)
                .map_err(|e| InputError::new(format!("{}: not UTF-8: {e}", loads.display())))?;
            Ok(pmc_csv::pmc_from_csv(&csv, pmc_csv::constants(ctl_days, atl_days)?)?)
        }
        Command::Pmc { athlete: Some(athlete), from, to, svg, .. } => {
            let rows = block_on(stack::pmc_rows(athlete, from.as_deref(), to.as_deref()))?;
            let mut out = stravasync_cli::chart::text_chart(&rows, rows.len());
            if let Some(path) = svg {
                let chart = stravasync_cli::chart::svg_chart(&rows).map_err(InputError::new)?;
                std::fs::write(&path, chart).map_err(|e| InputError::new(format!("{}: {e}", path.display())))?;
                out.push_str(&format!("chart: {}\n", path.display()));
            }
            Ok(out)
        }
        Command::Pmc { .. } => unreachable!("clap requires --loads or --athlete"),
        Command::Activities { athlete, limit, before } => {
            block_on(stack::activities(athlete, before.as_deref(), limit.as_deref()))
        }
        Command::Backfill { athlete, count, after, before, follow } => {
            block_on(stack::backfill(athlete, &BackfillRequest { count, after, before }, follow))
        }
        Command::Rescore { athlete } => block_on(stack::rescore(athlete)),
        Command::Athlete { command: AthleteCommand::Delete { athlete, no_wait } } => {
            block_on(stack::athlete_delete(athlete, !no_wait))
        }
        Command::Dlq { command: DlqCommand::List { max } } => block_on(stack::dlq_list(max)),
        Command::Dlq { command: DlqCommand::Redrive { max } } => block_on(stack::dlq_redrive(max)),
        #[cfg(feature = "demo")]
        Command::Demo { activities, seed, svg, serve } => run_demo(activities, seed, &svg, serve),
        #[cfg(feature = "demo")]
        Command::Cost { athletes, activities_per_month, sample } => run_cost(athletes, activities_per_month, sample),
        #[cfg(feature = "demo")]
        Command::Simulate {
            athletes,
            days,
            limits,
            connect_over_hours,
            history,
            backfill,
            activities_per_day,
            background_share,
            backfill_batch,
            stray_429_per_hour,
            seed,
        } => {
            let (limit_15min, limit_daily) = stravasync_cli::simulate::parse_limits(&limits)?;
            let mut options = stravasync_sim::SimOptions {
                athletes,
                days,
                limit_15min,
                limit_daily,
                connect_over_hours,
                history,
                backfill_count: backfill,
                background_share,
                stray_429_per_hour,
                seed,
                ..Default::default()
            };
            options.behaviour.activities_per_day = activities_per_day;
            if let Some(b) = backfill_batch {
                options.backfill_batch = b;
            }
            stravasync_cli::simulate::run(options)
        }
        Command::Local { command: LocalCommand::Up { name, yes_real_aws } } => {
            block_on(stravasync_cli::ops::up(&name, yes_real_aws))
        }
        Command::Local { command: LocalCommand::Pump { max_rounds } } => {
            block_on(stravasync_cli::ops::pump(max_rounds))
        }
        Command::Rollup { daily, athlete } => block_on(stravasync_cli::ops::rollup(daily, athlete)),
        Command::Subscribe { callback } => block_on(stravasync_cli::ops::subscribe(&callback)),
        Command::Resources => {
            let mut spec = stravasync_aws::resources::spec_json();
            spec["consumer_defaults"] = stravasync_consumer::ConsumerPolicy::defaults_json();
            serde_json::to_string_pretty(&spec).map_err(CliError::runtime("output"))
        }
        Command::Tile { streams, hours } => {
            if !(hours.is_finite() && hours > 0.0 && hours <= 240.0) {
                return Err(InputError::new(format!("--hours must be in (0, 240], got {hours}")).into());
            }
            let set =
                parse_streams_json(&read_input(&streams)?).map_err(|e| InputError::new(format!("streams: {e}")))?;
            let tiled = set.tiled((hours * 3600.0).ceil() as usize);
            serde_json::to_string(&tiled).map_err(CliError::runtime("output"))
        }
    }
}

#[cfg(feature = "demo")]
fn run_cost(athletes: u32, activities_per_month: f64, sample: u32) -> Result<String, CliError> {
    if !stravasync_cli::ops::endpoint_is_local(std::env::var("AWS_ENDPOINT_URL").ok().as_deref()) {
        return Err(
            InputError::new("the cost measurement runs against a local moto server: use infra/with-moto.sh").into()
        );
    }
    if !(activities_per_month.is_finite() && activities_per_month >= 0.0) || athletes == 0 || sample == 0 {
        return Err(
            InputError::new("--athletes and --sample must be positive, --activities-per-month not negative").into()
        );
    }
    let now = stravasync_core::clock::unix_now();
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::runtime("async runtime"))?;
    let mut measured = Vec::new();
    for kms in [false, true] {
        let m = runtime.block_on(stravasync_cli::cost::measure(kms, sample, now)).map_err(CliError::runtime("cost"))?;
        measured.push(m);
    }
    Ok(stravasync_cli::cost::report(&measured, athletes, activities_per_month, &stravasync_cli::cost::Prices::LIST))
}

#[cfg(feature = "demo")]
fn run_demo(activities: u32, seed: u64, svg: &std::path::Path, serve: bool) -> Result<String, CliError> {
    if !stravasync_cli::ops::endpoint_is_local(std::env::var("AWS_ENDPOINT_URL").ok().as_deref()) {
        return Err(InputError::new(
            "the demo runs against a local moto server: use `make demo` (AWS_ENDPOINT_URL must be on this machine)",
        )
        .into());
    }
    let now = stravasync_core::clock::unix_now();
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::runtime("async runtime"))?;
    let options =
        stravasync_cli::demo::DemoOptions { suffix: format!("demo-{now}"), activities, seed, now, kms_tokens: false };
    let report = runtime
        .block_on(stravasync_cli::demo::run(options, |line| println!("- {line}")))
        .map_err(CliError::runtime("demo"))?;
    if let Some(dir) = svg.parent() {
        std::fs::create_dir_all(dir).map_err(|e| InputError::new(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(svg, stravasync_cli::chart::svg_chart(&report.pmc).map_err(InputError::new)?)
        .map_err(|e| InputError::new(format!("{}: {e}", svg.display())))?;
    let summary = format!(
        "\nathlete {}: {} activities stored, {} deleted, {} Strava API requests in all\n\n{}\nchart: {}\ndashboard: {}/",
        report.athlete,
        report.stored_activities,
        report.deleted_activities,
        report.strava_requests,
        stravasync_cli::chart::text_chart(&report.pmc, 21),
        svg.display(),
        report.base_url,
    );
    if !serve {
        return Ok(format!("{summary} (up while the demo runs; `make demo-serve` keeps it up)"));
    }
    println!("{summary}\n\nServing until interrupted (Ctrl-C): open the dashboard and click \"Connect with Strava\".");
    runtime.block_on(report.keep_syncing(std::time::Duration::from_secs(1)));
    Ok(String::new())
}

fn main() -> ExitCode {
    // The handlers' logs on stderr, filtered by RUST_LOG (`RUST_LOG=debug make demo`).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(out) => {
            use std::io::Write;
            // A reader that went away (`| head`) ends the output quietly, not with a panic.
            match writeln!(std::io::stdout().lock(), "{}", out.trim_end()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: writing the output: {e}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("error: {}", stravasync_core::config::Chain(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
