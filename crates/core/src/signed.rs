//! Values signed with HMAC-SHA256: the OAuth `state` (webhook crate) and the session
//! cookie that the OAuth callback sets and the read API checks.
//!
//! The session cookie is `v1.<athlete>.<expires_at>.<hmac>`: the athlete it names and
//! until when, signed with the stack's session key (a secret of its own, so that the read
//! API never holds the Strava client secret). It carries nothing else: thresholds, names
//! and scopes are read from the table per request.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::AthleteId;

type HmacSha256 = Hmac<Sha256>;

/// How long a session lasts: 30 days, then the athlete connects again (a click, no consent
/// screen: Strava remembers the grant).
pub const SESSION_TTL_S: i64 = 30 * 86_400;
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

fn mac(key: &[u8], message: &str) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    m.update(message.as_bytes());
    m
}

/// The HMAC-SHA256 of `message` under `key`, in hex.
pub fn sign_hex(key: &[u8], message: &str) -> String {
    hex::encode(mac(key, message).finalize().into_bytes())
}

/// Whether `signature` (hex) is `message`'s HMAC under `key`; compared in constant time.
pub fn verify_hex(key: &[u8], message: &str, signature: &str) -> bool {
    hex::decode(signature).is_ok_and(|sig| mac(key, message).verify_slice(&sig).is_ok())
}

/// The session cookie's value for `athlete`, good until `expires_at` (unix seconds).
pub fn sign_session(key: &[u8], athlete: AthleteId, expires_at: i64) -> String {
    let payload = format!("v1.{athlete}.{expires_at}");
    let signature = sign_hex(key, &payload);
    format!("{payload}.{signature}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the session cookie is malformed")]
    Malformed,
    #[error("the session cookie's signature is wrong")]
    BadSignature,
    #[error("the session has expired")]
    Expired,
}

/// The athlete a session cookie names, once its signature and expiry are checked.
pub fn verify_session(key: &[u8], value: &str, now: i64) -> Result<AthleteId, SessionError> {
    let (payload, signature) = value.rsplit_once('.').ok_or(SessionError::Malformed)?;
    let mut parts = payload.split('.');
    let (Some("v1"), Some(athlete), Some(expires_at), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SessionError::Malformed);
    };
    let athlete: AthleteId = athlete.parse().map_err(|_| SessionError::Malformed)?;
    let expires_at: i64 = expires_at.parse().map_err(|_| SessionError::Malformed)?;
    if !verify_hex(key, payload, signature) {
        return Err(SessionError::BadSignature);
    }
    if now >= expires_at || athlete <= 0 {
        return Err(SessionError::Expired);
    }
    Ok(athlete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_every_alteration_is_refused() {
        let key = b"session key";
        let cookie = sign_session(key, 42, 1_000);
        assert_eq!(verify_session(key, &cookie, 999), Ok(42));
        assert_eq!(verify_session(key, &cookie, 1_000), Err(SessionError::Expired));
        assert_eq!(verify_session(b"other key", &cookie, 0), Err(SessionError::BadSignature));
        // Another athlete, a later expiry: the signature no longer matches.
        assert_eq!(verify_session(key, &cookie.replacen(".42.", ".43.", 1), 0), Err(SessionError::BadSignature));
        assert_eq!(verify_session(key, &cookie.replacen(".1000.", ".9999.", 1), 0), Err(SessionError::BadSignature));
        for bad in ["", "v1", "v1.42.1000", "v2.42.1000.00", "v1.x.1000.00", "v1.42.y.00", "v1.42.1000.7.00"] {
            assert_eq!(verify_session(key, bad, 0), Err(SessionError::Malformed), "{bad}");
        }
        assert_eq!(verify_session(key, &format!("{cookie}zz"), 0), Err(SessionError::BadSignature));
    }
}
