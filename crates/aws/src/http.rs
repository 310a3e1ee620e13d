//! The AWS SDK's HTTP client and configuration, without `aws-config` and without the
//! SDK's own HTTPS stack.
//!
//! - [`sdk_http_client`]: the SDK's requests go through a reqwest client on the process's
//!   one TLS configuration ([`stravasync_strava::tls`]), the same rustls configuration as
//!   the Strava client's. The SDK's bundled client (`aws-smithy-http-client`) builds its
//!   own rustls configuration from its own copy of the system store and accepts a custom
//!   one only behind an unstable cfg, so this module adapts reqwest to the SDK's
//!   `HttpClient` trait instead (requests and responses are small in-memory bodies here:
//!   DynamoDB, SQS, Secrets Manager and KMS JSON).
//! - [`sdk_config_from_env`]: the configuration a Lambda function needs, read from the
//!   variables Lambda sets: region, the execution role's credentials
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, which Lambda keeps
//!   valid for the execution environment; `aws-config`'s default chain takes the same
//!   variables first in a Lambda) and the optional `AWS_ENDPOINT_URL`. It links
//!   none of `aws-config`'s providers (STS, SSO, profiles, IMDS) that a function never
//!   uses. The operator CLI, which does need profiles, keeps `aws-config`.

use std::sync::LazyLock;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
use aws_types::sdk_config::SdkConfig;

/// The SDK's connect timeout when none is configured (as `aws-config`'s default).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The reqwest client behind every SDK call of the process, built on first use.
/// No automatic decompression: DynamoDB checksums the body as sent (`x-amz-crc32`).
static CLIENT: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    stravasync_strava::tls::http_client_builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .no_gzip()
        .build()
        .map_err(|e| e.to_string())
});

#[derive(Debug, Clone)]
struct ReqwestConnector {
    read_timeout: Option<Duration>,
}

fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

async fn send(request: HttpRequest, read_timeout: Option<Duration>) -> Result<HttpResponse, ConnectorError> {
    let client = CLIENT.as_ref().map_err(|e| ConnectorError::other(e.clone().into(), None))?;
    let request = request.try_into_http1x().map_err(|e| ConnectorError::other(e.into(), None))?;
    let (parts, body) = request.into_parts();
    // One copy of the body; what reqwest sends and what the meter reads share it.
    let request_body = bytes::Bytes::copy_from_slice(
        body.bytes().ok_or_else(|| ConnectorError::other("streaming request bodies are not supported".into(), None))?,
    );
    let metered = meter::enabled()
        .then(|| parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .flatten();
    let mut builder =
        client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(request_body.clone());
    if let Some(timeout) = read_timeout {
        builder = builder.timeout(timeout);
    }
    let response: http::Response<reqwest::Body> = builder.send().await.map_err(connector_error)?.into();
    let (parts, body) = response.into_parts();
    let status = StatusCode::try_from(parts.status.as_u16()).map_err(|e| ConnectorError::other(e.into(), None))?;
    // A streaming body, not bytes: the SDK logs responses at TRACE, and a streaming body
    // prints as `BoxBody`, never its content (secrets, data keys).
    let body = match metered {
        Some(target) => {
            use http_body_util::BodyExt;
            let bytes = body.collect().await.map_err(connector_error)?.to_bytes();
            meter::record(&target, &request_body, &bytes);
            SdkBody::from_body_1_x(http_body_util::Full::new(bytes))
        }
        None => SdkBody::from_body_1_x(body),
    };
    let mut out = HttpResponse::new(status, body);
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            out.headers_mut().append(name.as_str().to_owned(), value.to_owned());
        }
    }
    Ok(out)
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::new(send(request, self.read_timeout))
    }
}

#[derive(Debug, Clone)]
struct ReqwestHttpClient;

impl HttpClient for ReqwestHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(ReqwestConnector { read_timeout: settings.read_timeout() })
    }
}

/// The HTTP client every SDK client of the process uses (see the module's notes).
pub fn sdk_http_client() -> SharedHttpClient {
    SharedHttpClient::new(ReqwestHttpClient)
}

