//! The rollup on in-memory ports and on moto: incremental PMC, the daily extension, the
//! weekly reconciles.

mod bootstrap;
mod rollup;
