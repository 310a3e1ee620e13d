//! The PMC over ten years of daily loads. `cargo bench -p stravasync-core --bench pmc`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stravasync_core::LocalDate;
use stravasync_core::model::PmcConstants;
use stravasync_core::pmc;

fn ten_years(c: &mut Criterion) {
    let start: LocalDate = "2015-01-01".parse().unwrap();
    // 3,653 days, a load on most of them, some days with two activities.
    let scores: Vec<(LocalDate, f64)> = (0..3653)
        .filter(|d| d % 7 != 3)
        .flat_map(|d| {
            let day = start.add_days(d);
            let load = f64::from((d * 37) % 160);
            if d % 5 == 0 { vec![(day, load), (day, 25.0)] } else { vec![(day, load)] }
        })
        .collect();
    let loads = pmc::daily_loads(scores.iter().copied());
    c.bench_function("pmc/series_10y", |b| b.iter(|| pmc::series(black_box(&loads), PmcConstants::default())));
    c.bench_function("pmc/daily_loads_and_series_10y", |b| {
        b.iter(|| pmc::series(&pmc::daily_loads(black_box(&scores).iter().copied()), PmcConstants::default()))
    });
}

criterion_group!(benches, ten_years);
criterion_main!(benches);
