//! The few AWS calls made as the stack's admin against its moto, signed with SigV4: a fresh
//! session of a handler's role for every invocation (as CloudFormation passes one), the values
//! of dynamic references, and the provider logs a type delivered.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use rpdk::Credentials;

use crate::{Error, REGION};

/// How long a handler's session lasts: CloudFormation's sessions outlive one invocation.
const SESSION_SECONDS: u32 = 900;

/// A client of moto's API, as one principal.
pub struct Admin<'a> {
    pub(crate) agent: &'a ureq::Agent,
    pub(crate) endpoint: &'a str,
    pub(crate) credentials: &'a Credentials,
}

type Result<T> = std::result::Result<T, Error>;

/// An answer that lacks what was asked for.
fn lacking(service: &str, detail: impl Into<String>) -> Error {
    Error::Aws { service: service.to_owned(), detail: detail.into() }
}

impl Admin<'_> {
    /// Temporary credentials of a session of `role_arn`.
    pub fn assume_role(&self, role_arn: &str, session_name: &str) -> Result<Credentials> {
        let duration = SESSION_SECONDS.to_string();
        let params = [("RoleArn", role_arn), ("RoleSessionName", session_name), ("DurationSeconds", &duration)];
        let body = self.query("sts", "AssumeRole", "2011-06-15", &params)?;
        let field = |tag: &str| {
            xml_text(&body, tag).ok_or_else(|| lacking("sts", format!("AssumeRole answered without {tag}")))
        };
        Ok(Credentials {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: field("SecretAccessKey")?,
            session_token: Some(field("SessionToken")?),
        })
    }

    /// The account's configuration of `type_name` in the local registry
    /// (`BatchDescribeTypeConfigurations`), if one is set there.
    pub fn type_configuration(&self, type_name: &str) -> Result<Option<Value>> {
        let params = [
            ("TypeConfigurationIdentifiers.member.1.Type", "RESOURCE"),
            ("TypeConfigurationIdentifiers.member.1.TypeName", type_name),
        ];
        let body = self.query("cloudformation", "BatchDescribeTypeConfigurations", "2010-05-15", &params)?;
        let Some(configurations) = xml_text(&body, "TypeConfigurations") else { return Ok(None) };
        xml_text(&configurations, "Configuration")
            .map(|text| {
                serde_json::from_str(&text).map_err(|_| {
                    lacking("cloudformation", format!("the configuration of {type_name} is not JSON: {text}"))
                })
            })
            .transpose()
    }

    /// The value of an SSM parameter, `name` or `name:version`.
    pub fn ssm_parameter(&self, key: &str) -> Result<String> {
        let answer = self.json("ssm", "AmazonSSM.GetParameter", &json!({"Name": key}))?;
        answer
            .pointer("/Parameter/Value")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| lacking("ssm", "GetParameter answered without a value"))
    }

    /// A secret's string, by id and optionally version stage or version id.
    pub fn secret_string(&self, secret_id: &str, stage: Option<&str>, version_id: Option<&str>) -> Result<String> {
        let mut request = json!({"SecretId": secret_id});
        if let Some(stage) = stage {
            request["VersionStage"] = stage.into();
        }
        if let Some(version_id) = version_id {
            request["VersionId"] = version_id.into();
        }
        let answer = self.json("secretsmanager", "secretsmanager.GetSecretValue", &request)?;
        answer.get("SecretString").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
            lacking("secretsmanager", "the secret has no SecretString (binary secrets cannot be referenced)")
        })
    }

    /// Whether the log stream `stream` of `group` exists (CloudWatch Logs).
    pub fn log_stream_exists(&self, group: &str, stream: &str) -> Result<bool> {
        let groups = self.json("logs", "Logs_20140328.DescribeLogGroups", &json!({"logGroupNamePrefix": group}))?;
        let named = |list: &Value, key: &str, name: &str| {
            list.as_array().into_iter().flatten().any(|item| item.get(key).and_then(Value::as_str) == Some(name))
        };
        if !named(&groups["logGroups"], "logGroupName", group) {
            return Ok(false);
        }
        let streams = self.json(
            "logs",
            "Logs_20140328.DescribeLogStreams",
            &json!({"logGroupName": group, "logStreamNamePrefix": stream}),
        )?;
        Ok(named(&streams["logStreams"], "logStreamName", stream))
    }

    /// One page of a log stream's events from `token` on (the start when `None`), oldest first.
    pub fn log_events(&self, group: &str, stream: &str, token: Option<&str>) -> Result<LogPage> {
        let mut request = json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true});
        if let Some(token) = token {
            request["nextToken"] = token.into();
        }
        let page = self.json("logs", "Logs_20140328.GetLogEvents", &request)?;
        let events = page["events"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|event| {
                (
                    event["timestamp"].as_i64().unwrap_or_default(),
                    event["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        Ok(LogPage { events, next_token: page["nextForwardToken"].as_str().map(str::to_owned) })
    }

    /// A call of an AWS query API (STS, CloudFormation): answers the XML document.
    fn query(&self, service: &str, action: &str, version: &str, params: &[(&str, &str)]) -> Result<String> {
        let form = [("Action", action), ("Version", version)]
            .iter()
            .chain(params)
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(service, &[("content-type", "application/x-www-form-urlencoded; charset=utf-8")], &form)
    }

    /// A call of an AWS JSON 1.1 API.
    fn json(&self, service: &str, target: &str, request: &Value) -> Result<Value> {
        let body = self.send(
            service,
            &[("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target)],
            &request.to_string(),
        )?;
        serde_json::from_str(&body).map_err(|_| lacking(service, format!("not JSON: {body}")))
    }

    /// Signs and posts `body`; answers the body of a 2xx response, or fails with AWS's error.
    fn send(&self, service: &str, headers: &[(&str, &str)], body: &str) -> Result<String> {
        let url = format!("{}/", self.endpoint);
        let identity = aws_credential_types::Credentials::new(
            &self.credentials.access_key_id,
            &self.credentials.secret_access_key,
            self.credentials.session_token.clone(),
            None,
            "rpdk",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| lacking(service, format!("cannot sign: {e}")))?
            .into();
        let signable =
            SignableRequest::new("POST", &url, headers.iter().copied(), SignableBody::Bytes(body.as_bytes()))
                .map_err(|e| lacking(service, format!("cannot sign: {e}")))?;
        let (instructions, _) =
            sign(signable, &params).map_err(|e| lacking(service, format!("cannot sign: {e}")))?.into_parts();
        let mut request = self.agent.post(&url);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let unanswered = |e: ureq::Error| lacking(service, format!("moto did not answer: {e}"));
        let mut response = request.send(body).map_err(unanswered)?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(unanswered)?;
        if !status.is_success() {
            return Err(lacking(service, format!("HTTP {status}: {}", error_message(&text))));
        }
        Ok(text)
    }
}

/// One page of a log stream.
pub struct LogPage {
    /// `(milliseconds since the epoch, message)`, oldest first.
    pub events: Vec<(i64, String)>,
    /// Where the next page starts.
    pub next_token: Option<String>,
}

/// The code and message of an AWS error answer, JSON or XML.
fn error_message(body: &str) -> String {
    if let Ok(error) = serde_json::from_str::<Value>(body) {
        let code = error.get("__type").and_then(Value::as_str).unwrap_or_default();
        let message = error.get("message").or_else(|| error.get("Message")).and_then(Value::as_str).unwrap_or_default();
        return format!("{} {message}", code.rsplit('#').next().unwrap_or(code)).trim().to_owned();
    }
    body.trim().to_owned()
}

/// The text of the first `<tag>` element of a query API's flat XML answer, its entities
/// decoded; `None` when the answer has no such element or it is empty. The answers read here
/// hold no attributes, CDATA or nested elements of the same name.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))?;
    let text = &body[start..start + end];
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#xD;", "\r")
        .replace("&#xA;", "\n")
        .replace("&amp;", "&");
    Some(decoded).filter(|text| !text.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_answers_are_read_with_their_entities_decoded() {
        let body = "<R><TypeConfigurations><member><Configuration>{&quot;A&quot;:&quot;x &amp; &lt;y&gt;&quot;}</Configuration></member></TypeConfigurations></R>";
        let configurations = xml_text(body, "TypeConfigurations").expect("a list");
        assert_eq!(xml_text(&configurations, "Configuration").as_deref(), Some(r#"{"A":"x & <y>"}"#));
        assert_eq!(xml_text("<R><TypeConfigurations/></R>", "TypeConfigurations"), None);
        assert_eq!(xml_text("<R><Errors></Errors></R>", "Errors"), None);
    }
}
