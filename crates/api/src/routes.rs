//! The JSON routes under `/api`, and `/export`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};
use stravasync_core::LocalDate;
use stravasync_core::codec::decode_chunks;
use stravasync_core::export::archive_name;
use stravasync_core::job::{Job, QueueMessage, Requester};
use stravasync_core::json::FieldError;
use stravasync_core::model::ThresholdsUpdate;
use stravasync_core::model::{ActivityId, ActivityState, AthleteId, AthleteProfile, StoredActivity};
use stravasync_core::ports::{ActivityStore, EventQueue, Ration, RationStore};
use stravasync_core::ration::EXPORT_EVERY_S;
use stravasync_core::signed::{self, EXPORT_LINK_TTL_S, Session};
use stravasync_core::site::strava_activity_url;
use stravasync_core::view::{self, ActivityCursor, ActivityRow, BackfillRequest, ChartStreams};

use crate::{Api, ApiError, SignedOut};

pub(crate) type Shared<S, Q> = State<Arc<Api<S, Q>>>;
pub(crate) type Params = Query<HashMap<String, String>>;

/// How long `POST /api/me/disconnect` waits for the consumer to finish the deletion
/// before it answers that it is under way (the function's timeout is 10 s).
const DISCONNECT_WAIT: Duration = Duration::from_secs(8);
const DISCONNECT_POLL: Duration = Duration::from_millis(200);
/// `Retry-After` of a backfill asked for while one runs: the dashboard shows progress meanwhile.
const BACKFILL_RUNNING_RETRY_S: i64 = 300;

pub(crate) fn bad_request(e: FieldError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
}

pub(crate) fn json_no_store(status: StatusCode, value: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(value)).into_response()
}

/// A list row with its "View on Strava" link.
fn row_json(a: &StoredActivity) -> Value {
    let mut row = serde_json::to_value(ActivityRow::of(a)).unwrap_or_default();
    row["strava_url"] = json!(strava_activity_url(a.activity_id));
    row
}

impl<S: ActivityStore, Q: EventQueue> Api<S, Q> {
    /// The session's athlete and their profile, or 401: a missing, forged or expired
    /// cookie, or one whose generation is not the athlete's current one (a disconnect,
    /// from this device or another, ended it).
    pub(crate) async fn signed_in(&self, cookies: &CookieJar) -> Result<(AthleteId, AthleteProfile), ApiError> {
        let refused = |e: SignedOut| {
            tracing::info!(reason = %e, outcome = "unauthenticated", "api request refused");
            ApiError::new(StatusCode::UNAUTHORIZED, format!("sign in at /connect ({e})"))
        };
        let session = self.cookie_session(cookies).map_err(|e| refused(e.into()))?;
        let profile = self.current(session).await?.map_err(refused)?;
        Ok((session.athlete, profile))
    }

