//! The `api` binary as Lambda runs it: its real bootstrap behind cargo-lambda's emulator,
//! on the stack made from template.yaml (filled by the real consumer and rollup), invoked
//! with the `events/api-*.json` fixtures (API Gateway v2 events). It answers each as the
//! router does in process (`routes.rs`).

use stravasync_aws::local::LocalStack;
use stravasync_core::telemetry::{API_LATENCY, COLD_START};
use stravasync_testkit::emf;
use stravasync_testkit::lambda::{Emulator, event_file, http_answer};

use crate::helpers::*;

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

// Multi-threaded: fake-strava and the in-process site are served while the test waits for
// `cargo lambda invoke`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_bootstrap_answers_the_fixtures_as_the_router_does() {
    let stack = LocalStack::from_template("boot-api", false).await.expect("the template's stack on moto");
    let h = harness_with_stack(stack).await;
    let mut emulator = Emulator::start().unwrap();
    let mut env = h.stack.function_env("api").unwrap();
    env.push(("PUBLIC_BASE_URL", ORIGIN.to_string()));
    emulator.start_function("api", env!("CARGO_BIN_EXE_api").as_ref(), &env).unwrap();

    // The reads: the same status, type and body as the router in process.
    for name in [
        "api-me.json",
        "api-pmc.json",
        "api-activities.json",
        "api-activity.json",
        "api-activity-streams.json",
        "api-privacy.json",
        "api-dashboard.json",
    ] {
        let routed = call(&h.api, fixture(name)).await;
        let (status, headers, body) = http_answer(&emulator.invoke("api", &event_file(name)).unwrap()).unwrap();
        assert_eq!(status, routed.status, "{name}: {body}");
        assert_eq!(header(&headers, "content-type"), routed.header("content-type"), "{name}");
        if routed.header("content-type").is_some_and(|t| t.starts_with("application/json")) {
            assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap(), routed.json(), "{name}");
        } else {
            assert_eq!(body, routed.text(), "{name}");
        }
    }
    // The writes, once each (as routes.rs asserts them).
    for (name, want) in
        [("api-thresholds.json", 202), ("api-backfill.json", 202), ("api-export.json", 303), ("api-logout.json", 303)]
    {
        let (status, headers, body) = http_answer(&emulator.invoke("api", &event_file(name)).unwrap()).unwrap();
        assert_eq!(status, want, "{name}: {body}");
        if name == "api-export.json" {
            assert!(header(&headers, "location").unwrap().starts_with(&format!("{ORIGIN}/export?token=x1.")));
        }
    }
    let jobs = drain(&h.stack).await;
    assert!(
        matches!(
            jobs.as_slice(),
            [stravasync_core::job::Job::SetThresholds { .. }, stravasync_core::job::Job::Backfill { .. }]
        ),
        "{jobs:?}"
    );

    // Its metrics (EMF lines of its log): a latency per request, by route template and
    // status class; every one in the catalog.
    let log = emulator.log("api");
    let values = emf::values(&log).unwrap_or_else(|e| panic!("{e}\n{log}"));
    let latencies = |route: &str, status: &str| {
        values.get(&emf::key(API_LATENCY, "api", &[("Route", route), ("Status", status)])).map_or(0, Vec::len)
    };
    assert_eq!(latencies("/api/me", "2xx"), 1);
    assert_eq!(latencies("/api/activities/{id}", "2xx"), 1);
    assert_eq!(latencies("/api/me/thresholds", "2xx"), 1);
    assert_eq!(latencies("/api/export", "3xx"), 1);
    // The `Route` dimension is open in the catalog: its values are the route table's.
    let routes = stravasync_api::routes::latency_routes();
    for (name, dims) in values.keys().filter(|(n, _)| n == API_LATENCY) {
        assert!(routes.contains(&dims["Route"].as_str()), "{name}: {dims:?} is no route of the table");
    }
    let requests: usize = values.iter().filter(|((n, _), _)| n == API_LATENCY).map(|(_, v)| v.len()).sum();
    assert_eq!(requests, 11, "one value per invocation");
    assert!(values.iter().filter(|((n, _), _)| n == API_LATENCY).flat_map(|(_, v)| v).all(|ms| *ms >= 0.0));
    assert_eq!(emf::total(&values, COLD_START, "api", &[]), 1.0);
}
