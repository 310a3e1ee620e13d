//! Reading a Lambda's configuration from its environment: one error type that names the
//! variable, and the two ways a variable is read.

/// A required variable is missing or a value does not parse; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Variables looked up through `get` (the process environment, or a map in tests).
pub struct Env<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A variable that must be set and non-empty.
    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        (self.0)(var).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(var))
    }

    /// An optional variable, parsed; `default` when unset.
    pub fn parsed_or<T: std::str::FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError> {
        match (self.0)(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid { var, reason: format!("{v:?} does not parse") }),
        }
    }

    pub fn optional(&self, var: &str) -> Option<String> {
        (self.0)(var)
    }
}
