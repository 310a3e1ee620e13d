//! Time as the pipeline reads it: Unix seconds, from the system or injected (tests move it,
//! the simulation runs on a virtual one). The one place the system clock is read.

use std::sync::Arc;

/// Unix seconds now.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Unix seconds from the system clock (0 before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The system clock in unix milliseconds: for operational latencies (metrics), never for
/// the pipeline's rules, which take their [`Clock`].
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The system clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(unix_now)
}
