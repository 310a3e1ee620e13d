//! In-memory implementations of the ports of `stravasync_core::ports`, for unit tests of
//! the domain and handlers, benchmarks and the simulation. They follow the same rules as
//! the AWS adapters (conditional versions, chunk replacement, FIFO deduplication), which
//! the adapter tests check on the real services and this crate's tests check here.
//! Clones share their data (as two containers share a table).
//!
//! | port | here | in AWS |
//! |---|---|---|
//! | `ActivityStore`, `RationStore` | [`MemoryStore`] (`store.rs`) | DynamoDB |
//! | `RateBudget` | [`MemoryRateBudget`], and the store (`budget.rs`) | DynamoDB |
//! | `TokenVault` | [`MemoryVault`] (`vault.rs`) | Secrets Manager, or DynamoDB + KMS |
//! | `EventQueue` | [`MemoryQueue`] (`queue.rs`) | SQS FIFO |

mod budget;
mod queue;
mod store;
mod vault;

pub use budget::MemoryRateBudget;
pub use queue::MemoryQueue;
pub use store::{MemoryStore, Units};
pub use vault::MemoryVault;
