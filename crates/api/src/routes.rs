//! The route table and the JSON routes. Each route is one line of [`ROUTES`]: its method,
//! path and access. The router is built from the table ([`crate::router`]), which puts the
//! access's check in front of the handler ([`crate::session::require`]); a test walks the
//! table and finds every private and change route refusing a request without a valid
//! session. The handlers are thin: a typed request in, a slice of `stravasync_read` out,
//! serialised as it is typed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde::Serialize;
use stravasync_core::job::{BackfillRequest, Job, QueueMessage, Requester};
use stravasync_core::json::parse_body;
use stravasync_core::model::ThresholdsUpdate;
use stravasync_core::ports::{EraseStore, EventQueue, ProfileStore, Ration, RationStore, ReadStore};
use stravasync_core::ration::EXPORT_EVERY_S;
use stravasync_core::signed::{self, EXPORT_LINK_TTL_S, Session};
use stravasync_core::thresholds::ThresholdChange;
use stravasync_read::answers::{self, Accepted, BackfillAccepted, Disconnection, ExportLink, Limits, activity_id};
use stravasync_read::export::archive_name;
use stravasync_read::insight::BestsRange;
use stravasync_read::query;

pub use crate::session::Access;
use crate::session::{SignedIn, SignedInChange};
use crate::{Api, ApiError, pages};

pub(crate) type Shared<S, Q> = State<Arc<Api<S, Q>>>;
pub(crate) type Params = Query<HashMap<String, String>>;

/// One route of the read API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The route's template, as axum matches it (also `ApiLatency`'s `Route` dimension).
    pub path: &'static str,
    pub access: Access,
}

const fn route(method: &'static str, path: &'static str, access: Access) -> Route {
    Route { method, path, access }
}

impl Route {
    pub fn http_method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap_or(Method::GET)
    }
}

/// Every route the `api` function serves, and `/export` (the `export` function's).
pub const ROUTES: &[Route] = &[
    route("GET", "/", Access::Public),
    route("GET", "/logout", Access::Public),
    route("GET", stravasync_read::site::PRIVACY_PATH, Access::Public),
    route("GET", "/disconnected", Access::Public),
    route("GET", "/static/{file}", Access::Public),
    route("GET", "/static/brand/{file}", Access::Public),
    route("GET", "/api/catalog", Access::Private),
    route("GET", "/api/me", Access::Private),
    route("GET", "/api/me/thresholds", Access::Private),
    route("POST", "/api/me/thresholds", Access::Change),
    route("DELETE", "/api/me/thresholds", Access::Change),
    route("PUT", "/api/me/thresholds", Access::Change),
    route("POST", "/api/me/disconnect", Access::Change),
    route("GET", "/api/export", Access::Private),
    route("GET", "/api/pmc", Access::Private),
    route("GET", "/api/form", Access::Private),
    route("GET", "/api/bests", Access::Private),
    route("GET", "/api/weeks", Access::Private),
    route("GET", "/api/activities", Access::Private),
    route("GET", "/api/activities/{id}", Access::Private),
    route("GET", "/api/activities/{id}/streams", Access::Private),
    route("POST", "/api/backfill", Access::Change),
    route(EXPORT_ROUTE.method, EXPORT_ROUTE.path, EXPORT_ROUTE.access),
];

/// The archive behind a one-time link: the `export` function's only route.
pub const EXPORT_ROUTE: Route = route("GET", "/export", Access::Public);

/// `ApiLatency`'s `Route` values: every route's template, and `unmatched` for a request no
/// route serves.
pub fn latency_routes() -> Vec<&'static str> {
    ROUTES.iter().map(|r| r.path).chain(["unmatched"]).collect()
}

