//! The consumer against moto and fake-strava, one test binary: events and their rules
//! (`events`), backfill and reconcile (`backfill`), batches and their failures per group
//! (`batches`), the lanes under the budget (`lanes`), token rotation across containers
//! (`rotation`), concurrency and two containers racing (`concurrency`, `chaos`), hostile
//! input and lost races (`hostile`), order independence (`property`), dated thresholds
//! and the migration to them (`thresholds`), and the athlete's own files (`import`).

mod backfill;
mod batches;
mod bootstrap;
mod chaos;
mod common;
mod concurrency;
mod emf;
mod events;
mod hostile;
mod import;
mod lanes;
mod least_privilege;
mod property;
mod rotation;
mod thresholds;
