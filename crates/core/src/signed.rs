//! Values signed with HMAC-SHA256: the OAuth `state` (webhook crate), the session cookie
//! that the OAuth callback sets and the read API checks, and the export link.
//!
//! The session cookie is `v2.<athlete>.<generation>.<expires_at>.<hmac>`: the athlete it
//! names, the generation of their connection it belongs to, and until when, signed with
//! the stack's session key (a secret of its own, so that the read API never holds the
//! Strava client secret). It carries nothing else: thresholds, names and scopes are read
//! from the table per request, and so is the generation it must match, so that deleting
//! the athlete ends every session at once.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::AthleteId;

type HmacSha256 = Hmac<Sha256>;

/// How long a session lasts: 30 days, then the athlete connects again (a click, no consent
/// screen: Strava remembers the grant).
pub const SESSION_TTL_S: i64 = 30 * 86_400;
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

/// A signed value's payload fields after its tag, checked: `<tag>.<athlete>.<generation>.<expires_at>`.
fn verify_tagged(key: &[u8], tag: &str, value: &str, now: i64) -> Result<Session, SessionError> {
    let (payload, signature) = value.rsplit_once('.').ok_or(SessionError::Malformed)?;
    let mut parts = payload.split('.');
    let (Some(found), Some(athlete), Some(generation), Some(expires_at), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SessionError::Malformed);
    };
    if found != tag {
        return Err(SessionError::Malformed);
    }
    let athlete: AthleteId = athlete.parse().map_err(|_| SessionError::Malformed)?;
    let generation: u64 = generation.parse().map_err(|_| SessionError::Malformed)?;
    let expires_at: i64 = expires_at.parse().map_err(|_| SessionError::Malformed)?;
    if !verify_hex(key, payload, signature) {
        return Err(SessionError::BadSignature);
    }
    if now >= expires_at || athlete <= 0 {
        return Err(SessionError::Expired);
    }
    Ok(Session { athlete, generation })
}

fn sign_tagged(key: &[u8], tag: &str, session: Session, expires_at: i64) -> String {
    let payload = format!("{tag}.{}.{}.{expires_at}", session.athlete, session.generation);
    let signature = sign_hex(key, &payload);
    format!("{payload}.{signature}")
}

/// What a valid session cookie says: whose it is, and of which generation of their
/// connection ([`crate::model::AthleteProfile::session_generation`]). A route serves it
/// only while the stored profile has the same generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub athlete: AthleteId,
    pub generation: u64,
}

/// The tag of session cookies. `v1` cookies (no generation) are refused as malformed:
/// their holders sign in again.
const SESSION_TAG: &str = "v2";
/// The tag of export links: signed with the same key, never taken for a session.
const EXPORT_TAG: &str = "x1";
/// How long an export link is good for: the browser follows it at once.
pub const EXPORT_LINK_TTL_S: i64 = 120;

/// The session cookie's value for `session`, good until `expires_at` (unix seconds).
pub fn sign_session(key: &[u8], session: Session, expires_at: i64) -> String {
    sign_tagged(key, SESSION_TAG, session, expires_at)
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

/// The session a cookie names, once its signature and expiry are checked (its
/// generation is the caller's to compare with the stored one).
pub fn verify_session(key: &[u8], value: &str, now: i64) -> Result<Session, SessionError> {
    verify_tagged(key, SESSION_TAG, value, now)
}

/// The token of a one-time export link (`/export?token=`): the export is served by a
/// function of its own, on another origin, which the session cookie does not reach.
pub fn sign_export(key: &[u8], session: Session, expires_at: i64) -> String {
    sign_tagged(key, EXPORT_TAG, session, expires_at)
}

/// The session an export link was made for.
pub fn verify_export(key: &[u8], value: &str, now: i64) -> Result<Session, SessionError> {
    verify_tagged(key, EXPORT_TAG, value, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S42: Session = Session { athlete: 42, generation: 7 };

    #[test]
    fn a_session_round_trips_and_every_alteration_is_refused() {
        let key = b"session key";
        let cookie = sign_session(key, S42, 1_000);
        assert_eq!(verify_session(key, &cookie, 999), Ok(S42));
        assert_eq!(verify_session(key, &cookie, 1_000), Err(SessionError::Expired));
        assert_eq!(verify_session(b"other key", &cookie, 0), Err(SessionError::BadSignature));
        // Another athlete, another generation, a later expiry: the signature no longer matches.
        assert_eq!(verify_session(key, &cookie.replacen(".42.", ".43.", 1), 0), Err(SessionError::BadSignature));
        assert_eq!(verify_session(key, &cookie.replacen(".7.", ".8.", 1), 0), Err(SessionError::BadSignature));
        assert_eq!(verify_session(key, &cookie.replacen(".1000.", ".9999.", 1), 0), Err(SessionError::BadSignature));
        for bad in [
            "",
            "v2",
            "v2.42.7.1000",
            "v1.42.1000.00",
            "v2.x.7.1000.00",
            "v2.42.y.1000.00",
            "v2.42.7.z.00",
            "v2.42.7.1000.7.00",
        ] {
            assert_eq!(verify_session(key, bad, 0), Err(SessionError::Malformed), "{bad}");
        }
        assert_eq!(verify_session(key, &format!("{cookie}zz"), 0), Err(SessionError::BadSignature));
    }

    #[test]
    fn export_links_and_sessions_are_not_interchangeable() {
        let key = b"session key";
        let link = sign_export(key, S42, 1_000);
        assert_eq!(verify_export(key, &link, 0), Ok(S42));
        assert_eq!(verify_session(key, &link, 0), Err(SessionError::Malformed));
        assert_eq!(verify_export(key, &sign_session(key, S42, 1_000), 0), Err(SessionError::Malformed));
        // The tag is signed: relabelling a link as a session breaks its signature.
        assert_eq!(verify_session(key, &link.replacen("x1.", "v2.", 1), 0), Err(SessionError::BadSignature));
    }
}
