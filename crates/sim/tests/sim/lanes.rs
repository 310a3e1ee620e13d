//! The two lanes at scale, through the simulation (the real consumer on a virtual clock):
//! a club connecting within the hour gets its history round-robin, most recent first, while
//! every new activity is scored within the minute.

use stravasync_sim::{SimOptions, simulate};

fn club(backfill_batch: u32) -> SimOptions {
    SimOptions {
        athletes: 40,
        days: 2,
        connect_over_hours: 1.0,
        history: 40,
        backfill_count: 30,
        backfill_batch,
        // Strava's own 429s (outside our budget's view) delay a record to the next window;
        // this test is about the lanes.
        stray_429_per_hour: 0.0,
        seed: 4,
        ..Default::default()
    }
}

/// One simulation on a thread of its own, as `stravasync-dev simulate` runs it (a
/// current-thread runtime: the simulation is sequential), so two run side by side.
fn simulate_on_a_thread(options: SimOptions) -> std::thread::JoinHandle<stravasync_sim::Report> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(simulate(options)).unwrap()
    })
}

#[test]
fn a_club_connecting_at_once_shares_the_backfill_and_events_go_first() {
    let (fair, first_come) = (simulate_on_a_thread(club(10)), simulate_on_a_thread(club(200)));
    let (fair, first_come) = (fair.join().unwrap(), first_come.join().unwrap());
    for r in [&fair, &first_come] {
        assert!(r.failures.is_empty() && r.dead_letters == 0, "{}", r.render());
        // Events keep priority while the backfill uses the rest of the budget.
        let p99 = r.create_percentile(99.0).expect("activities were recorded");
        assert!(p99 < 120.0, "new activities p99 {p99} s\n{}", r.render());
        assert!(r.lanes[1].strava_requests > 1_000, "the backfill ran: {}", r.render());
    }
    // The day's background budget (700, paced: 29 more each hour from midnight, when the
    // club connects) covers every athlete's first slice (11 requests) by the afternoon,
    // but not every athlete's whole backfill (31). Round-robin slices of 10: every athlete
    // has their 10 most recent activities within the day; first-come-first-served leaves
    // many waiting for the next day's budget.
    let fair_max = fair.first_slice_percentile(100.0).unwrap();
    assert!(fair_max < 13.0 * 3600.0, "round-robin: all first slices within the day\n{}", fair.render());
    let fcfs_p95 = first_come.first_slice_percentile(95.0).unwrap();
    assert!(fcfs_p95 > 24.0 * 3600.0, "first-come-first-served: some wait a day\n{}", first_come.render());
    let (fair_p50, fcfs_p50) =
        (fair.first_slice_percentile(50.0).unwrap(), first_come.first_slice_percentile(50.0).unwrap());
    assert!(fair_p50 * 1.5 < fcfs_p50, "{fair_p50} s against {fcfs_p50} s");
}

/// Twice the events the budget can serve, for a week: the backlog grows, but waiting
/// stays cheap. A waiting event wakes a few times a day, not in a loop, and no event
/// reaches the queue's redrive limit however many of its athlete's events queue behind it.
#[tokio::test(flavor = "current_thread")]
async fn an_overloaded_events_lane_waits_without_spinning_or_losing_events() {
    let options = SimOptions {
        athletes: 60,
        days: 7,
        limit_15min: 10,
        limit_daily: 60,
        connect_over_hours: 1.0,
        history: 10,
        backfill_count: 10,
        behaviour: stravasync_sim::load::Behaviour {
            activities_per_day: 1.0,
            title_edits: 0.5,
            deauthorizations: 0.0,
            ..Default::default()
        },
        stray_429_per_hour: 0.0,
        seed: 9,
        ..Default::default()
    };
    let r = simulate(options).await.unwrap();
    let events = &r.lanes[0];
    assert!(r.failures.is_empty(), "{}", r.render());
    assert!(r.events_depth > 100, "overloaded: a backlog builds\n{}", r.render());
    assert_eq!((r.dead_letters, r.redriven), (0, 0), "nothing lost to the redrive policy\n{}", r.render());
    let sent = events.done + r.events_depth;
    assert!(events.invocations < 40 * sent, "{} invocations for {sent} events\n{}", events.invocations, r.render());
}
