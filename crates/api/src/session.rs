//! The session as a handler parameter: [`SignedIn`] on every private route,
//! [`SignedInChange`] on every state-changing one, so a handler cannot forget the check.
//! The route table ([`crate::routes::ROUTES`]) also puts the same check in front of each
//! route by its access ([`require`]), so a route's access is stated once and enforced
//! whatever its handler takes.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use stravasync_core::model::{AthleteId, AthleteProfile};
use stravasync_core::ports::{EventQueue, ProfileStore};

use crate::{Api, ApiError, SignedOut};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the pages that work signed out, static assets, and the export link (which
    /// carries its own signed token).
    Public,
    /// The athlete of a valid session of their current connection ([`SignedIn`]).
    Private,
    /// As `Private`, for a request that changes state: a JSON body from this site's own
    /// pages ([`SignedInChange`]).
    Change,
}

/// The athlete of a valid session of their current connection, and their profile as read
/// for this request: a missing, forged or expired cookie, or one whose generation is not
/// the athlete's current one (a disconnect, from this device or another, ended it), is a
/// 401 before the handler runs.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub athlete: AthleteId,
    pub profile: AthleteProfile,
}

/// [`SignedIn`] for a state-changing request: also a JSON body (415 otherwise: a
/// cross-site form cannot send one without a preflight this API never grants) and, when
/// the browser names one, this site's origin (403 otherwise).
#[derive(Debug, Clone)]
pub struct SignedInChange(pub SignedIn);

impl<S: ProfileStore, Q: EventQueue> Api<S, Q> {
    /// The session's athlete and their profile, or 401.
    pub(crate) async fn signed_in(&self, cookies: &CookieJar) -> Result<SignedIn, ApiError> {
        let refused = |e: SignedOut| {
            tracing::info!(reason = %e, outcome = "unauthenticated", "api request refused");
            let reason = match e {
                SignedOut::Cookie(stravasync_core::signed::SessionError::Malformed) => "You are signed out".to_string(),
                e => format!("You are signed out ({e})"),
            };
            ApiError::new(StatusCode::UNAUTHORIZED, format!("{reason}: sign in with Strava again at /connect."))
        };
        let session = self.cookie_session(cookies).map_err(|e| refused(e.into()))?;
        let profile = self.current(session).await?.map_err(refused)?;
        Ok(SignedIn { athlete: session.athlete, profile })
    }

    /// As [`Api::signed_in`], and the request is one a page of this site may send.
    pub(crate) async fn signed_in_change(
        &self,
        cookies: &CookieJar,
        headers: &HeaderMap,
    ) -> Result<SignedInChange, ApiError> {
        let signed_in = self.signed_in(cookies).await?;
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
        Ok(SignedInChange(signed_in))
    }
}

impl<S, Q> FromRequestParts<Arc<Api<S, Q>>> for SignedIn
where
    S: ProfileStore,
    Q: EventQueue,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api<S, Q>>) -> Result<Self, ApiError> {
        if let Some(checked) = parts.extensions.get::<SignedIn>() {
            return Ok(checked.clone());
        }
        api.signed_in(&CookieJar::from_headers(&parts.headers)).await
    }
}

impl<S, Q> FromRequestParts<Arc<Api<S, Q>>> for SignedInChange
where
    S: ProfileStore,
    Q: EventQueue,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api<S, Q>>) -> Result<Self, ApiError> {
        if let Some(checked) = parts.extensions.get::<SignedInChange>() {
            return Ok(checked.clone());
        }
        api.signed_in_change(&CookieJar::from_headers(&parts.headers), &parts.headers).await
    }
}

/// The check a route's access asks for, in front of its handler: the session (and for a
/// change, the request's kind and origin) is checked once and handed to the handler's
/// extractor through the request's extensions.
pub(crate) async fn require<S, Q>(
    State((api, access)): State<(Arc<Api<S, Q>>, Access)>,
    mut request: Request,
    next: Next,
) -> Response
where
    S: ProfileStore,
    Q: EventQueue,
{
    let cookies = CookieJar::from_headers(request.headers());
    let checked = match access {
        Access::Public => Ok(()),
        Access::Private => api.signed_in(&cookies).await.map(|s| {
            request.extensions_mut().insert(s);
        }),
        Access::Change => api.signed_in_change(&cookies, request.headers()).await.map(|s| {
            request.extensions_mut().insert(s.0.clone());
            request.extensions_mut().insert(s);
        }),
    };
    match checked {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}
