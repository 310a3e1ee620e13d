//! The `stravasync` command line: the library half, so tests and benchmarks call the
//! same code as the binary. Each command's arguments are a `clap::Args` struct next to
//! the code that runs it; `main.rs` only lists the commands.
//!
//! - [`chart`]: the PMC as text and SVG.
//! - [`ops`]: commands against a stack, local or deployed (`local up`, `local pump`,
//!   `rollup`, `subscribe`).
//! - [`stack`]: operator commands on a stack's data (`pmc --athlete`, `activities`,
//!   `backfill`, `rescore`, `dlq list|redrive`), with [`progress`] bars on a terminal.
//! - [`metrics_report`] (`metrics`, `tile`), [`pmc`] (`pmc`, of a file or a stored athlete).
//!
//! The demo, the measured bill and the simulation are developer tools, in
//! `stravasync-devtools` (`stravasync-dev`).

pub mod chart;
pub mod health;
pub mod import;
pub mod insight;
pub mod metrics_report;
pub mod ops;
pub mod pmc;
pub mod progress;
pub mod stack;
pub mod status;

/// The SDK configuration of an operator's shell: `aws-config`'s whole chain (profiles,
/// SSO sessions, assumed roles, `AWS_ENDPOINT_URL`), over the same HTTPS client as the
/// functions (`stravasync_aws::http`). The functions themselves read only the Lambda
/// environment ([`stravasync_aws::sdk_config_from_env`]).
pub async fn sdk_config() -> stravasync_aws::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(stravasync_aws::http::sdk_http_client())
        .load()
        .await
}

/// An error caused by the input (a file, a flag, a value): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        InputError(message.into())
    }
}

/// Every failure of a command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input was wrong (a file, a flag, a value, a missing variable): exit code 2.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A check found a problem (`stravasync status`): its report, printed on stdout; exit code 1.
    #[error("{0}")]
    Unhealthy(String),
    /// The input was fine but the work failed (the stack, Strava, the system): exit code 1.
    #[error("{context}: {source}")]
    Runtime {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CliError {
    pub fn runtime<E: std::error::Error + Send + Sync + 'static>(context: &'static str) -> impl Fn(E) -> CliError {
        move |e| CliError::Runtime { context, source: Box::new(e) }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Runtime { .. } | CliError::Unhealthy(_) => 1,
        }
    }
}

/// Reads a file; a missing or unreadable file is an input error naming the path.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|e| InputError(format!("{}: {e}", path.display())))
}

/// Runs a command's future on a new multi-threaded runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    tokio::runtime::Runtime::new().map_err(CliError::runtime("async runtime"))?.block_on(f)
}

/// The result as JSON, pretty when `pretty`.
pub(crate) fn to_json<T: serde::Serialize>(value: &T, pretty: bool) -> Result<String, CliError> {
    if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) }
        .map_err(CliError::runtime("output"))
}

/// A command's result as the process ends: its output on stdout (exit 0), an unhealthy
/// report on stdout (exit 1), or the error and its causes on stderr (exit 1 or 2).
pub fn finish(result: Result<String, CliError>) -> std::process::ExitCode {
    use std::process::ExitCode;
    match result {
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
        Err(CliError::Unhealthy(report)) => {
            println!("{}", report.trim_end());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {}", stravasync_core::config::Chain(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
