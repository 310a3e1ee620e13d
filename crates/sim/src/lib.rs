//! The pipeline on in-memory ports, and `stravasync simulate`: many athletes, a month, on a
//! virtual clock (docs/design.md §10).
//!
//! - [`memory`]: in-memory implementations of the ports (tests and the simulation).
//! - [`queue`]: SQS FIFO's rules on a virtual clock, one queue per lane.
//! - [`load`]: who connects when, and what they record, edit, delete and revoke.
//! - [`run`]: the real consumer and rollup driven through it all; [`report`]: what it measured.

pub mod load;
pub mod memory;
pub mod queue;
pub mod report;
pub mod run;

pub use report::{Prices, Report};
pub use run::{SimOptions, Simulation};

/// Runs one simulation to its end.
pub async fn simulate(options: SimOptions) -> std::io::Result<Report> {
    Ok(Simulation::new(options).await?.run().await)
}
