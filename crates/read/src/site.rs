//! What every page of the site says about itself: its name, where its privacy notice is,
//! whom to write to, and its session cookie (set by the webhook's OAuth callback, read by
//! the read API). The read API's pages and the webhook's OAuth pages share it.
//!
//! Strava's brand guidelines: the product has a name of its own (Strava's name and logo
//! appear only in "Connect with Strava", "Powered by Strava" and "View on Strava"), every
//! page that shows Strava data says "Powered by Strava", and every activity links back to
//! Strava.

/// The product's name on its pages (never Strava's).
pub const PRODUCT_NAME: &str = "Training Load";

/// Where the privacy notice is served.
pub const PRIVACY_PATH: &str = "/privacy";

/// Strava's page of an activity ("View on Strava").
pub fn strava_activity_url(activity: stravasync_core::model::ActivityId) -> String {
    format!("https://www.strava.com/activities/{activity}")
}

/// The session cookie over HTTPS. `__Host-`: the browser keeps it only if it was set by
/// this very host, with `Secure`, `Path=/` and no `Domain`.
pub const SESSION_COOKIE: &str = "__Host-stravasync_session";
/// The session cookie over plain HTTP (local runs only: browsers refuse `__Host-` without
/// `Secure`).
pub const SESSION_COOKIE_INSECURE: &str = "stravasync_session";

/// `(name, attributes)` of the session cookie on a site served over HTTPS or not.
pub fn session_cookie(secure: bool) -> (&'static str, &'static str) {
    if secure {
        (SESSION_COOKIE, "Path=/; HttpOnly; SameSite=Lax; Secure")
    } else {
        (SESSION_COOKIE_INSECURE, "Path=/; HttpOnly; SameSite=Lax")
    }
}

/// HTML-escapes text for an element or a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The footer of every page: the privacy notice and the support contact, and, on pages
/// that show Strava data, `attribution` ("Powered by Strava": the official logo when the
/// operator installed it, the words otherwise).
pub fn footer(support_email: &str, attribution: Option<&str>) -> String {
    let email = escape(support_email);
    let powered = attribution.map_or(String::new(), |a| format!("<span class=\"powered\">{a}</span> · "));
    format!(
        "<footer class=\"site\">{powered}<a href=\"{PRIVACY_PATH}\">Privacy</a> · Support: \
         <a class=\"support\" href=\"mailto:{email}\">{email}</a></footer>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footers_link_privacy_and_support_and_attribute_when_asked() {
        let f = footer("help@example.org", Some("Powered by Strava"));
        assert!(
            f.contains("href=\"/privacy\"") && f.contains("mailto:help@example.org") && f.contains("Powered by Strava")
        );
        assert!(!footer("help@example.org", None).contains("Strava"));
        assert!(footer("a<b@example.org", None).contains("a&lt;b"));
        assert!(!PRODUCT_NAME.to_lowercase().contains("strava"));
    }
}
