//! Classic custom resource requests, sent as CloudFormation sends them: to a handler's function
//! through the Lambda invoke endpoint, with a presigned S3 `ResponseURL` in CloudFormation's
//! response bucket (a moto without IAM enforcement) where each response is
//! then read back.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::{ACCOUNT_ID, REGION, token};

/// CloudFormation's response bucket.
const BUCKET: &str = "cloudformation-custom-resource-response-useast1";
/// CloudFormation's presigned URLs last two hours.
const URL_LIFETIME: Duration = Duration::from_secs(7200);

/// The stack every request names.
pub fn stack_id() -> String {
    format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/custom-resources/6c6e7b30-8a43-11f0-a2f8-0affd1b7e4c5")
}

/// A custom resource's function, served by the local stack.
pub struct Function {
    url: String,
    agent: ureq::Agent,
    /// The template's `ResourceType`, e.g. `Custom::CrossAccountRole`.
    pub resource_type: String,
}

/// What one request returned: the response CloudFormation read from the bucket, and what the
/// function itself answered.
pub struct Answer {
    /// The response body in the bucket.
    pub response: Value,
    /// The function's own return value (CloudFormation ignores it).
    pub returned: Value,
}

impl Answer {
    /// The physical id.
    pub fn physical_id(&self) -> String {
        self.response["PhysicalResourceId"]
            .as_str()
            .unwrap_or_else(|| panic!("no PhysicalResourceId in {}", self.response))
            .to_owned()
    }

    /// The status, `SUCCESS` or `FAILED`.
    pub fn status(&self) -> &str {
        self.response["Status"].as_str().unwrap_or_default()
    }

    /// The reason, empty when there is none.
    pub fn reason(&self) -> &str {
        self.response["Reason"].as_str().unwrap_or_default()
    }
}

impl Function {
    /// The handler binary `function`, as the custom resource type `resource_type`.
    pub fn new(function: &str, resource_type: &str) -> Self {
        let base = crate::stack().lambda_url.clone();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        Self {
            url: format!("{base}/2015-03-31/functions/{function}/invocations"),
            agent,
            resource_type: resource_type.to_owned(),
        }
    }

    /// A request of `kind` (`Create`, `Update`, `Delete`) for `logical_id`, with properties
    /// turned to strings as CloudFormation turns them, and its response key in the bucket.
    pub fn request(
        &self,
        kind: &str,
        logical_id: &str,
        physical_id: Option<&str>,
        properties: &Value,
        old: Option<&Value>,
    ) -> (Value, String) {
        let request_id = token();
        // CloudFormation's own key: the stack, the logical id and the request, percent-encoded.
        let key = format!("{}|{logical_id}|{request_id}", stack_id());
        let mut request = json!({
            "RequestType": kind,
            "ServiceToken": format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:rpdk"),
            "ResponseURL": presign("PUT", &key),
            "StackId": stack_id(),
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": stringified(properties),
        });
        request["ResourceProperties"]["ServiceToken"] = request["ServiceToken"].clone();
        if let Some(id) = physical_id {
            request["PhysicalResourceId"] = id.into();
        }
        if let Some(old) = old {
            request["OldResourceProperties"] = stringified(old);
            request["OldResourceProperties"]["ServiceToken"] = request["ServiceToken"].clone();
        }
        (request, key)
    }

    /// Sends one request and reads its response back from the bucket.
    pub fn send(
        &self,
        kind: &str,
        logical_id: &str,
        physical_id: Option<&str>,
        properties: &Value,
        old: Option<&Value>,
    ) -> Answer {
        let (request, key) = self.request(kind, logical_id, physical_id, properties, old);
        let returned = self.invoke(&request);
        let response = read_response(&key).unwrap_or_else(|| {
            panic!("no response in the bucket for {kind} {logical_id}; the function returned {returned}")
        });
        for copied in ["StackId", "RequestId", "LogicalResourceId"] {
            assert_eq!(response[copied], request[copied], "{copied} is copied from the request");
        }
        assert!(
            !response["PhysicalResourceId"].as_str().unwrap_or_default().is_empty(),
            "a physical id, always: {response}"
        );
        assert!(
            response["Status"] == "SUCCESS" || response.get("Reason").is_some(),
            "a failure has a reason: {response}"
        );
        Answer { response, returned }
    }

    /// Invokes the function once with `payload` and returns what it returned.
    pub fn invoke(&self, payload: &Value) -> Value {
        let mut answer = self.agent.post(&self.url).send_json(payload).expect("the function answers");
        let body = answer.body_mut().read_to_string().expect("a body");
        serde_json::from_str(&body).unwrap_or(Value::String(body))
    }
}

/// Every scalar as a string, as CloudFormation passes template values to a custom resource.
pub fn stringified(value: &Value) -> Value {
    match value {
        Value::Number(number) => Value::String(number.to_string()),
        Value::Bool(flag) => Value::String(flag.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(stringified).collect()),
        Value::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), stringified(v))).collect()),
        other => other.clone(),
    }
}

/// The response stored under `key`, if any.
pub fn read_response(key: &str) -> Option<Value> {
    let mut answer = agent().get(presign("GET", key)).call().expect("the response bucket answers");
    if answer.status() == 404 {
        return None;
    }
    assert!(answer.status().is_success(), "reading {key}: {}", answer.status());
    let text = answer.body_mut().read_to_string().expect("a body");
    assert!(text.len() <= 4096, "a response of {} bytes: CloudFormation accepts at most 4096", text.len());
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("the response is not JSON ({e}): {text}")))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// A SigV4 query-string presigned URL of the object `key` (or, empty, the bucket), as S3 issues
/// them, made once the bucket exists.
fn presign(method: &str, key: &str) -> String {
    static BUCKET_MADE: OnceLock<()> = OnceLock::new();
    BUCKET_MADE.get_or_init(|| {
        let made = agent().put(presigned("PUT", "")).send_empty().expect("the response bucket answers");
        assert!(made.status().is_success() || made.status() == 409, "creating the response bucket: {}", made.status());
    });
    presigned(method, key)
}

fn presigned(method: &str, key: &str) -> String {
    let base = crate::stack().responses_url.clone();
    let path = if key.is_empty() {
        format!("/{BUCKET}")
    } else {
        format!("/{BUCKET}/{}", utf8_percent_encode(key, NON_ALPHANUMERIC))
    };
    let url = format!("{base}{path}");
    let identity =
        aws_credential_types::Credentials::new("AKIDRESPONSES", "response-bucket-secret", None, None, "tests").into();
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
        .expect("signing parameters")
        .into();
    let signable = SignableRequest::new(method, &url, std::iter::empty(), SignableBody::UnsignedPayload)
        .expect("a signable request");
    let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
    let query: Vec<String> = instructions
        .params()
        .iter()
        .map(|(name, value): &(&str, Cow<'static, str>)| {
            format!("{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC))
        })
        .collect();
    format!("{url}?{}", query.join("&"))
}
