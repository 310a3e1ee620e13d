//! Pure domain of the Strava → AWS training-load pipeline.
//!
//! Nothing in this crate does I/O: the Lambdas, the CLI and the benchmarks all call the
//! same code, and the adapters in `stravasync-aws` implement the [`ports`] defined here.
//!
//! - [`clock`]: Unix seconds, from the system or injected.
//! - [`model`]: athlete profile and thresholds, activity summary, OAuth tokens, PMC rows,
//!   rate-limit windows.
//! - [`streams`]: Strava's `key_by_type` stream set, validated on parse.
//! - [`json`]: strict JSON parsing whose errors name the field.
//! - [`decide`]: what a webhook event asks for, decided from what is stored (no I/O).
//! - [`event`]: the webhook event Strava pushes.
//! - [`job`]: what travels on the queues: jobs, lanes, message groups, the SQS message.
//! - [`convert`]: a recording's samples (FIT, GPX, TCX) as Strava's stream set, exactly.
//! - [`codec`]: compact columnar encoding of a stream set, split into DynamoDB-sized chunks.
//! - [`metrics`]: 1 Hz resampling, NP/TSS, rTSS, hrTSS, zones, peaks (docs/design.md §6).
//! - [`thresholds`]: sport groups and the dated threshold history (docs/design.md §6b).
//! - [`physiology`]: sTSS, the CP/W′ fit, W′ balance, aerobic decoupling, EF (§6b).
//! - [`analysis`]: one activity under §6b: thresholds in force, score per sport group,
//!   every candidate, the models, zones and peaks, in one serializable report.
//! - [`order`]: the by-date order of an athlete's activities and a position in it.
//! - [`peaks`]: best means over the peak windows, and how they are stored.
//! - [`pmc`]: the Performance Management Chart (CTL, ATL, TSB).
//! - [`signed`]: HMAC-signed values (OAuth state, session cookie).
//! - [`ration`]: how much export and backfill one athlete may ask for.
//! - [`ports`]: the storage, vault and queue traits (in-memory versions for tests live in
//!   the `stravasync-testkit` crate).

pub mod analysis;
pub mod clock;
pub mod codec;
pub mod config;
pub mod convert;
pub mod date;
pub mod decide;
pub mod event;
pub mod hash;
pub mod job;
pub mod json;
pub mod metrics;
pub mod model;
pub mod order;
pub mod peaks;
pub mod physiology;
pub mod pmc;
pub mod ports;
pub mod ration;
pub mod secret;
pub mod signed;
pub mod streams;
pub mod telemetry;
pub mod thresholds;

pub use date::LocalDate;
pub use secret::Secret;
