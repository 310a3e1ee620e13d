//! `stravasync` run as a binary, one test binary: the file commands against the shared
//! recordings (`fixtures`), `local up` / `pump` / `rollup` on moto (`local`), and the
//! operator commands against a moto stack, piped and in a terminal (`operator`).

mod fixtures;
mod insight;
mod local;
mod operator;
mod status;
