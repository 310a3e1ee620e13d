//! `fake-strava`: run the fake Strava API on its own (tests start it in-process instead).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use fake_strava::data::Season;
use fake_strava::{FakeConfig, FakeState};
use stravasync_core::date::parse_timestamp;

/// A local server speaking Strava's API v3: OAuth, athlete, zones, activities, streams,
/// push subscriptions, rate-limit headers, and /admin routes for fault injection.
#[derive(Parser, Debug)]
#[command(name = "fake-strava", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory of `<name>.activity.json` + `<name>.streams.json` to serve
    /// (default: ../shared/fixtures/strava next to the repository, when present).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Serve no fixtures, only generated data.
    #[arg(long)]
    no_fixtures: bool,
    /// Number of generated athletes (ids from 6100000001).
    #[arg(long, default_value_t = 0)]
    athletes: u32,
    /// Generated activities per athlete (about one every 1–2 days; ~10 % manual).
    #[arg(long, default_value_t = 60)]
    activities_per_athlete: u32,
    /// Seed of the generated data; the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Day the generated seasons end on (YYYY-MM-DD).
    #[arg(long, default_value = "2026-11-01")]
    season_end: String,
    /// OAuth client id the fake accepts.
    #[arg(long, default_value = "12345")]
    client_id: String,
    /// OAuth client secret the fake accepts (read from FAKE_STRAVA_CLIENT_SECRET if set).
    #[arg(long, env = "FAKE_STRAVA_CLIENT_SECRET", default_value = "fake-client-secret", hide_env_values = true)]
    client_secret: String,
    /// Overall requests per 15 minutes.
    #[arg(long, default_value_t = 200)]
    limit_15min: u32,
    /// Overall requests per UTC day.
    #[arg(long, default_value_t = 2000)]
    limit_daily: u32,
    /// Read requests per 15 minutes.
    #[arg(long, default_value_t = 100)]
    read_limit_15min: u32,
    /// Read requests per UTC day.
    #[arg(long, default_value_t = 1000)]
    read_limit_daily: u32,
    /// Access-token lifetime, seconds.
    #[arg(long, default_value_t = 21_600)]
    token_ttl: i64,
    /// Scope granted by /oauth/authorize whatever was asked (e.g. "read" to test a refusal).
    #[arg(long)]
    granted_scope: Option<String>,
    /// Athletes that may be connected at once; the token exchange of one more is refused
    /// with Strava's 403 "Limit of connected athletes exceeded" (a new application: 1).
    #[arg(long)]
    athlete_capacity: Option<u32>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let args = Args::parse();
    let Some(end) = parse_timestamp(&format!("{}T00:00:00Z", args.season_end)) else {
        eprintln!("error: --season-end {:?} is not YYYY-MM-DD", args.season_end);
        return std::process::ExitCode::from(2);
    };
    let fixtures = if args.no_fixtures { None } else { args.fixtures.or_else(fake_strava::default_fixtures_dir) };
    let config = FakeConfig {
        fixtures_dir: fixtures,
        season: (args.athletes > 0).then_some(Season {
            athletes: args.athletes,
            activities_per_athlete: args.activities_per_athlete,
            seed: args.seed,
            end,
            block_days: 0,
        }),
        client_id: args.client_id,
        client_secret: args.client_secret,
        limit_15min: args.limit_15min,
        limit_daily: args.limit_daily,
        read_limit_15min: args.read_limit_15min,
        read_limit_daily: args.read_limit_daily,
        token_ttl_s: args.token_ttl,
        granted_scope: args.granted_scope,
        stream_step: 1,
        keep_log: true,
        athlete_capacity: args.athlete_capacity,
    };
    let state = match FakeState::new(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::from(1);
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    println!("fake-strava listening on http://{addr} (api http://{addr}/api/v3, oauth http://{addr}/oauth)");
    match axum::serve(listener, fake_strava::router(state)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
