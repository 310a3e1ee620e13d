//! `stravasync`: the pipeline's metrics on files, and operator commands on a stack. Each
//! command's arguments and runner live in the library, next to the code they drive.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stravasync_cli::insight::{BestsArgs, WeeksArgs};
use stravasync_cli::metrics_report::{CpfitArgs, MetricsArgs, TileArgs};
use stravasync_cli::ops::{LocalCommand, RollupArgs, SubscribeArgs};
use stravasync_cli::pmc::PmcArgs;
use stravasync_cli::stack::{
    ActivitiesArgs, AthleteCommand, BackfillArgs, DlqCommand, MigrateArgs, RescoreArgs, ThresholdsArgs,
};
use stravasync_cli::{CliError, ops};

#[derive(Parser)]
#[command(name = "stravasync", version, about = "Strava → AWS training-load pipeline tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every metric of one activity as JSON under the athlete's thresholds in force on
    /// its day (docs/design.md §6, §6b): the group, the score and every candidate, sTSS,
    /// decoupling, EF, W′ balance, zones and peaks. Exit code 2 on bad input.
    #[command(allow_negative_numbers = true)]
    Metrics(MetricsArgs),
    /// Fit critical power and W′ (2-parameter model, docs/design.md §6b) to best powers;
    /// prints cp, w_prime, points, n, eftp, rmse_w and the reason of a refusal.
    Cpfit(CpfitArgs),
    /// The daily PMC: of a `date,load` CSV (`--loads`, printed as CSV date,load,ctl,atl,tsb),
    /// or of an athlete as stored in TABLE_NAME (`--athlete`, a text chart with today's
    /// form band, CTL ramp and over-reaching warning; `--svg` also writes it as an SVG chart).
    #[command(allow_negative_numbers = true)]
    Pmc(PmcArgs),
    /// An athlete's stored activities, newest first (TABLE_NAME).
    Activities(ActivitiesArgs),
    /// An athlete's best power, heart rate and pace per window over --range (42d, 90d, 1y,
    /// all), each with its activity, and the FTP and threshold pace estimated from the
    /// last 90 days (TABLE_NAME).
    Bests(BestsArgs),
    /// An athlete's last 12 weeks (Monday to Sunday): load, moving time, distance and
    /// count, in total and per sport (TABLE_NAME).
    Weeks(WeeksArgs),
    /// Import an athlete's history: the most recent --count activities, or those from
    /// --after to --before (QUEUE_URL and BACKGROUND_QUEUE_URL; TABLE_NAME to check and follow its progress).
    Backfill(BackfillArgs),
    /// Import an athlete's own files without a Strava request: a FIT, GPX or TCX file
    /// (gzipped or not), a folder of them, or Strava's bulk export ZIP (TABLE_NAME and the
    /// consumer's variables). Prints one line per file: stored, updated, duplicate, or
    /// refused with its reason (docs/design.md §4b).
    Import(stravasync_cli::import::ImportArgs),
    /// Recompute the scores of an athlete's stored activities (QUEUE_URL).
    Rescore(RescoreArgs),
    /// An athlete's threshold history (TABLE_NAME); with --group, --from and values (or
    /// --delete), a change of one entry, enqueued for the consumer, which stores it and
    /// rescores that group's activities from that day (QUEUE_URL).
    #[command(allow_negative_numbers = true)]
    Thresholds(ThresholdsArgs),
    /// The one-time move of stored athletes to dated thresholds per sport (docs/design.md
    /// §6b): their single thresholds become the history's first entries and every stored
    /// activity is rescored, in chunks. Resumable: run it again until it reports every
    /// athlete done (TABLE_NAME, QUEUE_URL).
    Migrate(MigrateArgs),
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
    /// Local stack commands (against AWS_ENDPOINT_URL, e.g. a moto server).
    Local {
        #[command(subcommand)]
        command: LocalCommand,
    },
    /// Run the rollup handler once (TABLE_NAME, QUEUE_URL from the environment).
    Rollup(RollupArgs),
    /// Create Strava's push subscription for CALLBACK and store its id in the app secret
    /// (APP_SECRET_ID; STRAVA_API_URL to use fake-strava).
    Subscribe(SubscribeArgs),
    /// Is this stack healthy? One line per concern, each ✓ or ✗ with what to do: the app
    /// secret, Strava's push subscription and the webhook's answer to its challenge
    /// (--callback), the queues, the DLQ, the budget, the athletes. Exit 0 when all is well,
    /// 1 otherwise. Reads the operator variables (APP_SECRET_ID, TABLE_NAME, QUEUE_URL,
    /// BACKGROUND_QUEUE_URL, DLQ_URL).
    Status(stravasync_cli::status::StatusArgs),
    /// Print the AWS resource definitions the local bootstrap uses, as JSON (checked
    /// against template.yaml by infra/check_template.py).
    Resources,
    /// Write a long activity (streams JSON on stdout) by repeating a real one: for
    /// benchmarks and memory measurements.
    Tile(TileArgs),
}

fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Metrics(args) => args.run(),
        Command::Cpfit(args) => args.run(),
        Command::Pmc(args) => args.run(),
        Command::Activities(args) => args.run(),
        Command::Bests(args) => args.run(),
        Command::Weeks(args) => args.run(),
        Command::Backfill(args) => args.run(),
        Command::Import(args) => args.run(),
        Command::Rescore(args) => args.run(),
        Command::Thresholds(args) => args.run(),
        Command::Migrate(args) => args.run(),
        Command::Athlete { command } => command.run(),
        Command::Dlq { command } => command.run(),
        Command::Local { command } => command.run(),
        Command::Rollup(args) => args.run(),
        Command::Subscribe(args) => args.run(),
        Command::Status(args) => args.run(),
        Command::Resources => ops::resources(),
        Command::Tile(args) => args.run(),
    }
}

fn main() -> ExitCode {
    // The handlers' logs on stderr, filtered by RUST_LOG.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    stravasync_cli::finish(run(Cli::parse()))
}
