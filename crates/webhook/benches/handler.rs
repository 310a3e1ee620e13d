//! The webhook's own work per push event: parse, validate, build the queue message (the
//! SQS call excluded). `cargo bench -p stravasync-webhook --bench handler`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stravasync_webhook::accept_event;

/// The clock the events are validated against (they are from 2025-11-21).
const NOW: i64 = 1_763_800_000;

fn per_event(c: &mut Criterion) {
    let create = br#"{"aspect_type":"create","event_time":1763755200,"object_id":17000000101,"object_type":"activity","owner_id":5123456789,"subscription_id":120475,"updates":{}}"#;
    let update = br#"{"aspect_type":"update","event_time":1763755260,"object_id":17000000101,"object_type":"activity","owner_id":5123456789,"subscription_id":120475,"updates":{"title":"Evening hill repeats","private":"true"}}"#;
    let malformed = br#"{"aspect_type":"create","object_id":"17000000101","object_type":"activity""#;
    c.bench_function("webhook/accept_create", |b| {
        b.iter(|| accept_event(black_box(create), 120_475, NOW, NOW * 1000).unwrap())
    });
    c.bench_function("webhook/accept_update", |b| {
        b.iter(|| accept_event(black_box(update), 120_475, NOW, NOW * 1000).unwrap())
    });
    c.bench_function("webhook/reject_malformed", |b| {
        b.iter(|| accept_event(black_box(malformed), 120_475, NOW, NOW * 1000).unwrap_err())
    });
}

criterion_group!(benches, per_event);
criterion_main!(benches);
