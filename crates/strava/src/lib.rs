//! Strava API v3 client (docs/design.md §4).
//!
//! - [`StravaClient`]: one per process; the HTTP connection pool, base URLs, app
//!   credentials, and the calls that need no athlete token (OAuth code exchange and
//!   refresh, push subscriptions).
//! - [`AthleteSession`]: the calls made on an athlete's behalf. It reads the tokens from a
//!   [`TokenVault`](stravasync_core::ports::TokenVault), refreshes them proactively (5 min
//!   before expiry) and once reactively on a 401, and stores a rotated refresh token in the
//!   vault *before* the new access token is used, so a crash can never lose it.
//! - Every response's rate-limit headers come back as [`RateUsage`]; errors are typed
//!   ([`StravaError`]) and never carry a token or the client secret.

mod client;
mod config;
mod error;
mod rate;
mod session;
pub mod tls;
mod types;

pub use client::StravaClient;
pub use config::{Clock, DEFAULT_API_URL, DEFAULT_OAUTH_URL, StravaConfig};
pub use error::StravaError;
pub use rate::{RateUsage, WindowUsage};
pub use session::{ActivityPager, AthleteSession};
pub use types::{ActivityQuery, AthleteInfo, AthleteZones, PushSubscription, Response, TokenGrant, ZoneRange, ZoneSet};