/// The handler of a route of [`ROUTES`] (`None` for a route the table does not have: the
/// router refuses to build then, and a test builds it).
pub(crate) fn handler<S, Q>(route: &Route) -> Option<MethodRouter<Arc<Api<S, Q>>>>
where
    S: ProfileStore + ReadStore + EraseStore + RationStore + Clone + 'static,
    Q: EventQueue + 'static,
{
    use axum::routing::{delete, get, post, put};
    if route.path == "/api/me/thresholds" {
        return match route.method {
            "GET" => Some(get(thresholds::<S, Q>)),
            "POST" => Some(post(save_threshold::<S, Q>)),
            "DELETE" => Some(delete(remove_threshold::<S, Q>)),
            "PUT" => Some(put(set_thresholds::<S, Q>)),
            _ => None,
        };
    }
    Some(match route.path {
        "/" => get(pages::home::<S, Q>),
        "/logout" => get(pages::logout::<S, Q>),
        stravasync_read::site::PRIVACY_PATH => get(pages::privacy::<S, Q>),
        "/disconnected" => get(pages::disconnected::<S, Q>),
        "/static/{file}" => get(pages::asset),
        "/static/brand/{file}" => get(pages::brand_asset),
        "/api/catalog" => get(catalog),
        "/api/me" => get(me::<S, Q>),
        "/api/me/disconnect" => post(disconnect::<S, Q>),
        "/api/export" => get(export_link::<S, Q>),
        "/api/pmc" => get(pmc::<S, Q>),
        "/api/form" => get(form::<S, Q>),
        "/api/bests" => get(bests::<S, Q>),
        "/api/weeks" => get(weeks::<S, Q>),
        "/api/activities" => get(activities::<S, Q>),
        "/api/activities/{id}" => get(activity::<S, Q>),
        "/api/activities/{id}/streams" => get(streams::<S, Q>),
        "/api/backfill" => post(backfill::<S, Q>),
        "/export" => get(export_archive::<S, Q>),
        _ => return None,
    })
}

/// How long `POST /api/me/disconnect` waits for the consumer to finish the deletion
/// before it answers that it is under way (the function's timeout is 10 s).
const DISCONNECT_WAIT: Duration = Duration::from_secs(8);
const DISCONNECT_POLL: Duration = Duration::from_millis(200);
/// `Retry-After` of a backfill asked for while one runs: the dashboard shows progress meanwhile.
const BACKFILL_RUNNING_RETRY_S: i64 = 300;

/// A JSON answer that no cache keeps.
pub(crate) fn json_no_store(status: StatusCode, value: impl Serialize) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(value)).into_response()
}

fn ok(value: impl Serialize) -> Result<Response, ApiError> {
    Ok(json_no_store(StatusCode::OK, value))
}

impl<S: ProfileStore, Q: EventQueue> Api<S, Q> {
    async fn enqueue(&self, message: &QueueMessage) -> Result<(), ApiError> {
        self.queue.enqueue(message).await.map_err(|e| {
            tracing::error!(error = %e, "enqueue failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue unavailable, retry")
        })
    }
}

/// `GET /api/catalog`: what the page shows without computing it.
async fn catalog(_: SignedIn) -> Result<Response, ApiError> {
    ok(stravasync_read::catalog::catalog())
}

/// `GET /api/me`.
async fn me<S: ProfileStore + ReadStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
) -> Result<Response, ApiError> {
    let limit = api.config.backfill_daily_limit;
    let remaining = api
        .store
        .backfill_remaining(s.athlete, limit, api.now())
        .await
        .map_err(|e| ApiError::unavailable("allowance", e))?;
    let limits = Limits {
        backfill_daily_activities: limit,
        backfill_remaining_today: remaining,
        export_every_s: EXPORT_EVERY_S,
    };
    ok(answers::me(&api.store, &s.profile, limits, api.now()).await?)
}

/// `GET /api/pmc?from&to`.
async fn pmc<S: ProfileStore + ReadStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let (from, to) = query::pmc_range(q.get("from").map(String::as_str), q.get("to").map(String::as_str), api.today())?;
    ok(answers::pmc(&api.store, s.athlete, from, to).await?)
}

/// `GET /api/form`: today's form, the bands and the banner's rule.
async fn form<S: ProfileStore + ReadStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
) -> Result<Response, ApiError> {
    ok(answers::form(&api.store, &s.profile, api.today()).await?)
}

/// `GET /api/bests?range=42d|90d|1y|all` (default 90d).
async fn bests<S: ProfileStore + ReadStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let range = BestsRange::parse("range", q.get("range").map(String::as_str))?;
    ok(answers::bests(&api.store, &s.profile, range, api.today()).await?)
}

/// `GET /api/weeks`: the last 12 weeks, Monday to Sunday.
async fn weeks<S: ProfileStore + ReadStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
) -> Result<Response, ApiError> {
    ok(answers::weeks(&api.store, s.athlete, api.now()).await?)
}

