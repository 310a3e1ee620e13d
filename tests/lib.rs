//! End-to-end tests live in `e2e/` and `browser.rs`; this crate has no library code.
