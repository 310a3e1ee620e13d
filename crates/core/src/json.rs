//! Strict JSON parsing with errors that name the offending field.
//!
//! Every document must be exactly one JSON value: trailing bytes (garbage, a second
//! object) are an error on both paths, so a body that is "valid JSON plus something" is
//! never accepted, enqueued or stored.

/// A JSON document that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path}: {message}")]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

/// Parses JSON into `T`. The fast path tracks no path; only when it fails is the
/// document parsed again with path tracking, so the error can name the field. Both paths
/// reject anything after the value ([`serde_json::Deserializer::end`]).
pub fn parse_json_with_path<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, ParseError> {
    serde_json::from_slice(json).or_else(|_| {
        let de = &mut serde_json::Deserializer::from_slice(json);
        let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| ParseError {
            path: excerpt(&e.path().to_string(), MAX_PATH_CHARS),
            message: excerpt(&e.into_inner().to_string(), MAX_MESSAGE_CHARS),
        })?;
        de.end().map_err(|e| ParseError {
            path: "(end of document)".into(),
            message: excerpt(&e.to_string(), MAX_MESSAGE_CHARS),
        })?;
        Ok(value)
    })
}

/// At most this many characters of an error's JSON path, and of its message: both quote the
/// input (a key, serde's quote of a string), which is the sender's to choose, and an error
/// goes back in a 400 and into the logs. The field stays named; a long quote is cut.
pub const MAX_PATH_CHARS: usize = 80;
pub const MAX_MESSAGE_CHARS: usize = 160;

/// `text` cut to `max` characters, `…` marking the cut.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Doc {
        a: i64,
    }

    #[test]
    fn an_error_quotes_at_most_a_short_excerpt_of_the_input() {
        let long = "A".repeat(10_000);
        let e = parse_json_with_path::<Doc>(format!(r#"{{"a": "{long}"}}"#).as_bytes()).unwrap_err();
        assert_eq!(e.path, "a", "the field is named");
        assert!(e.to_string().chars().count() <= MAX_PATH_CHARS + MAX_MESSAGE_CHARS + 8, "{e}");
        assert!(e.message.ends_with('…') && !e.message.contains(&long[..200]), "{e}");
        let key = "k".repeat(5_000);
        let e = parse_json_with_path::<std::collections::BTreeMap<String, Doc>>(
            format!(r#"{{"{key}": {{"a": "x"}}}}"#).as_bytes(),
        )
        .unwrap_err();
        assert!(e.path.chars().count() <= MAX_PATH_CHARS + 1 && e.path.ends_with('…'), "{}", e.path);
        assert_eq!(excerpt("ünïcode", 3), "ünï…");
        assert_eq!(excerpt("short", 80), "short");
    }

    #[test]
    fn one_value_and_nothing_after_it() {
        assert_eq!(parse_json_with_path::<Doc>(br#" {"a":1} "#).unwrap(), Doc { a: 1 });
        for bad in [&br#"{"a":1}{"a":2}"#[..], br#"{"a":1} garbage"#, br#"{"a":1},"#, br#"{"a":1}]"#] {
            let e = parse_json_with_path::<Doc>(bad).unwrap_err();
            assert_eq!(e.path, "(end of document)", "{}", String::from_utf8_lossy(bad));
            assert!(e.message.contains("trailing"), "{e}");
        }
        // A type error still names its field.
        assert_eq!(parse_json_with_path::<Doc>(br#"{"a":"x"}"#).unwrap_err().path, "a");
    }
}

/// A request field that is missing, malformed or out of range: the API answers 400 with
/// the field's name (for its clients) and a sentence (for the athlete: [`FieldError::said`]
/// where the page asks for the field, else this `field: reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
    /// The refusal as the athlete reads it ("Threshold pace must be between 1:40 and 16:40
    /// per km"), for the fields a person fills in.
    pub message: Option<String>,
}

pub fn field_error(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError { field: field.to_string(), reason: reason.into(), message: None }
}

impl FieldError {
    /// The same refusal, worded for the athlete.
    pub fn said(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// What a person is shown: the athlete's wording, else `field: reason`.
    pub fn sentence(&self) -> String {
        self.message.clone().unwrap_or_else(|| self.to_string())
    }
}

/// A request body parsed strictly (unknown fields refused); an error names the JSON path.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    parse_json_with_path(body).map_err(|e| field_error(&e.path, e.message))
}