/// `GET /api/activities?before&limit`.
async fn activities<S: ProfileStore + ReadStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let (before, limit) =
        query::activity_page(q.get("before").map(String::as_str), q.get("limit").map(String::as_str))?;
    ok(answers::activity_page(&api.store, s.athlete, before, limit).await?)
}

/// `GET /api/activities/{id}`.
async fn activity<S: ProfileStore + ReadStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(answers::activity(&api.store, s.athlete, activity_id("id", &id)?).await?)
}

/// `GET /api/activities/{id}/streams?resolution`.
async fn streams<S: ProfileStore + ReadStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let resolution = query::resolution(q.get("resolution").map(String::as_str))?;
    ok(answers::activity_streams(&api.store, &s.profile, activity_id("id", &id)?, resolution).await?)
}

/// `GET /api/me/thresholds`: the threshold history, its version as the `ETag` too.
async fn thresholds<S: ProfileStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
) -> Result<Response, ApiError> {
    let answer = stravasync_read::thresholds::answer(&api.store, &s.profile).await?;
    let mut response = json_no_store(StatusCode::OK, &answer);
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{}\"", answer.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// `POST /api/me/thresholds`: save an entry (`{"entry": {...}, "version": N}` or
/// `If-Match: "N"`), replacing the one of its group and date.
async fn save_threshold<S: ProfileStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    SignedInChange(s): SignedInChange,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: stravasync_read::thresholds::SaveRequest = parse_body(&body)?;
    let version = stravasync_read::thresholds::version_of(if_match(&headers), request.version)?;
    let change = ThresholdChange::Save { entry: request.entry };
    threshold_change(&api, &s, change, version).await
}

/// `DELETE /api/me/thresholds?group=…&effective_from=…` with `If-Match: "N"` (or
/// `&version=N`): remove an entry.
async fn remove_threshold<S: ProfileStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    SignedInChange(s): SignedInChange,
    headers: HeaderMap,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let change = stravasync_read::thresholds::removal(
        q.get("group").map(String::as_str),
        q.get("effective_from").map(String::as_str),
    )?;
    let field = match q.get("version") {
        Some(v) => Some(
            v.parse().map_err(|_| stravasync_core::json::field_error("version", format!("{v:?} is not a version")))?,
        ),
        None => None,
    };
    let version = stravasync_read::thresholds::version_of(if_match(&headers), field)?;
    threshold_change(&api, &s, change, version).await
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

/// A checked change, rationed, handed to the consumer: `202` with what will be stored.
async fn threshold_change<S: ProfileStore + RationStore, Q: EventQueue>(
    api: &Api<S, Q>,
    s: &SignedIn,
    change: ThresholdChange,
    version: u64,
) -> Result<Response, ApiError> {
    let job = stravasync_read::thresholds::change(&api.store, &s.profile, change.clone(), version).await?;
    take_threshold_change(api, s.athlete).await?;
    api.enqueue(&QueueMessage::for_job(&job, &format!("thresholds-{}-{version}", api.now()))).await?;
    tracing::info!(athlete_id = s.athlete, outcome = "thresholds_enqueued", "threshold change accepted");
    Ok(json_no_store(StatusCode::ACCEPTED, Accepted::new(change)))
}

/// One of the day's threshold changes, or `429` with when to come back.
async fn take_threshold_change<S: ProfileStore + RationStore, Q: EventQueue>(
    api: &Api<S, Q>,
    athlete: i64,
) -> Result<(), ApiError> {
    let limit = stravasync_read::thresholds::THRESHOLD_CHANGES_DAILY;
    match api.store.take_threshold_change(athlete, limit, api.now()).await {
        Ok(Ration::Granted { .. }) => Ok(()),
        Ok(Ration::Wait { retry_after_s, .. }) => Err(ApiError::too_many(
            format!("Thresholds may change {limit} times a day: each change rescores your history from its date."),
            retry_after_s,
        )),
        Ok(Ration::NotConnected) => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "not connected: connect again at /connect"))
        }
        Err(e) => Err(ApiError::unavailable("allowance", e)),
    }
}

