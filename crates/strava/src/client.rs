//! The HTTP side: one reqwest client per process, response classification, and the
//! calls made with app credentials only.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use stravasync_core::Secret;
use stravasync_core::json::parse_json_with_path;

use crate::config::StravaConfig;
use crate::error::StravaError;
use crate::rate::RateUsage;
use crate::types::{PushSubscription, Response, TokenGrant};

/// Strava's client: connection pool, URLs and app credentials. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StravaClient {
    http: reqwest::Client,
    config: StravaConfig,
}

/// A successful HTTP exchange before parsing.
pub(crate) struct RawResponse {
    pub body: Vec<u8>,
    pub usage: Option<RateUsage>,
}

/// Reads Strava's error message (`{"message": ..., "errors": [...]}`) for a non-token
/// endpoint, clipped; token endpoints never echo a body.
/// The scope a 403 body says is missing: Strava names it in `errors[].field` with code
/// `missing` (`profile:read_all`, or `activity:read_permission` for `activity:read`).
fn missing_scope(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        field: Option<String>,
        code: Option<String>,
    }
    let body: Body = serde_json::from_slice(body).ok()?;
    body.errors.into_iter().find_map(|e| {
        let field = e.field.filter(|_| e.code.as_deref() == Some("missing"))?;
        let scope = field.strip_suffix("_permission").unwrap_or(&field);
        stravasync_core::model::STRAVA_SCOPES.contains(&scope).then(|| scope.to_string())
    })
}

/// The `message` of Strava's error body (its `Fault`), if it has one.
fn fault_message(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Fault {
        message: Option<String>,
    }
    serde_json::from_slice::<Fault>(body).ok().and_then(|f| f.message)
}

/// Strava's answer to a token exchange past the application's athlete capacity: a 403
/// whose message is "Limit of connected athletes exceeded".
fn athlete_capacity_reached(body: &[u8]) -> bool {
    fault_message(body).is_some_and(|m| m.to_ascii_lowercase().contains("limit of connected athletes"))
}

fn error_message(body: &[u8], sensitive: bool) -> String {
    if sensitive {
        return "(body withheld)".to_string();
    }
    fault_message(body).unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}

/// `StravaRequests` by endpoint template and status (0: no answer), and `StravaRateLimited`
/// for a 429 (`stravasync_core::telemetry`).
fn count_request(endpoint: &str, status: u16) {
    use stravasync_core::telemetry::{STRAVA_RATE_LIMITED, STRAVA_REQUESTS};
    metrics::counter!(STRAVA_REQUESTS, "Endpoint" => endpoint_template(endpoint), "Status" => status.to_string())
        .increment(1);
    if status == 429 {
        metrics::counter!(STRAVA_RATE_LIMITED).increment(1);
    }
}

/// An endpoint as a metric dimension: ids (numeric path segments) as `{id}`, no query
/// string, so that its values are the few operations the client calls.
pub fn endpoint_template(endpoint: &str) -> String {
    let path = endpoint.split('?').next().unwrap_or_default();
    path.split('/')
        .map(
            |segment| if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { segment },
        )
        .collect::<Vec<_>>()
        .join("/")
}

impl StravaClient {
    pub fn new(config: StravaConfig) -> Result<Self, StravaError> {
        let http = crate::tls::http_client_builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("stravasync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StravaError::Retryable { endpoint: "client".into(), reason: e.without_url().to_string() })?;
        Ok(StravaClient { http, config })
    }

    pub fn config(&self) -> &StravaConfig {
        &self.config
    }

    pub fn now(&self) -> i64 {
        (self.config.clock)()
    }

    /// The page an athlete is sent to for consent. `scope` is Strava's comma-separated
    /// list, e.g. `read,activity:read_all`.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, scope: &str) -> String {
        let base = format!("{}/authorize", self.config.oauth_url);
        reqwest::Url::parse_with_params(
            &base,
            [
                ("client_id", self.config.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("approval_prompt", "auto"),
                ("scope", scope),
                ("state", state),
            ],
        )
        .map(String::from)
        .unwrap_or(base)
    }

    /// Sends a request and classifies the answer; 2xx bodies come back unparsed.
    pub(crate) async fn send(
        &self,
        endpoint: &str,
        request: RequestBuilder,
        sensitive: bool,
    ) -> Result<RawResponse, StravaError> {
        let response = request.send().await.map_err(|e| {
            count_request(endpoint, 0);
            StravaError::Retryable { endpoint: endpoint.to_string(), reason: e.without_url().to_string() }
        })?;
        let status = response.status();
        count_request(endpoint, status.as_u16());
        let usage = RateUsage::from_headers(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| StravaError::Retryable {
                endpoint: endpoint.to_string(),
                reason: e.without_url().to_string(),
            })?
            .to_vec();
        let endpoint = endpoint.to_string();
        tracing::debug!(endpoint, status = status.as_u16(), ?usage, "strava response");
        match status {
            s if s.is_success() => {
                // A success that spent the last request of a window is still a success; the
                // caller sees the usage and defers the next call.
                Ok(RawResponse { body, usage })
            }
            StatusCode::TOO_MANY_REQUESTS => Err(StravaError::RateLimited {
                endpoint,
                resets_at: RateUsage::retry_after_429(usage.as_ref(), self.now()),
                usage,
            }),
            StatusCode::UNAUTHORIZED => Err(StravaError::Unauthorized { endpoint }),
            StatusCode::NOT_FOUND => Err(StravaError::NotFound { endpoint }),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(StravaError::Retryable { endpoint, reason: format!("HTTP {}", s.as_u16()) })
            }
            StatusCode::FORBIDDEN if let Some(scope) = missing_scope(&body) => {
                Err(StravaError::MissingScope { endpoint, scope })
            }
            StatusCode::FORBIDDEN if athlete_capacity_reached(&body) => Err(StravaError::AthleteCapacity { endpoint }),
            s => Err(StravaError::Rejected { endpoint, status: s.as_u16(), message: error_message(&body, sensitive) }),
        }
    }