/// A request meter for measurements (`stravasync-dev cost`): off unless started, and then it
/// counts every SDK call of the process by service and operation, with its bytes and (for
/// DynamoDB) the capacity units it bills ([`crate::capacity`]). While on, response
/// bodies are read whole before the SDK parses them.
pub mod meter {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// What the calls of one operation (`service:Operation`) added up to.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Calls {
        pub requests: u64,
        pub request_bytes: u64,
        pub response_bytes: u64,
        pub write_units: f64,
        pub read_units: f64,
    }

    static ON: AtomicBool = AtomicBool::new(false);
    static CALLS: Mutex<BTreeMap<String, Calls>> = Mutex::new(BTreeMap::new());

    /// Clears the counts and starts counting.
    pub fn start() {
        CALLS.lock().unwrap_or_else(|p| p.into_inner()).clear();
        ON.store(true, Ordering::SeqCst);
    }

    /// Stops counting; the counts since [`start`].
    pub fn stop() -> BTreeMap<String, Calls> {
        ON.store(false, Ordering::SeqCst);
        std::mem::take(&mut *CALLS.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(super) fn enabled() -> bool {
        ON.load(Ordering::Relaxed)
    }

    /// `DynamoDB_20120810.PutItem` → `dynamodb:PutItem`, and so on for the JSON protocols.
    fn operation(target: &str) -> String {
        let (service, op) = target.split_once('.').unwrap_or(("?", target));
        let service = match service {
            s if s.starts_with("DynamoDB") => "dynamodb",
            "TrentService" => "kms",
            "AmazonSQS" => "sqs",
            s => s,
        };
        format!("{}:{op}", service.to_ascii_lowercase())
    }

    pub(super) fn record(target: &str, request: &[u8], response: &[u8]) {
        let name = operation(target);
        let (write_units, read_units) = match name.strip_prefix("dynamodb:") {
            Some(op) => {
                let parse = |b: &[u8]| serde_json::from_slice(b).unwrap_or_default();
                crate::capacity::units(op, &parse(request), &parse(response))
            }
            None => (0.0, 0.0),
        };
        let mut calls = CALLS.lock().unwrap_or_else(|p| p.into_inner());
        let c = calls.entry(name).or_default();
        c.requests += 1;
        c.request_bytes += request.len() as u64;
        c.response_bytes += response.len() as u64;
        c.write_units += write_units;
        c.read_units += read_units;
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn operations_are_named_by_service_and_call() {
            assert_eq!(super::operation("DynamoDB_20120810.BatchWriteItem"), "dynamodb:BatchWriteItem");
            assert_eq!(super::operation("TrentService.GenerateDataKey"), "kms:GenerateDataKey");
            assert_eq!(super::operation("secretsmanager.GetSecretValue"), "secretsmanager:GetSecretValue");
            assert_eq!(super::operation("AmazonSQS.SendMessage"), "sqs:SendMessage");
        }
    }
}

/// Why the Lambda environment does not give an SDK configuration.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingVariable(pub &'static str);

/// The SDK configuration from the Lambda environment (see the module's notes).
/// Never reads a file or the network.
pub fn sdk_config_from_env() -> Result<SdkConfig, MissingVariable> {
    sdk_config_from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// As [`sdk_config_from_env`], reading the variables through `get`.
pub fn sdk_config_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, MissingVariable> {
    let region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")).ok_or(MissingVariable("AWS_REGION"))?;
    let key = get("AWS_ACCESS_KEY_ID").ok_or(MissingVariable("AWS_ACCESS_KEY_ID"))?;
    let secret = get("AWS_SECRET_ACCESS_KEY").ok_or(MissingVariable("AWS_SECRET_ACCESS_KEY"))?;
    let credentials = Credentials::new(key, secret, get("AWS_SESSION_TOKEN"), None, "lambda-environment");
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(sdk_http_client())
        .retry_config(RetryConfig::standard())
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build())
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio sleep (rt-tokio)"))
        .time_source(aws_smithy_async::time::SystemTimeSource::new());
    if let Some(url) = get("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_config_comes_from_the_lambda_variables() {
        let sdk = sdk_config_from_lookup(lookup(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ("AWS_SESSION_TOKEN", "TOKEN"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert!(sdk.credentials_provider().is_some());
        assert!(sdk.http_client().is_some());
    }

    #[test]
    fn a_missing_variable_is_named_and_no_value_is_echoed() {
        let e =
            sdk_config_from_lookup(lookup(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "AKID")])).unwrap_err();
        assert_eq!(e.to_string(), "environment variable AWS_SECRET_ACCESS_KEY is not set");
        let e = sdk_config_from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(e.0, "AWS_REGION");
        let e = sdk_config_from_lookup(lookup(&[("AWS_DEFAULT_REGION", "eu-west-1")])).unwrap_err();
        assert_eq!(e.0, "AWS_ACCESS_KEY_ID");
    }
}
