//! The registry's error codes and the handler error type.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The error codes CloudFormation accepts in a FAILED progress event.
///
/// Variant names are the wire names. The list is closed: the registry and the contract tests
/// refuse any other code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)] // each variant is documented by its wire name
pub enum HandlerErrorCode {
    NotUpdatable,
    InvalidRequest,
    AccessDenied,
    InvalidCredentials,
    AlreadyExists,
    NotFound,
    ResourceConflict,
    Throttling,
    ServiceLimitExceeded,
    NotStabilized,
    GeneralServiceException,
    ServiceInternalError,
    NetworkFailure,
    InternalFailure,
    InvalidTypeConfiguration,
    HandlerInternalFailure,
    NonCompliant,
    UnsupportedTarget,
    Unknown,
}

impl HandlerErrorCode {
    /// Every code, in the registry's order.
    pub const ALL: [HandlerErrorCode; 19] = [
        Self::NotUpdatable,
        Self::InvalidRequest,
        Self::AccessDenied,
        Self::InvalidCredentials,
        Self::AlreadyExists,
        Self::NotFound,
        Self::ResourceConflict,
        Self::Throttling,
        Self::ServiceLimitExceeded,
        Self::NotStabilized,
        Self::GeneralServiceException,
        Self::ServiceInternalError,
        Self::NetworkFailure,
        Self::InternalFailure,
        Self::InvalidTypeConfiguration,
        Self::HandlerInternalFailure,
        Self::NonCompliant,
        Self::UnsupportedTarget,
        Self::Unknown,
    ];

    /// Whether the fault is transient, so that the same call may succeed later.
    pub fn is_retriable(self) -> bool {
        matches!(self, Self::ResourceConflict | Self::Throttling | Self::ServiceInternalError | Self::NetworkFailure)
    }

    /// The wire name of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotUpdatable => "NotUpdatable",
            Self::InvalidRequest => "InvalidRequest",
            Self::AccessDenied => "AccessDenied",
            Self::InvalidCredentials => "InvalidCredentials",
            Self::AlreadyExists => "AlreadyExists",
            Self::NotFound => "NotFound",
            Self::ResourceConflict => "ResourceConflict",
            Self::Throttling => "Throttling",
            Self::ServiceLimitExceeded => "ServiceLimitExceeded",
            Self::NotStabilized => "NotStabilized",
            Self::GeneralServiceException => "GeneralServiceException",
            Self::ServiceInternalError => "ServiceInternalError",
            Self::NetworkFailure => "NetworkFailure",
            Self::InternalFailure => "InternalFailure",
            Self::InvalidTypeConfiguration => "InvalidTypeConfiguration",
            Self::HandlerInternalFailure => "HandlerInternalFailure",
            Self::NonCompliant => "NonCompliant",
            Self::UnsupportedTarget => "UnsupportedTarget",
            Self::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for HandlerErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A handler failure: the code and message of a FAILED event, with the underlying error kept
/// for logs.
///
/// `Display` is the message CloudFormation shows; the source chain carries the detail.
#[derive(Debug)]
pub struct HandlerError {
    code: HandlerErrorCode,
    message: String,
    source: Option<Source>,
}

impl HandlerError {
    /// A failure with the given code and message.
    pub fn new(code: HandlerErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None }
    }

    /// Keeps `source` as the cause of this failure.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The canonical `NotFound` failure.
    pub fn not_found(type_name: &str, identifier: &str) -> Self {
        Self::new(
            HandlerErrorCode::NotFound,
            format!("Resource of type '{type_name}' with identifier '{identifier}' was not found."),
        )
    }

    /// The canonical `AlreadyExists` failure.
    pub fn already_exists(type_name: &str, identifier: &str) -> Self {
        Self::new(
            HandlerErrorCode::AlreadyExists,
            format!("Resource of type '{type_name}' with identifier '{identifier}' already exists."),
        )
    }

    /// Bad input: the message names the field and the fix.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(HandlerErrorCode::InvalidRequest, message)
    }

    /// A fault of the handler itself.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(HandlerErrorCode::InternalFailure, message)
    }

    /// The error code.
    pub fn code(&self) -> HandlerErrorCode {
        self.code
    }

    /// The message CloudFormation shows.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retriable(&self) -> bool {
        self.code.is_retriable()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandlerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_by_wire_name() {
        for code in HandlerErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: HandlerErrorCode = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, code);
        }
    }

    #[test]
    fn java_only_code_is_not_a_wire_code() {
        assert!(serde_json::from_str::<HandlerErrorCode>("\"UnauthorizedTaggingOperation\"").is_err());
    }

    #[test]
    fn exactly_four_codes_are_retriable() {
        let retriable: Vec<_> = HandlerErrorCode::ALL.into_iter().filter(|c| c.is_retriable()).collect();
        assert_eq!(
            retriable,
            [
                HandlerErrorCode::ResourceConflict,
                HandlerErrorCode::Throttling,
                HandlerErrorCode::ServiceInternalError,
                HandlerErrorCode::NetworkFailure
            ]
        );
    }

    #[test]
    fn canonical_messages() {
        assert_eq!(
            HandlerError::not_found("Rpdk::IAM::CrossAccountRole", "r1").to_string(),
            "Resource of type 'Rpdk::IAM::CrossAccountRole' with identifier 'r1' was not found."
        );
        assert_eq!(
            HandlerError::already_exists("A::B::C", "x").to_string(),
            "Resource of type 'A::B::C' with identifier 'x' already exists."
        );
    }
}