/// `PUT /api/me/thresholds`: the single-value shorthand (`{"ftp": 280}`): the values hold
/// from the athlete's today (each group's entry in force that day with them replaced),
/// checked here against that day's entries.
async fn set_thresholds<S: ProfileStore + ReadStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    SignedInChange(s): SignedInChange,
    body: Bytes,
) -> Result<Response, ApiError> {
    let update: ThresholdsUpdate = parse_body(&body)?;
    update.validate()?;
    let (history, _) = stravasync_read::thresholds::current(&api.store, &s.profile).await?;
    // The athlete's today (their newest activity's time zone), the day their activities are filed under.
    let newest =
        api.store.activities_page(s.athlete, None, 1).await.map_err(|e| ApiError::unavailable("activities", e))?;
    let today = stravasync_read::insight::athlete_today(api.now(), newest.first().map(|a| &a.summary));
    let changes = history.shorthand_changes(&update, today)?;
    take_threshold_change(&api, s.athlete).await?;
    let job = Job::SetThresholds { athlete_id: s.athlete, thresholds: update, from: Some(today) };
    api.enqueue(&QueueMessage::for_job(&job, &format!("thresholds-{}", api.now()))).await?;
    tracing::info!(athlete_id = s.athlete, outcome = "thresholds_enqueued", "thresholds change accepted");
    Ok(json_no_store(StatusCode::ACCEPTED, Accepted::new(changes)))
}

/// `POST /api/backfill`: one import at a time per athlete, and at most the day's
/// allowance of activities (`BACKFILL_DAILY_LIMIT`); either refusal is a 429 with
/// `Retry-After`. Two requests that both found none running carry the same deduplication
/// id, so the queue keeps one of them; the consumer refuses a second start as well.
async fn backfill<S: ProfileStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    SignedInChange(s): SignedInChange,
    body: Bytes,
) -> Result<Response, ApiError> {
    let athlete = s.athlete;
    let request: BackfillRequest = parse_body(&body)?;
    let mut job = request.to_job(athlete, api.now())?;
    if let Some(running) = s.profile.backfill.as_ref().filter(|b| b.is_running(api.now())) {
        return Err(ApiError::too_many(
            format!(
                "A history import is already running ({} activities done so far): one runs at a time.",
                running.done
            ),
            BACKFILL_RUNNING_RETRY_S,
        ));
    }
    let limit = api.config.backfill_daily_limit;
    let granted = match api.store.take_backfill(athlete, request.count, limit, api.now()).await {
        Ok(Ration::Granted { activities }) => activities,
        Ok(Ration::Wait { retry_after_s, remaining }) => {
            return Err(ApiError::too_many(
                format!(
                    "History imports may bring {limit} activities a day; {remaining} remain today{}.",
                    if remaining > 0 { ": ask for fewer" } else { "" }
                ),
                retry_after_s,
            ));
        }
        Ok(Ration::NotConnected) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "not connected: connect again at /connect"));
        }
        Err(e) => return Err(ApiError::unavailable("allowance", e)),
    };
    // A range is capped at what remains of the day's allowance; what the import does not
    // bring is given back when it ends (the consumer).
    if let Job::Backfill { most_recent, .. } = &mut job
        && most_recent.is_none()
    {
        *most_recent = Some(granted);
    }
    let job = job.charged(granted);
    let mut message = QueueMessage::for_job(&job, "");
    let last = s.profile.backfill.as_ref().map_or(0, |b| b.requested_at);
    message.dedup_id = format!("backfill-{athlete}-after-{last}");
    api.enqueue(&message).await?;
    tracing::info!(athlete_id = athlete, activities = granted, outcome = "backfill_enqueued", "backfill requested");
    Ok(json_no_store(StatusCode::ACCEPTED, BackfillAccepted::new(granted)))
}

