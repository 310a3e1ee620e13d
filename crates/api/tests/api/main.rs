//! The read API against a moto-backed table filled by the real consumer and rollup from
//! the shared recordings, one test binary: each route from its `events/` fixture, the
//! session rules, paging, bad input and the changes handed to the consumer (`routes`);
//! what an athlete may ask of their data and how it ends (`rights`: disconnect and
//! delete, sessions across devices, the export, the rations); and the limits every
//! route keeps whatever is stored (`limits`).

mod bootstrap;
mod helpers;
mod insight;
mod limits;
mod rights;
mod routes;
