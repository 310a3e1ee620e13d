//! `stravasync`: run the pipeline's metrics on files, and (later) drive the local stack.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stravasync_cli::{InputError, metrics_report, pmc_csv, read_input};
use stravasync_core::model::{Sex, Thresholds};
use stravasync_core::streams::parse_streams_json;

#[derive(Parser)]
#[command(name = "stravasync", version, about = "Strava → AWS training-load pipeline tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every metric of one activity as JSON (DESIGN §6). Exit code 2 on bad input.
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
    /// Print the daily PMC (date,load,ctl,atl,tsb) of a `date,load` CSV.
    #[command(allow_negative_numbers = true)]
    Pmc {
        /// CSV of `date,load` rows (unsorted; repeated dates are summed).
        #[arg(long)]
        loads: PathBuf,
        /// CTL time constant, days.
        #[arg(long, default_value_t = 42.0)]
        ctl_days: f64,
        /// ATL time constant, days.
        #[arg(long, default_value_t = 7.0)]
        atl_days: f64,
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

fn run(cli: Cli) -> Result<String, InputError> {
    match cli.command {
        Command::Metrics { streams, activity, ftp, lthr, hr_max, hr_rest, threshold_speed, sex } => {
            let thresholds = Thresholds { ftp, lthr, hr_max, hr_rest, threshold_speed, sex, ..Default::default() };
            let report =
                metrics_report::metrics_from_json(&read_input(&activity)?, &read_input(&streams)?, &thresholds)?;
            serde_json::to_string_pretty(&report).map_err(|e| InputError::new(e.to_string()))
        }
        Command::Pmc { loads, ctl_days, atl_days } => {
            let csv = String::from_utf8(read_input(&loads)?)
                .map_err(|e| InputError::new(format!("{}: not UTF-8: {e}", loads.display())))?;
            pmc_csv::pmc_from_csv(&csv, pmc_csv::constants(ctl_days, atl_days)?)
        }
        Command::Resources => serde_json::to_string_pretty(&stravasync_aws::resources::spec_json())
            .map_err(|e| InputError::new(e.to_string())),
        Command::Tile { streams, hours } => {
            if !(hours.is_finite() && hours > 0.0 && hours <= 240.0) {
                return Err(InputError::new(format!("--hours must be in (0, 240], got {hours}")));
            }
            let set =
                parse_streams_json(&read_input(&streams)?).map_err(|e| InputError::new(format!("streams: {e}")))?;
            let tiled = set.tiled((hours * 3600.0).ceil() as usize);
            serde_json::to_string(&tiled).map_err(|e| InputError::new(e.to_string()))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(out) => {
            println!("{}", out.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
