//! Test support (feature `test-util`): the API on the in-memory ports, for tests,
//! benchmarks and measurement tools.

use std::sync::Arc;

use stravasync_core::Secret;
use stravasync_memory::{MemoryQueue, MemoryStore};

use crate::{Api, ApiConfig};

/// The API on the in-memory ports.
pub type MemoryApi = Api<MemoryStore, MemoryQueue>;

/// The API of the site at `base_url`, on `store`, signing sessions with `session_key`, its
/// clock stopped at `now`.
pub fn memory_api(store: MemoryStore, session_key: &str, now: i64, base_url: &str) -> Arc<MemoryApi> {
    let env = [
        ("TABLE_NAME", "memory"),
        ("QUEUE_URL", "memory"),
        ("SESSION_SECRET_ID", "memory"),
        ("PUBLIC_BASE_URL", base_url),
        ("SUPPORT_EMAIL", "support@example.org"),
    ];
    let config = ApiConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
        .expect("a complete configuration");
    Arc::new(
        Api::new(config, Secret::new(session_key), store, MemoryQueue::default()).with_clock(Arc::new(move || now)),
    )
}
