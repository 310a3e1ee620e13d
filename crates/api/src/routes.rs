//! The JSON routes under `/api`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};
use stravasync_core::LocalDate;
use stravasync_core::codec::decode_chunks;
use stravasync_core::event::{Job, QueueMessage};
use stravasync_core::metrics::resample_1hz;
use stravasync_core::model::{ActivityId, ActivityState, AthleteId, AthleteProfile, ConnectionState, StoredActivity};
use stravasync_core::ports::{ActivityStore, EventQueue};
use stravasync_core::view::{self, ActivityCursor, ActivityRow, BackfillRequest, ChartStreams, ThresholdsUpdate};

use crate::{Api, ApiError};

type Shared<S, Q> = State<Arc<Api<S, Q>>>;
type Params = Query<HashMap<String, String>>;

fn bad_request(e: view::FieldError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
}

fn json_no_store(status: StatusCode, value: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(value)).into_response()
}

impl<S: ActivityStore, Q: EventQueue> Api<S, Q> {
    /// The session's athlete, or 401.
    fn signed_in(&self, cookies: &CookieJar) -> Result<AthleteId, ApiError> {
        self.athlete(cookies).map_err(|e| {
            tracing::info!(reason = %e, outcome = "unauthenticated", "api request refused");
            ApiError::new(StatusCode::UNAUTHORIZED, format!("sign in at /connect ({e})"))
        })
    }

    /// The session's athlete for a state-changing request: also a JSON body and, when the
    /// browser names one, this site's origin.
    fn signed_in_change(&self, cookies: &CookieJar, headers: &HeaderMap) -> Result<AthleteId, ApiError> {
        let athlete = self.signed_in(cookies)?;
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if content_type.split(';').next().map(str::trim) != Some("application/json") {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"));
        }
        if let Some(origin) = headers.get(header::ORIGIN)
            && origin.as_bytes() != self.config.origin().as_bytes()
        {
            tracing::warn!(outcome = "cross_origin", "api change refused");
            return Err(ApiError::new(StatusCode::FORBIDDEN, "Origin is not this site"));
        }
        Ok(athlete)
    }

    /// The connected athlete's profile; 401 when they are not (or no longer) connected.
    async fn profile(&self, athlete: AthleteId) -> Result<AthleteProfile, ApiError> {
        match self.store.get_profile(athlete).await.map_err(|e| ApiError::unavailable("profile", e))? {
            Some(p) if p.state == ConnectionState::Connected => Ok(p),
            _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "not connected: connect again at /connect")),
        }
    }

    /// A live activity of the athlete; 404 for any other id (another athlete's included).
    async fn live_activity(&self, athlete: AthleteId, id: &str) -> Result<StoredActivity, ApiError> {
        let id: ActivityId = id
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, format!("id: {id:?} is not an activity id")))?;
        match self.store.get_activity(athlete, id).await.map_err(|e| ApiError::unavailable("activity", e))? {
            Some(ActivityState::Live(a)) => Ok(*a),
            _ => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no activity {id}"))),
        }
    }

    async fn enqueue(&self, message: &QueueMessage) -> Result<(), ApiError> {
        self.queue.enqueue(message).await.map_err(|e| {
            tracing::error!(error = %e, "enqueue failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue unavailable, retry")
        })
    }

    fn today(&self) -> LocalDate {
        LocalDate::from_unix_seconds(self.now())
    }
}

/// `GET /api/me`.
pub(crate) async fn me<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
) -> Result<Response, ApiError> {
    let athlete = api.signed_in(&cookies)?;
    let p = api.profile(athlete).await?;
    let counts = api.store.activity_counts(athlete).await.map_err(|e| ApiError::unavailable("activities", e))?;
    let now = api.now();
    let backfill = p.backfill.as_ref().map(|b| {
        json!({
            "requested_at": b.requested_at,
            "updated_at": b.updated_at,
            "most_recent": b.most_recent,
            "after": b.after,
            "before": b.before,
            "done": b.done,
            "finished_at": b.finished_at,
            "running": b.is_running(now),
        })
    });
    Ok(json_no_store(
        StatusCode::OK,
        json!({
            "athlete_id": p.athlete_id,
            "firstname": p.firstname,
            "lastname": p.lastname,
            "scopes": p.scopes,
            "thresholds": p.thresholds,
            "pmc_constants": p.pmc,
            "sync": {
                "activities_stored": counts.stored,
                "pending_streams": counts.pending_streams,
                "last_event_at": p.last_event_at,
                "last_sync": p.last_sync,
                "backfill": backfill,
                "rescore_pending": p.rescored_version < p.thresholds_version,
            },
        }),
    ))
}

