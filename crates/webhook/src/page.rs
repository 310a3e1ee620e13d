//! The small HTML pages an athlete sees after connecting.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn body(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:4em auto\"><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape(title),
        m = escape(message)
    )
}

/// A page with `status`, never cached.
pub fn html(status: u16, title: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Html(body(title, message)))
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_names() {
        let p = super::body("Hi <b>", "x & y");
        assert!(p.contains("Hi &lt;b&gt;") && p.contains("x &amp; y"));
    }
}