    /// The session's athlete for a state-changing request: also a JSON body and, when the
    /// browser names one, this site's origin.
    async fn signed_in_change(
        &self,
        cookies: &CookieJar,
        headers: &HeaderMap,
    ) -> Result<(AthleteId, AthleteProfile), ApiError> {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let signed_in = self.signed_in(cookies).await?;
        if content_type.split(';').next().map(str::trim) != Some("application/json") {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"));
        }
        if let Some(origin) = headers.get(header::ORIGIN)
            && origin.as_bytes() != self.config.origin().as_bytes()
        {
            tracing::warn!(outcome = "cross_origin", "api change refused");
            return Err(ApiError::new(StatusCode::FORBIDDEN, "Origin is not this site"));
        }
        Ok(signed_in)
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

    pub(crate) fn today(&self) -> LocalDate {
        LocalDate::from_unix_seconds(self.now())
    }
}

/// `GET /api/me`.
pub(crate) async fn me<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
) -> Result<Response, ApiError> {
    let (athlete, p) = api.signed_in(&cookies).await?;
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
            "refresh": b.refresh,
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
            "limits": {
                "backfill_daily_activities": api.config.backfill_daily_limit,
                "export_every_s": EXPORT_EVERY_S,
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
    let (athlete, _) = api.signed_in(&cookies).await?;
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
    let (athlete, _) = api.signed_in(&cookies).await?;
    let (before, limit) = view::activity_page(q.get("before").map(String::as_str), q.get("limit").map(String::as_str))
        .map_err(bad_request)?;
    let page =
        api.store.activities_page(athlete, before, limit).await.map_err(|e| ApiError::unavailable("activities", e))?;
    let next = (page.len() == limit).then(|| page.last().map(|a| ActivityCursor::after(a).to_string())).flatten();
    let rows: Vec<Value> = page.iter().map(row_json).collect();
    Ok(json_no_store(StatusCode::OK, json!({ "activities": rows, "next": next })))
}

/// `GET /api/activities/{id}`.
pub(crate) async fn activity<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (athlete, _) = api.signed_in(&cookies).await?;
    let a = api.live_activity(athlete, &id).await?;
    Ok(json_no_store(
        StatusCode::OK,
        json!({
            "activity": row_json(&a),
            "summary": a.summary,
            "metrics": a.metrics,
            "has_streams": a.streams_ref().is_some(),
        }),
    ))
}

/// `GET /api/activities/{id}/streams?resolution`: charted from the stored samples in
/// one pass ([`ChartStreams::of`]), whatever span they claim.
pub(crate) async fn streams<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let (athlete, _) = api.signed_in(&cookies).await?;
    let resolution = view::resolution(q.get("resolution").map(String::as_str)).map_err(bad_request)?;
    let a = api.live_activity(athlete, &id).await?;
    let no_streams = || ApiError::new(StatusCode::NOT_FOUND, format!("activity {} has no streams", a.activity_id));
    let Some(set) = a.streams_ref() else {
        return Err(no_streams());
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
    drop(chunks);
    let chart = ChartStreams::of(&decoded, resolution).ok_or_else(no_streams)?;
    Ok(json_no_store(StatusCode::OK, serde_json::to_value(chart).unwrap_or_default()))
}

/// `PUT /api/me/thresholds`: validated here against the stored thresholds, then enqueued
/// for the consumer, which stores them and rescores (a change made while a rescore is
/// pending is absorbed by it: no second full pass).
pub(crate) async fn thresholds<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (athlete, profile) = api.signed_in_change(&cookies, &headers).await?;
    let update: ThresholdsUpdate = view::parse_body(&body).map_err(bad_request)?;
    let thresholds = update.apply(&profile.thresholds).map_err(bad_request)?;
    let job = Job::SetThresholds { athlete_id: athlete, thresholds: update };
    api.enqueue(&QueueMessage::for_job(&job, &format!("thresholds-{}", api.now()))).await?;
    tracing::info!(athlete_id = athlete, outcome = "thresholds_enqueued", "thresholds change accepted");
    Ok(json_no_store(StatusCode::ACCEPTED, json!({ "status": "accepted", "thresholds": thresholds })))
}

