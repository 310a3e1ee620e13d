//! The simulation's claims about the lanes: round-robin backfill, an overloaded events
//! lane that waits without spinning.

mod lanes;
