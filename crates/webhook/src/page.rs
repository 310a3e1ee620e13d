//! The small HTML pages an athlete sees around connecting (the OAuth callback's answers),
//! with the site's footer: the privacy notice and the support contact.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use stravasync_read::site::{PRODUCT_NAME, escape, footer};

fn body(title: &str, message: &str, support_email: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · {product}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:4em auto;padding:0 1em\">\
         <h1>{t}</h1><p id=\"message\">{m}</p><p><a href=\"/\">{product}</a></p>{footer}</body></html>",
        t = escape(title),
        m = escape(message),
        product = escape(PRODUCT_NAME),
        footer = footer(support_email, None),
    )
}

/// A page with `status`, never cached.
pub fn html(status: u16, title: &str, message: &str, support_email: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Html(body(title, message, support_email)))
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_names_and_links_privacy_and_support() {
        let p = super::body("Hi <b>", "x & y", "help@example.test");
        assert!(p.contains("Hi &lt;b&gt;") && p.contains("x &amp; y"));
        assert!(p.contains("href=\"/privacy\"") && p.contains("mailto:help@example.test"));
    }
}
