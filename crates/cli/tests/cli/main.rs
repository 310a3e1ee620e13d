//! `stravasync` run as a binary, one test binary: the file commands against the shared
//! recordings (`fixtures`), `local up` / `pump` / `rollup` on moto (`local`), the
//! operator commands against a moto stack, piped and in a terminal (`operator`), and the
//! template check against the manifest the binary prints (`manifest`).

mod fixtures;
mod insight;
mod local;
mod manifest;
mod operator;
mod science;
mod status;