/// `POST /api/backfill`: one import at a time per athlete, and at most the day's
/// allowance of activities (`BACKFILL_DAILY_LIMIT`); either refusal is a 429 with
/// `Retry-After`. Two requests that both found none running carry the same deduplication
/// id, so the queue keeps one of them; the consumer refuses a second start as well.
pub(crate) async fn backfill<S: ActivityStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (athlete, profile) = api.signed_in_change(&cookies, &headers).await?;
    let request: BackfillRequest = view::parse_body(&body).map_err(bad_request)?;
    let mut job = request.to_job(athlete, api.now()).map_err(bad_request)?;
    if let Some(running) = profile.backfill.as_ref().filter(|b| b.is_running(api.now())) {
        return Err(ApiError::too_many(
            format!(
                "a history import is already running ({} activities done); one runs at a time, try again when it has finished",
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
                    "history imports may ask for {limit} activities a day; {remaining} remain today (try again after midnight UTC{})",
                    if remaining > 0 { ", or ask for fewer" } else { "" }
                ),
                retry_after_s,
            ));
        }
        Ok(Ration::NotConnected) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "not connected: connect again at /connect"));
        }
        Err(e) => return Err(ApiError::unavailable("allowance", e)),
    };
    // A range is capped at what remains of the day's allowance.
    if let Job::Backfill { most_recent, .. } = &mut job
        && most_recent.is_none()
    {
        *most_recent = Some(granted);
    }
    let mut message = QueueMessage::for_job(&job, "");
    let last = profile.backfill.as_ref().map_or(0, |b| b.requested_at);
    message.dedup_id = format!("backfill-{athlete}-after-{last}");
    api.enqueue(&message).await?;
    tracing::info!(athlete_id = athlete, activities = granted, outcome = "backfill_enqueued", "backfill requested");
    Ok(json_no_store(StatusCode::ACCEPTED, json!({ "status": "accepted", "activities": granted })))
}

/// `POST /api/me/disconnect`: the athlete leaves. The consumer revokes the authorization
/// at Strava and deletes the tokens and every item of the athlete (a `disconnect` job in
/// the athlete's deauthorization group, so it never waits behind their events). This
/// waits for the deletion to finish and answers 200 (`"deleted"`), or 202 (`"deleting"`)
/// if it takes longer than the wait; either way every session of the athlete has ended
/// once the profile is gone, and this browser's cookie is cleared now.
pub(crate) async fn disconnect<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (athlete, profile) = api.signed_in_change(&cookies, &headers).await?;
    let requested_at = api.now();
    let job = Job::Disconnect { athlete_id: athlete, requested_at, by: Requester::Athlete };
    let generation = profile.session_generation.unwrap_or_default();
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
    let (status, state) = if deleted { (StatusCode::OK, "deleted") } else { (StatusCode::ACCEPTED, "deleting") };
    tracing::info!(athlete_id = athlete, outcome = state, "disconnect answered");
    let mut response = json_no_store(
        status,
        json!({ "status": state, "next": if deleted { "/disconnected" } else { "/disconnected?pending=1" } }),
    );
    if let Some(clear) = api.clear_session_cookie() {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(response)
}

/// `GET /api/export`: one export per athlete per [`EXPORT_EVERY_S`] (429 with
/// `Retry-After` otherwise), then a 303 to a one-time link of the archive
/// (`{EXPORT_URL}/export?token=`, good for [`EXPORT_LINK_TTL_S`]); with `Accept:
/// application/json` (the dashboard's script), the link as `{"url": ...}` instead.
pub(crate) async fn export_link<S: ActivityStore + RationStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: CookieJar,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (athlete, profile) = api.signed_in(&cookies).await?;
    match api.store.take_export(athlete, api.now(), EXPORT_EVERY_S).await {
        Ok(Ration::Granted { .. }) => {}
        Ok(Ration::Wait { retry_after_s, .. }) => {
            return Err(ApiError::too_many(format!("one export every {} minutes", EXPORT_EVERY_S / 60), retry_after_s));
        }
        Ok(Ration::NotConnected) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "not connected: connect again at /connect"));
        }
        Err(e) => return Err(ApiError::unavailable("allowance", e)),
    }
    let session = Session { athlete, generation: profile.session_generation.unwrap_or_default() };
    let token = signed::sign_export(api.session_key.expose().as_bytes(), session, api.now() + EXPORT_LINK_TTL_S);
    let location = format!("{}/export?token={token}", api.config.export_url);
    tracing::info!(athlete_id = athlete, outcome = "export_link", "export link issued");
    let wants_json =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(json_no_store(StatusCode::OK, json!({ "url": location })));
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
pub(crate) async fn export_archive<S: ActivityStore + Clone + 'static, Q: EventQueue>(
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
