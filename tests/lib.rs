//! End-to-end tests live in `demo.rs`; this crate has no library code.