    pub(crate) fn parse<T: DeserializeOwned>(
        endpoint: &str,
        raw: RawResponse,
        sensitive: bool,
    ) -> Result<Response<T>, StravaError> {
        let value = parse_json_with_path(&raw.body).map_err(|e| StravaError::Invalid {
            endpoint: endpoint.to_string(),
            path: e.path,
            // serde's message can quote the offending value: withhold it on token endpoints.
            message: if sensitive { "unexpected shape".to_string() } else { e.message },
        })?;
        Ok(Response { value, usage: raw.usage })
    }

    pub(crate) fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.config.api_url))
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenGrant, StravaError> {
        let endpoint = "POST /oauth/token";
        let request = self.http.post(format!("{}/token", self.config.oauth_url)).form(form);
        let raw = self.send(endpoint, request, true).await.map_err(|e| match e {
            // A refused code or refresh token is a 400 on Strava; both mean "re-authorize".
            StravaError::Rejected { status: 400, endpoint, .. } => StravaError::Unauthorized { endpoint },
            // A 401 here refuses the app's own credentials, not the athlete's grant: nothing
            // the athlete did, so not a revocation. Retried (and alarmed, if it persists).
            StravaError::Unauthorized { endpoint } => {
                StravaError::Retryable { endpoint, reason: "app credentials refused (HTTP 401)".into() }
            }
            other => other,
        })?;
        Ok(Self::parse::<TokenGrant>(endpoint, raw, true)?.value)
    }

    /// Exchanges an authorization code (OAuth callback) for the athlete's first tokens.
    pub async fn exchange_code(&self, code: &str) -> Result<TokenGrant, StravaError> {
        self.token_request(&[
            ("client_id", &self.config.client_id),
            ("client_secret", self.config.client_secret.expose()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ])
        .await
    }

    /// Trades a refresh token for new tokens. Strava rotates refresh tokens: the caller
    /// must store the returned one before using the new access token.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenGrant, StravaError> {
        self.token_request(&[
            ("client_id", &self.config.client_id),
            ("client_secret", self.config.client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
            ("grant_type", "refresh_token"),
        ])
        .await
    }

    /// Revokes the app's access for the athlete owning `access_token`.
    pub async fn deauthorize(&self, access_token: &Secret) -> Result<(), StravaError> {
        let request = self
            .http
            .post(format!("{}/deauthorize", self.config.oauth_url))
            .form(&[("access_token", access_token.expose())]);
        self.send("POST /oauth/deauthorize", request, true).await.map(|_| ())
    }

    fn app_credentials(&self) -> [(&str, &str); 2] {
        [("client_id", self.config.client_id.as_str()), ("client_secret", self.config.client_secret.expose())]
    }

    /// Creates the app's push subscription. Strava calls `callback_url` with a GET
    /// challenge carrying `verify_token` before it answers.
    pub async fn create_subscription(
        &self,
        callback_url: &str,
        verify_token: &Secret,
    ) -> Result<PushSubscription, StravaError> {
        let endpoint = "POST /push_subscriptions";
        let mut form = self.app_credentials().to_vec();
        form.push(("callback_url", callback_url));
        form.push(("verify_token", verify_token.expose()));
        let raw = self.send(endpoint, self.api(Method::POST, "/push_subscriptions").form(&form), true).await?;
        Ok(Self::parse(endpoint, raw, false)?.value)
    }

    pub async fn list_subscriptions(&self) -> Result<Vec<PushSubscription>, StravaError> {
        let endpoint = "GET /push_subscriptions";
        let request = self.api(Method::GET, "/push_subscriptions").query(&self.app_credentials());
        let raw = self.send(endpoint, request, true).await?;
        Ok(Self::parse(endpoint, raw, false)?.value)
    }

    pub async fn delete_subscription(&self, id: i64) -> Result<(), StravaError> {
        let endpoint = format!("DELETE /push_subscriptions/{id}");
        let request = self.api(Method::DELETE, &format!("/push_subscriptions/{id}")).query(&self.app_credentials());
        self.send(&endpoint, request, true).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint_template;

    #[test]
    fn endpoint_templates_have_no_ids_and_no_query() {
        assert_eq!(endpoint_template("GET /activities/17000000101/streams"), "GET /activities/{id}/streams");
        assert_eq!(endpoint_template("GET /athlete/activities?page=3"), "GET /athlete/activities");
        assert_eq!(endpoint_template("DELETE /push_subscriptions/120475"), "DELETE /push_subscriptions/{id}");
        assert_eq!(endpoint_template("POST /oauth/token"), "POST /oauth/token");
    }
}
