//! Classic custom resource requests, sent as CloudFormation sends them: to a handler's function
//! through the Lambda invoke endpoint, with a presigned S3 `ResponseURL` in CloudFormation's
//! response bucket ([`rpdk_local::ResponseBucket`]) where each response is then read back.

use std::sync::OnceLock;
use std::time::Duration;

use rpdk_local::{ResponseBucket, stringified};
use serde_json::{Value, json};

use crate::{ACCOUNT_ID, REGION, token};

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

/// The response stored under `key`, if any.
pub fn read_response(key: &str) -> Option<Value> {
    let text = bucket().read_text(key).unwrap_or_else(|e| panic!("{e}"))?;
    assert!(text.len() <= 4096, "a response of {} bytes: CloudFormation accepts at most 4096", text.len());
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("the response is not JSON ({e}): {text}")))
}

/// CloudFormation's response bucket of the run, made once.
fn bucket() -> &'static ResponseBucket {
    static BUCKET: OnceLock<ResponseBucket> = OnceLock::new();
    BUCKET.get_or_init(|| {
        let bucket = ResponseBucket::new(crate::stack().responses_url.clone());
        bucket.create().unwrap_or_else(|e| panic!("{e}"));
        bucket
    })
}

/// A SigV4 query-string presigned URL of the object `key`, as S3 issues them.
fn presign(method: &str, key: &str) -> String {
    bucket().presigned(method, key).unwrap_or_else(|e| panic!("{e}"))
}
