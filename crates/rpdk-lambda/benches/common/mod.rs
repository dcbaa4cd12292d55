//! The benchmark type and its production-shaped requests, shared by the overhead and the
//! allocation benchmarks.

use rpdk::{Empty, HandlerResult, ListPage, Metadata, Request, ResourceHandler, Session};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A model shaped like a real one: scalars, a tag list and a free-form policy document.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Service {
    name: String,
    description: Option<String>,
    max_session_duration: Option<i64>,
    enabled: Option<bool>,
    tags: Option<Vec<Tag>>,
    policy_document: Option<serde_json::Map<String, Value>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    key: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceName {
    name: String,
}

/// Answers every action from its input: the cost measured is the framework's alone.
pub struct Echo;

impl ResourceHandler for Echo {
    type Model = Service;
    type Identifier = ServiceName;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> Metadata {
        Metadata {
            create_only: &["/properties/Name"],
            ..Metadata::new("Bench", "Service", "A model of about 4 KiB.", &["/properties/Name"])
        }
    }

    async fn create(&self, req: &Request<Service, Empty>, _: &mut Session<Empty>) -> HandlerResult<Service> {
        Ok(req.model.clone())
    }

    async fn read(&self, req: &Request<ServiceName, Empty>) -> Result<Service, rpdk::HandlerError> {
        Ok(Service {
            name: req.model.name.clone(),
            description: None,
            max_session_duration: None,
            enabled: None,
            tags: None,
            policy_document: None,
        })
    }

    async fn update(&self, req: &Request<Service, Empty>, _: &mut Session<Empty>) -> HandlerResult<Service> {
        Ok(req.model.clone())
    }

    async fn delete(&self, _: &Request<ServiceName, Empty>, _: &mut Session<Empty>) -> HandlerResult<()> {
        Ok(())
    }

    async fn list(&self, _: &Request<Empty, Empty>) -> Result<ListPage<Service>, rpdk::HandlerError> {
        Ok(ListPage { models: Vec::new(), next_token: None })
    }
}

/// About 4 KiB: 48 tags and a policy of 10 statements, primitives as strings.
fn model() -> Value {
    let tags: Vec<Value> = (0..48)
        .map(|i| json!({"Key": format!("cost-center-{i:02}"), "Value": format!("team-{i:02}-platform")}))
        .collect();
    let statements: Vec<Value> = (0..10)
        .map(|i| json!({"Sid": format!("Read{i}"), "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": format!("arn:aws:s3:::bucket-{i}/*")}))
        .collect();
    json!({
        "Name": "partner-service",
        "Description": "A service shared with partner accounts through the platform's onboarding pipeline.",
        "MaxSessionDuration": "3600",
        "Enabled": "true",
        "Tags": tags,
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        "Unknown": null,
    })
}

/// A production-shaped request: UPDATE carries the model twice, CREATE once.
pub fn request(action: &str) -> Vec<u8> {
    let model = model();
    let previous = if action == "UPDATE" { model.clone() } else { Value::Null };
    assert!((3800..4600).contains(&model.to_string().len()), "the model is about 4 KiB: {}", model.to_string().len());
    serde_json::to_vec(&json!({
        "awsAccountId": "123456789012",
        "bearerToken": "0f3c1c2e-8f3b-4a0e-9d55-c1b6c0d6c3a1",
        "region": "us-east-1",
        "action": action,
        "responseEndpoint": null,
        "resourceType": "Rpdk::Bench::Service",
        "resourceTypeVersion": "00000001",
        "requestData": {
            "callerCredentials": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "secret", "sessionToken": "token"},
            "providerCredentials": null,
            "providerLogGroupName": "rpdk-bench",
            "logicalResourceId": "Service",
            "resourceProperties": model,
            "previousResourceProperties": previous,
            "stackTags": {"team": "platform"},
            "systemTags": {"aws:cloudformation:stack-name": "bench"},
            "typeConfiguration": null
        },
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1",
        "callbackContext": null,
        "nextToken": null
    }))
    .expect("encodes")
}
