//! The OAuth `state` parameter: `<expires_at>.<nonce>.<hmac>`, HMAC-SHA256 keyed with the
//! app's client secret. The nonce is also set as a cookie on `/connect` and must come back
//! with the callback (double submit), so a state lifted from one browser cannot complete a
//! login in another (CSRF).

use stravasync_core::secret::constant_time_eq;
use stravasync_core::signed::{sign_hex, verify_hex};

/// How long an athlete has to finish the consent on Strava.
pub const STATE_TTL_S: i64 = 600;
/// The nonce cookie over HTTPS: `__Host-` makes the browser refuse it unless it was set by
/// this very host, with `Secure`, `Path=/` and no `Domain` (no sibling subdomain can plant
/// one).
pub const NONCE_COOKIE: &str = "__Host-stravasync_oauth_nonce";
/// The nonce cookie over plain HTTP (local runs only): browsers refuse `__Host-` cookies
/// without `Secure`, so it has no prefix and is scoped to `/oauth`.
pub const NONCE_COOKIE_INSECURE: &str = "stravasync_oauth_nonce";

/// `(name, attributes)` of the nonce cookie on a site served over HTTPS or not.
pub fn nonce_cookie(secure: bool) -> (&'static str, &'static str) {
    if secure {
        (NONCE_COOKIE, "Path=/; HttpOnly; SameSite=Lax; Secure")
    } else {
        (NONCE_COOKIE_INSECURE, "Path=/oauth; HttpOnly; SameSite=Lax")
    }
}

/// A fresh nonce: 128 random bits from the operating system, in hex.
pub fn new_nonce() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

pub fn sign(key: &[u8], nonce: &str, expires_at: i64) -> String {
    let payload = format!("{expires_at}.{nonce}");
    let signature = sign_hex(key, &payload);
    format!("{payload}.{signature}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the state parameter is malformed")]
    Malformed,
    #[error("the state parameter's signature is wrong")]
    BadSignature,
    #[error("the sign-in link has expired")]
    Expired,
    #[error("the sign-in was started in another browser")]
    NonceMismatch,
}

/// Checks signature, expiry and that the nonce equals the cookie's.
pub fn verify(key: &[u8], state: &str, cookie_nonce: Option<&str>, now: i64) -> Result<(), StateError> {
    let mut parts = state.splitn(3, '.');
    let (Some(exp), Some(nonce), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StateError::Malformed);
    };
    let expires_at: i64 = exp.parse().map_err(|_| StateError::Malformed)?;
    if !verify_hex(key, &format!("{exp}.{nonce}"), sig) {
        return Err(StateError::BadSignature);
    }
    if now > expires_at {
        return Err(StateError::Expired);
    }
    match cookie_nonce {
        Some(c) if constant_time_eq(c.as_bytes(), nonce.as_bytes()) => Ok(()),
        _ => Err(StateError::NonceMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_failure() {
        let key = b"k";
        let nonce = new_nonce().unwrap();
        assert_ne!(nonce, new_nonce().unwrap());
        assert_eq!(nonce.len(), 32);
        let s = sign(key, &nonce, 1000);
        assert_eq!(verify(key, &s, Some(&nonce), 999), Ok(()));
        assert_eq!(verify(key, &s, Some(&nonce), 1001), Err(StateError::Expired));
        assert_eq!(verify(key, &s, Some("other"), 999), Err(StateError::NonceMismatch));
        assert_eq!(verify(key, &s, None, 999), Err(StateError::NonceMismatch));
        assert_eq!(verify(b"other key", &s, Some(&nonce), 999), Err(StateError::BadSignature));
        assert_eq!(verify(key, &s.replace("1000.", "9999."), Some(&nonce), 999), Err(StateError::BadSignature));
        assert_eq!(verify(key, "garbage", None, 0), Err(StateError::Malformed));
        assert_eq!(verify(key, &format!("{}zz", &s[..s.len() - 2]), Some(&nonce), 999), Err(StateError::BadSignature));
    }
}
