//! `stravasync-dev`: the demo, the measured bill and the simulation. Each command's
//! arguments and runner live in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "stravasync-dev", version, about = "Strava → AWS training-load pipeline: developer tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline locally (needs AWS_ENDPOINT_URL of a moto server: use
    /// `make demo`) and print the resulting Performance Management Chart.
    Demo(stravasync_devtools::demo::DemoArgs),
    /// The monthly AWS bill per athlete for both token stores, from a measurement of the
    /// pipeline on the local stack (needs the moto server: `infra/with-moto.sh`).
    Cost(stravasync_devtools::cost::CostArgs),
    /// Simulate many athletes for days under Strava's rate limits: the real consumer and
    /// rollup on in-memory ports, fake-strava and SQS's rules on a virtual clock (no AWS,
    /// no sleeping). Prints latency per lane, backfill times, budget use and the bill.
    Simulate(stravasync_devtools::simulate::SimulateArgs),
}

fn main() -> ExitCode {
    // The handlers' logs on stderr, filtered by RUST_LOG (`RUST_LOG=debug make demo`).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Demo(args) => args.run(),
        Command::Cost(args) => args.run(),
        Command::Simulate(args) => args.run(),
    };
    stravasync_cli::finish(result)
}
