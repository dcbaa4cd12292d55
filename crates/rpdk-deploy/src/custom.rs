//! Classic custom resources in deployed templates. The engine asks for registry operations;
//! for a custom resource each is sent as CloudFormation sends a custom resource request — to
//! the function its `ServiceToken` names, through the same Lambda invoke endpoint, with a
//! presigned `ResponseURL` in the response bucket — and the response read back from the bucket
//! is answered as a progress event. So both kinds of resource share one engine.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use rpdk::Action;
use rpdk::custom_resource::RESPONSE_LIMIT;
use rpdk_local::{ACCOUNT_ID, Call, REGION, stringified};
use serde_json::{Map, Value, json};

use crate::Error;
use crate::backend::Backend;
use crate::template::TypeInfo;

/// Where a custom resource's model keeps the physical id its function answered.
pub const PHYSICAL_ID: &str = "PhysicalResourceId";

/// What the engine knows of every custom resource type: `Ref` answers the physical id, and its
/// attributes are whatever the function's `Data` holds.
pub fn info() -> &'static TypeInfo {
    static INFO: LazyLock<TypeInfo> =
        LazyLock::new(|| TypeInfo { primary_identifier: vec![PHYSICAL_ID.to_owned()], ..TypeInfo::default() });
    &INFO
}

/// The function a `ServiceToken` names, when the local stack serves it.
pub fn function(service_token: &str, served: &BTreeSet<String>) -> Result<String, String> {
    let listed = served.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
    match service_token.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", region, account, "function", name, ..] if *region == REGION && *account == ACCOUNT_ID => {
            if served.contains(*name) {
                Ok((*name).to_owned())
            } else {
                Err(format!("ServiceToken names the function {name}; the local stack serves {listed}"))
            }
        }
        ["arn", _, "sns", ..] => {
            Err("ServiceToken: an SNS topic; only Lambda-backed custom resources run here".to_owned())
        }
        _ => Err(format!(
            "ServiceToken {service_token}: write the ARN of a function the local stack serves, arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:NAME with NAME one of {listed}"
        )),
    }
}

/// Sends `call` as a custom resource request and answers the response as a progress event:
/// `SUCCESS` with the physical id and `Data` (dotted names nested) as the model, or `FAILED`
/// with the reason.
pub fn operate(backend: &dyn Backend, call: &Call) -> Result<Value, Error> {
    let request_type = match call.action {
        Action::Create => "Create",
        Action::Update => "Update",
        Action::Delete => "Delete",
        other => return Err(Error::Internal(format!("custom resources have no {other}"))),
    };
    let stack_id = call.stack_id.clone().unwrap_or_default();
    let mut properties = call.model.clone().unwrap_or_else(|| json!({}));
    let physical_id = properties.as_object_mut().and_then(|p| p.remove(PHYSICAL_ID));
    // The operation's token is the request id: a run resumed after an interruption finds the
    // response the function already gave instead of asking again.
    let key = format!("{stack_id}|{}|{}", call.logical_id, call.token);
    let service_token = properties.get("ServiceToken").cloned().unwrap_or_default();
    let response = match backend.response(&key).map_err(Error::Backend)? {
        Some(response) => response,
        None => {
            let mut request = json!({
                "RequestType": request_type,
                "ServiceToken": service_token,
                "ResponseURL": backend.response_url(&key).map_err(Error::Backend)?,
                "StackId": stack_id,
                "RequestId": call.token,
                "LogicalResourceId": call.logical_id,
                "ResourceType": call.type_name,
                "ResourceProperties": stringified(&properties),
            });
            if let Some(physical_id) = physical_id {
                request["PhysicalResourceId"] = physical_id;
            }
            if let Some(old) = &call.previous {
                request["OldResourceProperties"] = stringified(old);
            }
            let returned = backend.invoke_custom(&call.function, &request).map_err(Error::Backend)?;
            match backend.response(&key).map_err(Error::Backend)? {
                Some(response) => response,
                None => {
                    return Ok(
                        json!({"status": "FAILED", "errorCode": "InternalFailure", "message": format!("the function put no response at the ResponseURL; it returned {returned}")}),
                    );
                }
            }
        }
    };
    let request = json!({"StackId": stack_id, "RequestId": call.token, "LogicalResourceId": call.logical_id});
    Ok(match refusal(&response, &request) {
        Some(message) => json!({"status": "FAILED", "errorCode": "InvalidRequest", "message": message}),
        None => answered(&response),
    })
}

/// Why a response is not one CloudFormation takes, if it is not: too long, an unknown status,
/// or ids other than the request's (a response to another request).
fn refusal(response: &Value, request: &Value) -> Option<String> {
    if response.to_string().len() > RESPONSE_LIMIT {
        return Some("Response object is too long.".to_owned());
    }
    let status = response.get("Status").and_then(Value::as_str).unwrap_or_default();
    if status != "SUCCESS" && status != "FAILED" {
        return Some(format!("the response's Status is {status:?}; it must be SUCCESS or FAILED"));
    }
    if response.get(PHYSICAL_ID).and_then(Value::as_str).is_some_and(|id| id.len() > 1024) {
        return Some("the response's PhysicalResourceId is longer than 1 KB".to_owned());
    }
    ["StackId", "RequestId", "LogicalResourceId"]
        .into_iter()
        .find(|key| response.get(*key) != request.get(*key))
        .map(|key| format!("the response's {key} is not the request's: a response must copy it from its request"))
}

