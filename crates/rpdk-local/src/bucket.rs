//! CloudFormation's bucket of custom resource responses, on the local stack's second moto
//! (without IAM enforcement: presigned URLs carry no Authorization header, which moto's
//! enforcement requires). A custom resource request names a presigned URL of it as its
//! `ResponseURL`, and the response is read back from it.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::{Error, REGION};

/// The bucket's name, as CloudFormation names it in us-east-1.
const NAME: &str = "cloudformation-custom-resource-response-useast1";
/// CloudFormation's presigned URLs last two hours.
const URL_LIFETIME: Duration = Duration::from_secs(7200);

/// The response bucket at one endpoint.
pub struct ResponseBucket {
    endpoint: String,
    agent: ureq::Agent,
}

impl ResponseBucket {
    /// The bucket served at `endpoint` (the stack's `responses_url`).
    pub fn new(endpoint: impl Into<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Self { endpoint: endpoint.into(), agent }
    }

    /// Makes the bucket; one that exists already is fine.
    pub fn create(&self) -> Result<(), Error> {
        let status =
            self.agent.put(self.presigned("PUT", "")?).send_empty().map_err(|e| failed("creating it", e))?.status();
        if status.is_success() || status == 409 {
            return Ok(());
        }
        Err(Error::Bucket { what: "creating it".into(), detail: format!("HTTP {status}") })
    }

    /// Stores `document` under `key`, as a presigned PUT does.
    pub fn write(&self, key: &str, document: &Value) -> Result<(), Error> {
        let what = || format!("storing {key}");
        let answer =
            self.agent.put(self.presigned("PUT", key)?).send(document.to_string()).map_err(|e| failed(&what(), e))?;
        if !answer.status().is_success() {
            return Err(Error::Bucket { what: what(), detail: format!("HTTP {}", answer.status()) });
        }
        Ok(())
    }

    /// The response stored under `key` as its text, if any.
    pub fn read_text(&self, key: &str) -> Result<Option<String>, Error> {
        let what = || format!("reading the response {key}");
        let mut answer = self.agent.get(self.presigned("GET", key)?).call().map_err(|e| failed(&what(), e))?;
        if answer.status() == 404 {
            return Ok(None);
        }
        let text = answer.body_mut().read_to_string().map_err(|e| failed(&what(), e))?;
        if !answer.status().is_success() {
            return Err(Error::Bucket { what: what(), detail: format!("HTTP {}: {text}", answer.status()) });
        }
        Ok(Some(text))
    }

    /// The response stored under `key`, if any.
    pub fn read(&self, key: &str) -> Result<Option<Value>, Error> {
        let Some(text) = self.read_text(key)? else { return Ok(None) };
        serde_json::from_str(&text).map(Some).map_err(|_| Error::Bucket {
            what: format!("reading the response {key}"),
            detail: format!("not JSON: {text}"),
        })
    }

    /// A SigV4 query-string presigned URL of the object `key` (or, empty, the bucket), as S3
    /// issues them.
    pub fn presigned(&self, method: &str, key: &str) -> Result<String, Error> {
        let signing =
            |e: &dyn std::fmt::Display| Error::Bucket { what: "presigning a URL".into(), detail: e.to_string() };
        let path = if key.is_empty() {
            format!("/{NAME}")
        } else {
            format!("/{NAME}/{}", utf8_percent_encode(key, NON_ALPHANUMERIC))
        };
        let url = format!("{}{path}", self.endpoint);
        // moto without enforcement accepts any signature; the URL only has S3's shape.
        let identity =
            aws_credential_types::Credentials::new("AKIDRESPONSES", "response-bucket-secret", None, None, "rpdk")
                .into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(URL_LIFETIME);
        // S3 signs the path as sent: no second encoding, no normalisation.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| signing(&e))?
            .into();
        let signable = SignableRequest::new(method, &url, std::iter::empty(), SignableBody::UnsignedPayload)
            .map_err(|e| signing(&e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| signing(&e))?.into_parts();
        let query: Vec<String> = instructions
            .params()
            .iter()
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC)))
            .collect();
        Ok(format!("{url}?{}", query.join("&")))
    }
}

fn failed(what: &str, error: ureq::Error) -> Error {
    Error::Bucket { what: what.to_owned(), detail: error.to_string() }
}

/// Every scalar as a string, as CloudFormation passes template values in a custom resource
/// request (`ResourceProperties`, `OldResourceProperties`).
pub fn stringified(value: &Value) -> Value {
    match value {
        Value::Number(number) => Value::String(number.to_string()),
        Value::Bool(flag) => Value::String(flag.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(stringified).collect()),
        Value::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), stringified(v))).collect()),
        other => other.clone(),
    }
}
