//! Secrets in models: present on the wire and in the schema, absent from every log line.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A string that never prints itself: `Debug` and `Display` show a placeholder, so a model
/// holding one can be logged whole. Serde and the schema see a plain string. Declare the
/// property write-only, so it never leaves the handler either.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn prints_no_value_but_serializes_it() {
        let secret = Secret::new("s3cr3t-token");
        assert!(!format!("{secret:?} {secret}").contains("s3cr3t"));
        assert_eq!(serde_json::to_string(&secret).expect("json"), "\"s3cr3t-token\"");
        let back: Secret = serde_json::from_str("\"s3cr3t-token\"").expect("json");
        assert_eq!(back.expose(), "s3cr3t-token");
    }
}
