//! `stravasync-dev simulate`: the pipeline on in-memory ports, many athletes, a month, on a
//! virtual clock (docs/design.md §10).
//!
//! - [`queue`]: SQS FIFO's rules on a virtual clock, one queue per lane.
//! - [`load`]: who connects when, and what they record, edit, delete and revoke.
//! - [`options`]: what to simulate; [`run`]: the real consumer and rollup driven through it
//!   all; [`report`]: what it measured; [`bill`]: what that costs a month.

pub mod bill;
pub mod load;
pub mod options;
pub mod queue;
pub mod report;
pub mod run;

pub use bill::{Bill, Prices};
pub use options::SimOptions;
pub use report::Report;
pub use run::Simulation;

/// Runs one simulation to its end.
pub async fn simulate(options: SimOptions) -> std::io::Result<Report> {
    Ok(Simulation::new(options).await?.run().await)
}
