//! The read side: everything that turns stored items into what a person sees, for the read
//! API (which serialises these types as its JSON answers) and the operator CLI (which
//! prints the same values as text). It reads through the storage ports' read roles and
//! never through an AWS SDK.
//!
//! - [`query`]: query parameters and their limits, validated into typed values whose errors
//!   name the field.
//! - [`views`]: an activity's list line, its page and its series for a chart.
//! - [`insight`]: form and its bands, the over-reaching banner, the CTL ramp, season bests,
//!   estimated thresholds, weekly totals (docs/design.md §8).
//! - [`answers`]: each slice the API serves and the CLI prints, computed in one place from
//!   the stores, as typed answers.
//! - [`error`]: why a slice could not be answered ([`ReadError`]).
//! - [`catalog`]: the facts the dashboard shows without computing them (peak windows and
//!   their labels, score sources, sport groups, the moving cut-off).
//! - [`export`]: the files and CSV lines of an athlete's data export.
//! - [`thresholds`]: the threshold history as shown and changed (docs/design.md §6b).
//! - [`site`]: what every page says about the site (name, privacy, support, attribution),
//!   the session cookie's name, and Strava's activity links.

pub mod answers;
pub mod catalog;
pub mod error;
pub mod export;
pub mod insight;
pub mod query;
pub mod site;
pub mod thresholds;
pub mod views;

pub use error::ReadError;
