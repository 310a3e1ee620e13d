//! Strava's published API document (`../shared/reference/strava-swagger.json`) as the
//! contract. The client parses the example response of every operation it calls and does
//! the right thing with it, and sends only the parameters and scopes the document defines;
//! fake-strava answers those operations with the examples' field names and JSON types.
//!
//! The document does not describe the token exchange and refresh (`/oauth/token`): their
//! shapes follow Strava's authentication page and are tested in `client`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::http::Uri;
use fake_strava::data::Season;
use serde_json::Value;
use stravasync_core::Secret;
use stravasync_core::model::{AppCredentials, DEFAULT_SCOPE, OAuthTokens, STRAVA_SCOPES, Scopes};
use stravasync_core::ports::TokenVault;
use stravasync_core::streams::{NumericKey, StreamError};
use stravasync_strava::{ActivityQuery, AthleteSession, StravaClient, StravaConfig, StravaError};
use stravasync_testkit::memory::MemoryVault;

/// The operations the pipeline calls.
const CALLED: [&str; 5] = [
    "getActivityById",
    "getLoggedInAthleteActivities",
    "getActivityStreams",
    "getLoggedInAthlete",
    "getLoggedInAthleteZones",
];

fn document() -> Value {
    let path = stravasync_testkit::strava_api_document();
    serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("Strava's API document is JSON")
}

/// The document's GET operation `id`: its path and definition.
fn operation<'a>(doc: &'a Value, id: &str) -> (&'a str, &'a Value) {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find_map(|(path, ops)| (ops["get"]["operationId"] == id).then_some((path.as_str(), &ops["get"])))
        .unwrap_or_else(|| panic!("{id} is in the document"))
}

fn example<'a>(doc: &'a Value, id: &str) -> &'a Value {
    let example = &operation(doc, id).1["responses"]["200"]["examples"]["application/json"];
    assert!(!example.is_null(), "{id} has an example response");
    example
}

