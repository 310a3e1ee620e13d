//! `stravasync-dev`: the developer's tools, kept apart from the operator CLI
//! (`stravasync`), which needs none of what they link (fake-strava, the webhook's and the
//! API's HTTP routers, the simulation).
//!
//! - [`demo`]: the whole pipeline on one machine (`make demo`, `make demo-serve`, and the
//!   end-to-end tests under `tests/`).
//! - [`cost`]: the monthly AWS bill per athlete, measured on the local stack.
//! - [`simulate`]: many athletes for days under Strava's limits, on a virtual clock.

pub mod cost;
pub mod demo;
pub mod simulate;
