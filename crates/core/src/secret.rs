//! A string that must never reach a log line, an error message or `Debug` output.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Holds a token or client secret. `Debug` prints `Secret(***)`, there is no `Display`,
/// and the value is only reachable through [`Secret::expose`], which makes every use
/// visible in review. Serialization is transparent, because secrets are stored as JSON
/// in Secrets Manager.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the inputs differ (only their length leaks),
    /// for verify tokens and webhook path secrets.
    pub fn constant_time_eq(&self, other: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), other.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Byte comparison whose running time does not depend on the position of the first
/// difference (only the lengths leak), by `subtle`.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("very-secret-token");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", Some(&s)).contains("very-secret"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"very-secret-token\"");
    }

    #[test]
    fn constant_time_comparison() {
        let s = Secret::new("abc");
        assert!(s.constant_time_eq("abc"));
        assert!(!s.constant_time_eq("abd"));
        assert!(!s.constant_time_eq("ab"));
        assert!(!s.constant_time_eq(""));
    }
}
