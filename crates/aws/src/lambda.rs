//! The request loop of the HTTP functions (webhook, api, export).

use std::future::Future;

use axum::Router;
use axum::response::Response;
use lambda_http::{Error, Request};
use tokio::sync::OnceCell;
use tower::ServiceExt;

/// A function's routes, built at the first request instead of at init.
///
/// Init reads only the environment, so a wrong variable fails it and names the variable;
/// what the routes fetch from AWS (the app credentials, the session key) is fetched at
/// the first request, and again at the next one if that fetch failed, instead of failing
/// every cold start while a secret is briefly unreadable.
///
/// ```ignore
/// let routes = LazyRouter::new(|| async { AwsApi::build(&sdk, config.clone()).await.map(|a| router(Arc::new(a))) });
/// lambda_http::run(lambda_http::service_fn(|request| routes.call(request))).await
/// ```
pub struct LazyRouter<F> {
    routes: OnceCell<Router>,
    build: F,
}

impl<F, Fut, E> LazyRouter<F>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Router, E>>,
    E: Into<Error>,
{
    pub fn new(build: F) -> Self {
        LazyRouter { routes: OnceCell::new(), build }
    }

    /// Routes one request, building the routes first if no build has succeeded yet.
    pub async fn call(&self, request: Request) -> Result<Response, Error> {
        let routes = self.routes.get_or_try_init(|| async { (self.build)().await.map_err(Into::into) }).await?;
        Ok(routes.clone().oneshot(request).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::get;

    use super::*;

    #[tokio::test]
    async fn a_failed_build_is_tried_again_at_the_next_request_and_a_good_one_kept() {
        let builds = AtomicUsize::new(0);
        let routes = LazyRouter::new(|| async {
            match builds.fetch_add(1, Ordering::SeqCst) {
                0 => Err("the session key is unreadable"),
                _ => Ok(Router::new().route("/", get(|| async { "ok" }))),
            }
        });
        let request = || Request::new(lambda_http::Body::Empty);
        let e = routes.call(request()).await.unwrap_err();
        assert_eq!(e.to_string(), "the session key is unreadable");
        for _ in 0..3 {
            let response = routes.call(request()).await.expect("built on the second request");
            assert_eq!(response.status(), 200);
        }
        assert_eq!(builds.load(Ordering::SeqCst), 2, "built once more, then kept");
    }
}