/// The operation's parameters, `$ref`s to the document's shared ones resolved.
fn parameters<'a>(doc: &'a Value, id: &str) -> Vec<&'a Value> {
    let op = operation(doc, id).1;
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| match p["$ref"].as_str() {
                    Some(r) => &doc["parameters"][r.trim_start_matches("#/parameters/")],
                    None => p,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Which operation a request path of the client is.
fn operation_of(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches("/api/v3/").split('/').collect();
    match segments.as_slice() {
        ["activities", _] => "getActivityById",
        ["activities", _, "streams"] => "getActivityStreams",
        ["athlete", "activities"] => "getLoggedInAthleteActivities",
        ["athlete", "zones"] => "getLoggedInAthleteZones",
        ["athlete"] => "getLoggedInAthlete",
        _ => panic!("the client called {path}, which the pipeline does not use"),
    }
}

/// A server answering each operation with the document's example, recording the query
/// string of every request.
async fn serve_examples(doc: &Value) -> (String, Arc<Mutex<Vec<(&'static str, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let examples: BTreeMap<&'static str, Value> = CALLED.iter().map(|id| (*id, example(doc, id).clone())).collect();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let op = operation_of(uri.path());
        log.lock().unwrap().push((op, uri.query().unwrap_or_default().to_string()));
        let body = examples[op].clone();
        async move { axum::Json(body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v3", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn the_client_reads_every_example_and_sends_only_documented_parameters() {
    let doc = document();
    let (api_url, seen) = serve_examples(&doc).await;
    let client = StravaClient::new(
        StravaConfig::new("12345", Secret::new("client-secret")).with_urls(&api_url, format!("{api_url}/oauth")),
    )
    .unwrap();
    let vault = MemoryVault::new(AppCredentials {
        client_id: "12345".into(),
        client_secret: Secret::new("client-secret"),
        verify_token: Secret::new("v"),
        subscription_id: 1,
    });
    let athlete = 134_815;
    let tokens = OAuthTokens {
        athlete_id: athlete,
        access_token: Secret::new("access"),
        refresh_token: Secret::new("refresh"),
        expires_at: i64::MAX / 2,
        scopes: Scopes::parse("read,activity:read_all,profile:read_all"),
        connected_at: 0,
    };
    vault.put_tokens(&tokens).await.unwrap();
    let mut session = AthleteSession::new(&client, &vault, athlete);

    // getActivityById: a detailed activity whose sport is a kind of ride.
    let a = session.activity(12_345_678_987_654_321).await.expect("the detailed activity example parses").value;
    assert_eq!((a.id, a.sport().unwrap().as_str()), (12_345_678_987_654_321, "MountainBikeRide"));
    assert_eq!((a.distance, a.moving_time), (Some(28_099.0), Some(4207)));
    assert_eq!(a.start_date, "2018-02-16T14:52:54Z");

    // getLoggedInAthleteActivities: summaries, one with an upload id beyond 64 bits (not
    // read, and no reason to refuse the page).
    let query = ActivityQuery { after: Some(1_500_000_000), before: Some(1_600_000_000), page: 2, per_page: 30 };
    let page = session.activities(query).await.expect("the summary list example parses").value;
    assert_eq!(page.iter().map(|a| a.id).collect::<Vec<_>>(), [154_504_250_376_823, 1_234_567_809]);
    for a in &page {
        assert!(a.sport().is_ok(), "{a:?}");
    }

    // getActivityStreams: the example is the array form (see `stravasync_core::streams`):
    // read like the keyed form; without a time stream, validation names what is missing and
    // the consumer stores the activity unscored with that reason.
    let streams = session.streams(12_345_678_987_654_321).await.expect("the array-form example parses").value;
    assert_eq!(streams.get(NumericKey::Distance).map(<[f64]>::len), Some(12));
    assert_eq!(streams.validate(), Err(StreamError::MissingTime { key: "distance" }));

    // getLoggedInAthlete: the athlete; no FTP given, and a weight of 0 means none.
    let me = session.athlete().await.expect("the athlete example parses").value;
    assert_eq!((me.id, me.sex.as_deref(), me.ftp), (1_234_567_890_987_654_321, Some("F"), None));

    // getLoggedInAthleteZones: the document's example is an activity's zone distribution
    // (`distribution_buckets`), not the athlete's zones. Refused by name, as any shape the
    // client does not know; the connection then goes on without Strava's zones.
    assert!(example(&doc, "getLoggedInAthleteZones")[0]["distribution_buckets"].is_array());
    match session.zones().await {
        Err(StravaError::Invalid { endpoint, .. }) => assert_eq!(endpoint, "GET /athlete/zones"),
        other => panic!("the zones example is not the athlete's zones: {other:?}"),
    }

    // Every parameter sent is one the document defines for that operation, with an allowed
    // value; the required ones are sent.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().map(|(op, _)| *op).collect::<BTreeSet<_>>(), CALLED.into_iter().collect());
    for (op, query) in &seen {
        let documented = parameters(&doc, op);
        let sent: BTreeMap<String, String> = url_pairs(query);
        for (name, value) in &sent {
            let p = documented
                .iter()
                .find(|p| p["name"] == name.as_str() && p["in"] == "query")
                .unwrap_or_else(|| panic!("{op}: `{name}` is not a documented query parameter"));
            match p["type"].as_str() {
                Some("integer") => assert!(value.parse::<i64>().is_ok(), "{op}: {name}={value}"),
                Some("boolean") => assert!(["true", "false"].contains(&value.as_str()), "{op}: {name}={value}"),
                Some("array") => {
                    let allowed: Vec<&str> =
                        p["items"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
                    for item in value.split(',') {
                        assert!(allowed.contains(&item), "{op}: {name} item {item:?} is not in {allowed:?}");
                    }
                }
                other => panic!("{op}: {name} of type {other:?}"),
            }
        }
        for p in documented.iter().filter(|p| p["required"] == true && p["in"] == "query") {
            assert!(sent.contains_key(p["name"].as_str().unwrap()), "{op}: required {} not sent", p["name"]);
        }
    }
    let streams_query = seen.iter().find(|(op, _)| *op == "getActivityStreams").map(|(_, q)| url_pairs(q)).unwrap();
    assert_eq!(streams_query["key_by_type"], "true", "the document: it must be true");
}

fn url_pairs(query: &str) -> BTreeMap<String, String> {
    let url = reqwest::Url::parse(&format!("http://client.invalid/?{query}")).unwrap();
    url.query_pairs().into_owned().collect()
}

#[test]
fn the_scopes_asked_for_are_strava_s() {
    let doc = document();
    let documented: BTreeSet<&str> =
        doc["securityDefinitions"]["strava_oauth"]["scopes"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(STRAVA_SCOPES.into_iter().collect::<BTreeSet<_>>(), documented);
    for scope in Scopes::parse(DEFAULT_SCOPE).0.iter().chain([&"profile:read_all".to_string()]) {
        assert!(documented.contains(scope.as_str()), "{scope} is not one of Strava's scopes");
    }
}

/// A JSON value's type as the comparison sees it: every number is a number.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `ours` differs from Strava's `example`: a field of the example missing, a field
/// neither the example nor `known` has, or another JSON type (`null` stands for a value
/// Strava leaves out, so it matches any type). Arrays compare their first elements.
fn differences(example: &Value, ours: &Value, known: &BTreeSet<String>, at: &str, out: &mut Vec<String>) {
    match (example, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (name, value) in e {
                match o.get(name) {
                    None => out.push(format!("{at}.{name}: missing")),
                    Some(v) => differences(value, v, known, &format!("{at}.{name}"), out),
                }
            }
            for name in o.keys().filter(|n| !e.contains_key(*n) && !known.contains(*n)) {
                out.push(format!("{at}.{name}: not a field of Strava's"));
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            if let (Some(e), Some(o)) = (e.first(), o.first()) {
                differences(e, o, &BTreeSet::new(), &format!("{at}[0]"), out);
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (e, o) if kind(e) != kind(o) => out.push(format!("{at}: {} in Strava's example, {} here", kind(e), kind(o))),
        _ => {}
    }
}

/// The top-level fields of the shared real recordings (Strava's own answers): fields Strava
/// sends that its examples happen not to show.
fn recorded_fields() -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    for entry in std::fs::read_dir(stravasync_testkit::fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".activity.json") {
            let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            fields.extend(v.as_object().unwrap().keys().cloned());
        }
    }
    fields
}

#[tokio::test]
async fn fake_strava_answers_with_the_examples_field_names_and_types() {
    let doc = document();
    let fake = fake_strava::start(fake_strava::FakeConfig {
        fixtures_dir: fake_strava::default_fixtures_dir(),
        season: Some(Season { athletes: 1, activities_per_athlete: 6, seed: 3, end: 1_780_000_000, block_days: 0 }),
        ..Default::default()
    })
    .await
    .unwrap();
    let recorded = recorded_fields();
    let http = stravasync_strava::tls::http_client_builder().build().unwrap();
    let mut out = Vec::new();
    // The recordings' athlete (real activities, served as recorded) and a generated one.
    for athlete in [stravasync_testkit::ATHLETE, fake_strava::data::GENERATED_ATHLETE_BASE + 1] {
        let (access, _, _) = fake.state.mint_tokens(athlete, "read,activity:read_all,profile:read_all");
        let get = |path: String| {
            let request = http.get(format!("{}{path}", fake.api_url())).bearer_auth(&access);
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200, "{path}");
                response.json::<Value>().await.unwrap()
            }
        };
        let list = get("/athlete/activities?per_page=200".into()).await;
        let items = list.as_array().unwrap();
        assert!(!items.is_empty());
        for (i, item) in items.iter().enumerate() {
            let summary = &example(&doc, "getLoggedInAthleteActivities")[0];
            differences(summary, item, &recorded, &format!("{athlete} list[{i}]"), &mut out);
            let id = item["id"].as_i64().unwrap();
            let detailed = get(format!("/activities/{id}")).await;
            differences(example(&doc, "getActivityById"), &detailed, &recorded, &format!("activity {id}"), &mut out);
            if detailed["manual"] == false {
                let streams = get(format!("/activities/{id}/streams?keys=time,distance,watts&key_by_type=true")).await;
                let mut stream = example(&doc, "getActivityStreams")[0].clone();
                stream.as_object_mut().unwrap().remove("type");
                for (key, served) in streams.as_object().unwrap() {
                    differences(&stream, served, &BTreeSet::new(), &format!("streams {id}.{key}"), &mut out);
                }
            }
        }
        let me = get("/athlete".into()).await;
        differences(
            example(&doc, "getLoggedInAthlete"),
            &me,
            &BTreeSet::new(),
            &format!("athlete {athlete}"),
            &mut out,
        );
    }
    assert!(out.is_empty(), "fake-strava differs from Strava's examples:\n{}", out.join("\n"));
}