/// `POST /api/me/disconnect`: the athlete leaves. The consumer revokes the authorization
/// at Strava and deletes the tokens and every item of the athlete (a `disconnect` job in
/// the athlete's deauthorization group, so it never waits behind their events). This
/// waits for the deletion to finish and answers 200 (`"deleted"`), or 202 (`"deleting"`)
/// if it takes longer than the wait; either way every session of the athlete has ended
/// once the profile is gone, and this browser's cookie is cleared now.
async fn disconnect<S: ProfileStore + EraseStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    SignedInChange(s): SignedInChange,
) -> Result<Response, ApiError> {
    let athlete = s.athlete;
    let requested_at = api.now();
    let job = Job::Disconnect { athlete_id: athlete, requested_at, by: Requester::Athlete };
    let generation = s.profile.session_generation.unwrap_or_default();
    api.enqueue(&QueueMessage::for_job(&job, &format!("disconnect-{generation}"))).await?;
    tracing::info!(athlete_id = athlete, outcome = "disconnect_enqueued", "athlete asked to disconnect");
    let started = tokio::time::Instant::now();
    let deleted = loop {
        match api.store.athlete_has_items(athlete).await {
            Ok(false) => break true,
            Ok(true) if started.elapsed() >= DISCONNECT_WAIT => break false,
            Ok(true) => {}
            Err(e) => tracing::warn!(error = %e, "deletion progress unreadable"),
        }
        tokio::time::sleep(DISCONNECT_POLL).await;
    };
    let answer = Disconnection::new(deleted);
    tracing::info!(athlete_id = athlete, outcome = answer.status, "disconnect answered");
    let status = if deleted { StatusCode::OK } else { StatusCode::ACCEPTED };
    let mut response = json_no_store(status, answer);
    if let Some(clear) = api.clear_session_cookie() {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(response)
}

/// `GET /api/export`: one export per athlete per [`EXPORT_EVERY_S`] (429 with
/// `Retry-After` otherwise), then a 303 to a one-time link of the archive
/// (`{EXPORT_URL}/export?token=`, good for [`EXPORT_LINK_TTL_S`]); with `Accept:
/// application/json` (the dashboard's script), the link as `{"url": ...}` instead.
async fn export_link<S: ProfileStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    s: SignedIn,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let athlete = s.athlete;
    match api.store.take_export(athlete, api.now(), EXPORT_EVERY_S).await {
        Ok(Ration::Granted { .. }) => {}
        Ok(Ration::Wait { retry_after_s, .. }) => {
            return Err(ApiError::too_many(
                format!("One download every {} minutes.", EXPORT_EVERY_S / 60),
                retry_after_s,
            ));
        }
        Ok(Ration::NotConnected) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "not connected: connect again at /connect"));
        }
        Err(e) => return Err(ApiError::unavailable("allowance", e)),
    }
    let session = Session { athlete, generation: s.profile.session_generation.unwrap_or_default() };
    let token = signed::sign_export(api.session_key.expose().as_bytes(), session, api.now() + EXPORT_LINK_TTL_S);
    let location = format!("{}/export?token={token}", api.config.export_url);
    tracing::info!(athlete_id = athlete, outcome = "export_link", "export link issued");
    let wants_json =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return ok(ExportLink { url: location });
    }
    match HeaderValue::from_str(&location) {
        Ok(location) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response()),
        Err(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the export link could not be made")),
    }
}

/// `GET /export?token=`: the archive of the link's athlete, while the link is good and
/// the athlete still connected in the same generation.
pub(crate) async fn export_archive<S: ProfileStore + ReadStore + Clone + 'static, Q: EventQueue>(
    State(api): Shared<S, Q>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let token = q.get("token").map(String::as_str).unwrap_or_default();
    let session = signed::verify_export(api.session_key.expose().as_bytes(), token, api.now()).map_err(|e| {
        tracing::info!(reason = %e, outcome = "bad_export_link", "export refused");
        ApiError::new(StatusCode::UNAUTHORIZED, format!("this export link is not valid ({e}); ask for a new one"))
    })?;
    let profile = api
        .current(session)
        .await?
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, format!("export refused: {e}")))?;
    let athlete = session.athlete;
    let name = archive_name(athlete, api.today());
    tracing::info!(athlete_id = athlete, outcome = "export_started", "export started");
    let body = crate::export::archive(api.store.clone(), profile, api.now(), move |result| match result {
        Ok(s) => tracing::info!(
            athlete_id = athlete,
            activities = s.activities,
            streams = s.streams,
            pmc_days = s.pmc_days,
            bytes = s.bytes,
            outcome = "exported",
            "export complete"
        ),
        Err(e) => tracing::warn!(athlete_id = athlete, error = %e, outcome = "export_failed", "export cut short"),
    });
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