/// A custom resource response as a progress event.
fn answered(response: &Value) -> Value {
    let physical_id = response.get(PHYSICAL_ID).and_then(Value::as_str).filter(|id| !id.is_empty());
    let succeeded = response.get("Status").and_then(Value::as_str) == Some("SUCCESS");
    match physical_id {
        Some(physical_id) if succeeded => {
            let mut model = Map::new();
            for (name, value) in response.get("Data").and_then(Value::as_object).into_iter().flatten() {
                nest(&mut model, name, value.clone());
            }
            model.insert(PHYSICAL_ID.to_owned(), Value::from(physical_id));
            json!({"status": "SUCCESS", "resourceModel": model})
        }
        // As CloudFormation answers a success that names no resource.
        None if succeeded => {
            json!({"status": "FAILED", "errorCode": "InternalFailure", "message": "Invalid PhysicalResourceId"})
        }
        _ => {
            let reason = response.get("Reason").and_then(Value::as_str).unwrap_or("the function gave no reason");
            let mut event = json!({"status": "FAILED", "errorCode": "GeneralServiceException", "message": reason});
            if let Some(physical_id) = physical_id {
                event["resourceModel"] = json!({PHYSICAL_ID: physical_id});
            }
            event
        }
    }
}

/// Puts `value` at the dotted `name`, so `Fn::GetAtt Resource.A.B` finds `Data`'s `A.B`.
fn nest(model: &mut Map<String, Value>, name: &str, value: Value) {
    match name.split_once('.') {
        None => {
            model.insert(name.to_owned(), value);
        }
        Some((head, rest)) => {
            let inner = model.entry(head.to_owned()).or_insert_with(|| json!({}));
            if !inner.is_object() {
                *inner = json!({});
            }
            if let Some(inner) = inner.as_object_mut() {
                nest(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_tokens_name_a_served_function() {
        let served = BTreeSet::from(["cross-account-role".to_owned(), "scim-connector".to_owned()]);
        assert_eq!(
            function("arn:aws:lambda:us-east-1:123456789012:function:cross-account-role", &served),
            Ok("cross-account-role".to_owned())
        );
        assert_eq!(
            function("arn:aws:lambda:us-east-1:123456789012:function:scim-connector:live", &served),
            Ok("scim-connector".to_owned())
        );
        let other = function("arn:aws:lambda:us-east-1:123456789012:function:mine", &served).expect_err("not served");
        assert!(other.contains("mine") && other.contains("cross-account-role, scim-connector"), "{other}");
        assert!(
            function("arn:aws:sns:us-east-1:123456789012:topic", &served).expect_err("SNS").contains("only Lambda")
        );
        assert!(
            function("arn:aws:lambda:eu-west-1:123456789012:function:cross-account-role", &served)
                .expect_err("another region")
                .contains("arn:aws:lambda:us-east-1")
        );
    }

    #[test]
    fn responses_become_progress_events() {
        let success = answered(&json!({"Status": "SUCCESS", "PhysicalResourceId": "p-1", "Data": {"Arn": "arn:x"}}));
        assert_eq!(
            success,
            json!({"status": "SUCCESS", "resourceModel": {"Arn": "arn:x", "PhysicalResourceId": "p-1"}})
        );
        for unnamed in [json!({"Status": "SUCCESS"}), json!({"Status": "SUCCESS", "PhysicalResourceId": ""})] {
            assert_eq!(answered(&unnamed)["message"], "Invalid PhysicalResourceId", "{unnamed}");
        }
        let failed = answered(&json!({"Status": "FAILED", "Reason": "no"}));
        assert_eq!(
            failed,
            json!({"status": "FAILED", "errorCode": "GeneralServiceException", "message": "no"}),
            "no null identifier"
        );
    }

    #[test]
    fn responses_that_answer_another_request_or_break_the_limits_are_refused() {
        let request = json!({"StackId": "arn:stack", "RequestId": "r-1", "LogicalResourceId": "Role"});
        let good = json!({"Status": "SUCCESS", "PhysicalResourceId": "p-1", "StackId": "arn:stack", "RequestId": "r-1", "LogicalResourceId": "Role"});
        assert_eq!(refusal(&good, &request), None);
        let mut other = good.clone();
        other["RequestId"] = json!("r-0");
        assert!(refusal(&other, &request).is_some_and(|m| m.contains("RequestId")));
        let mut unknown = good.clone();
        unknown["Status"] = json!("OK");
        assert!(refusal(&unknown, &request).is_some_and(|m| m.contains("SUCCESS or FAILED")));
        let mut long = good.clone();
        long["Data"] = json!({"Blob": "x".repeat(RESPONSE_LIMIT)});
        assert_eq!(refusal(&long, &request).as_deref(), Some("Response object is too long."));
    }

    #[test]
    fn dotted_data_names_nest() {
        let mut model = Map::new();
        nest(&mut model, "Arn", json!("arn:x"));
        nest(&mut model, "Capabilities.Patch", json!("true"));
        nest(&mut model, "Capabilities.Bulk", json!("false"));
        assert_eq!(Value::Object(model), json!({"Arn": "arn:x", "Capabilities": {"Patch": "true", "Bulk": "false"}}));
    }
}