/// `GET /api/pmc?from&to`.
pub(crate) async fn pmc<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let athlete = api.signed_in(&cookies)?;
    let (from, to) = view::pmc_range(q.get("from").map(String::as_str), q.get("to").map(String::as_str), api.today())
        .map_err(bad_request)?;
    let rows = api.store.pmc_rows(athlete, from, to).await.map_err(|e| ApiError::unavailable("pmc", e))?;
    Ok(json_no_store(StatusCode::OK, json!({ "from": from, "to": to, "rows": rows })))
}

/// `GET /api/activities?before&limit`.
pub(crate) async fn activities<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let athlete = api.signed_in(&cookies)?;
    let (before, limit) = view::activity_page(q.get("before").map(String::as_str), q.get("limit").map(String::as_str))
        .map_err(bad_request)?;
    let page =
        api.store.activities_page(athlete, before, limit).await.map_err(|e| ApiError::unavailable("activities", e))?;
    let next = (page.len() == limit).then(|| page.last().map(|a| ActivityCursor::after(a).to_string())).flatten();
    let rows: Vec<ActivityRow> = page.iter().map(ActivityRow::of).collect();
    Ok(json_no_store(StatusCode::OK, json!({ "activities": rows, "next": next })))
}

/// `GET /api/activities/{id}`.
pub(crate) async fn activity<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let athlete = api.signed_in(&cookies)?;
    let a = api.live_activity(athlete, &id).await?;
    Ok(json_no_store(
        StatusCode::OK,
        json!({
            "activity": ActivityRow::of(&a),
            "summary": a.summary,
            "metrics": a.metrics,
            "has_streams": a.streams_ref().is_some(),
        }),
    ))
}

/// `GET /api/activities/{id}/streams?resolution`.
pub(crate) async fn streams<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let athlete = api.signed_in(&cookies)?;
    let resolution = view::resolution(q.get("resolution").map(String::as_str)).map_err(bad_request)?;
    let a = api.live_activity(athlete, &id).await?;
    let Some(set) = a.streams_ref() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("activity {} has no streams", a.activity_id)));
    };
    let chunks = api
        .store
        .get_stream_chunks(athlete, a.activity_id, set)
        .await
        .map_err(|e| ApiError::unavailable("streams", e))?;
    let decoded = decode_chunks(&chunks).map_err(|e| {
        tracing::error!(activity_id = a.activity_id, error = %e, "stored streams do not decode");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the stored streams of this activity are damaged")
    })?;
    let chart = ChartStreams::of(&resample_1hz(&decoded), resolution);
    Ok(json_no_store(StatusCode::OK, serde_json::to_value(chart).unwrap_or_default()))
}

/// `PUT /api/me/thresholds`: validated here against the stored thresholds, then enqueued
/// for the consumer, which stores them and rescores.
pub(crate) async fn thresholds<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let athlete = api.signed_in_change(&cookies, &headers)?;
    let update: ThresholdsUpdate = view::parse_body(&body).map_err(bad_request)?;
    let profile = api.profile(athlete).await?;
    let thresholds = update.apply(&profile.thresholds).map_err(bad_request)?;
    let job = Job::SetThresholds { athlete_id: athlete, thresholds: update };
    api.enqueue(&QueueMessage::for_job(&job, &format!("thresholds-{}", api.now()))).await?;
    tracing::info!(athlete_id = athlete, outcome = "thresholds_enqueued", "thresholds change accepted");
    Ok(json_no_store(StatusCode::ACCEPTED, json!({ "status": "accepted", "thresholds": thresholds })))
}

/// `POST /api/backfill`: one import at a time per athlete. While one runs: 409. Two
/// requests that both found none running carry the same deduplication id, so the queue
/// keeps one of them; the consumer refuses a second start as well.
pub(crate) async fn backfill<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let athlete = api.signed_in_change(&cookies, &headers)?;
    let request: BackfillRequest = view::parse_body(&body).map_err(bad_request)?;
    let job = request.to_job(athlete, api.now()).map_err(bad_request)?;
    let profile = api.profile(athlete).await?;
    if let Some(running) = profile.backfill.as_ref().filter(|b| b.is_running(api.now())) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("a backfill is already running ({} activities done); try again when it has finished", running.done),
        ));
    }
    let mut message = QueueMessage::for_job(&job, "");
    let last = profile.backfill.as_ref().map_or(0, |b| b.requested_at);
    message.dedup_id = format!("backfill-{athlete}-after-{last}");
    api.enqueue(&message).await?;
    tracing::info!(athlete_id = athlete, outcome = "backfill_enqueued", "backfill requested");
    Ok(json_no_store(StatusCode::ACCEPTED, json!({ "status": "accepted" })))
}
