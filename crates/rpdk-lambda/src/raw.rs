//! The invocation's payload as the bytes Lambda delivered.
//!
//! `lambda_runtime` decodes the payload with `serde_json` before the handler runs and reports
//! a payload it cannot decode (not JSON, not UTF-8, nested past the parser's limit) as an
//! unhandled error: the caller gets no progress event. The outermost layer below wraps the
//! bytes in a JSON string (base64, which holds any bytes) that always decodes, and
//! [`RawPayload`] unwraps them again, so the handler reads every payload itself.

use std::task::{Context, Poll};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_runtime::LambdaInvocation;
use lambda_runtime::tower::{Layer, Service};
use serde::{Deserialize, Deserializer};

/// The payload's bytes, exactly as delivered.
pub struct RawPayload(pub Vec<u8>);

impl<'de> Deserialize<'de> for RawPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wrapped = String::deserialize(deserializer)?;
        STANDARD.decode(wrapped).map(RawPayload).map_err(serde::de::Error::custom)
    }
}

/// Wraps every payload for [`RawPayload`].
#[derive(Clone, Copy, Default)]
pub struct RawBodyLayer;

impl<S> Layer<S> for RawBodyLayer {
    type Service = RawBody<S>;

    fn layer(&self, inner: S) -> RawBody<S> {
        RawBody(inner)
    }
}

/// The service of [`RawBodyLayer`].
#[derive(Clone)]
pub struct RawBody<S>(S);

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for RawBody<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(context)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> S::Future {
        invocation.body = format!("\"{}\"", STANDARD.encode(&invocation.body)).into_bytes().into();
        self.0.call(invocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bytes_survive_the_wrapping() {
        for payload in [&b""[..], b"not json", b"\xff\xfe", b"{\"action\":\"CREATE\"}"] {
            let wrapped = format!("\"{}\"", STANDARD.encode(payload));
            let RawPayload(bytes) = serde_json::from_str(&wrapped).expect("the wrapping always decodes");
            assert_eq!(bytes, payload);
        }
    }
}
