//! The webhook handler on the `events/` fixtures against moto (SQS, Secrets Manager,
//! DynamoDB) and fake-strava, one test binary: every route and refusal (`handler`), and
//! hostile requests that must never panic nor enqueue (`fuzz`). `tests/logs.rs` runs in a
//! process of its own (it captures logs).

mod bootstrap;
mod common;
mod fuzz;
mod handler;
