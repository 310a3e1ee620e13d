//! What every page of the site says about itself: its name, where its privacy notice is,
//! whom to write to. The read API's pages and the webhook's OAuth pages share it.
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
pub fn strava_activity_url(activity: crate::model::ActivityId) -> String {
    format!("https://www.strava.com/activities/{activity}")
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

/// Whether `value` looks like an e-mail address (the template checks the same pattern).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | ','))
        && !domain.contains('@')
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

    #[test]
    fn email_addresses() {
        for ok in ["a@b.co", "support+strava@club.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "@b.co", "a@.co", "a b@c.de", "a@b.co,c@d.de", "a@b@c.de", "<a@b.co>"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
