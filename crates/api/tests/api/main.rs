//! The read API against a moto-backed table filled by the real consumer and rollup from
//! the shared recordings, one test binary: each route from its `events/` fixture, the
//! session rules, paging, bad input and the changes handed to the consumer (`routes`);
//! what an athlete may ask of their data and how it ends (`rights`: disconnect and
//! delete, sessions across devices, the export, the rations); the limits every route
//! keeps whatever is stored (`limits`); and, on the in-memory store, the JSON contract
//! with the page as snapshots and the route table's access rules (`contract`).

mod bootstrap;
mod contract;
mod helpers;
mod insight;
mod limits;
mod rights;
mod routes;
