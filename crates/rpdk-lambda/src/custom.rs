//! The classic custom resource side of a handler binary: the type a `Custom::*` name stands
//! for, the function's own credentials, and the response PUT to CloudFormation's presigned URL.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use rpdk::Credentials;
use rpdk::custom_resource::CustomResourceResponse;

use crate::Error;

/// Attempts at the PUT of one response, the first included.
const PUT_ATTEMPTS: u32 = 5;
/// The pause after the first failed PUT; it doubles after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PUT_TIMEOUT: Duration = Duration::from_secs(10);

/// The names a type of `Service::Resource` answers to as a custom resource: `Custom::Resource`
/// and `Custom::ServiceResource`, compared without case. The first is the documented form.
pub fn custom_names(type_key: &str) -> [String; 2] {
    let (service, resource) = type_key.split_once("::").unwrap_or(("", type_key));
    let mut title = service.to_ascii_lowercase();
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    [format!("Custom::{title}{resource}"), format!("Custom::{resource}")]
}

/// Whether the template's `ResourceType` names the type of `type_key`.
pub fn names_type(resource_type: &str, type_key: &str) -> bool {
    custom_names(type_key).iter().any(|name| name.eq_ignore_ascii_case(resource_type))
}

/// The function's execution-role credentials. Lambda hands them to the runtime in the
/// environment: the first place the SDK's default chain looks, and the one Lambda fills.
pub fn execution_role_credentials() -> Option<Credentials> {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    Some(Credentials {
        access_key_id: variable("AWS_ACCESS_KEY_ID")?,
        secret_access_key: variable("AWS_SECRET_ACCESS_KEY")?,
        session_token: variable("AWS_SESSION_TOKEN"),
    })
}

fn client() -> Result<&'static reqwest::Client, Error> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(PUT_TIMEOUT).build()?;
    Ok(CLIENT.get_or_init(|| client))
}

/// PUTs the response to the presigned URL exactly as given, with the empty content type the
/// signature expects; connection faults, 429 and 5xx are retried with backoff while the
/// invocation has time. The URL's query is a signature: only its host and path are logged.
pub async fn respond(url: &str, response: &CustomResourceResponse, deadline: Option<SystemTime>) -> Result<(), Error> {
    let body = response.body();
    let shown = url.split('?').next().unwrap_or_default();
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = client()?.put(url).header(reqwest::header::CONTENT_TYPE, "").body(body.clone()).send().await;
        let retriable = match sent {
            Ok(answer) if answer.status().is_success() => {
                tracing::info!(status = ?response.status, physical_id = response.physical_resource_id, "response sent");
                return Ok(());
            }
            Ok(answer) => {
                let status = answer.status();
                let text = answer.text().await.unwrap_or_default();
                let excerpt: String = text.chars().take(300).collect();
                tracing::warn!(attempt, %status, url = shown, answer = excerpt, "the response URL refused the response");
                if !(status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS) {
                    return Err(format!("the response URL {shown} answered {status}: {excerpt}").into());
                }
                format!("{status}")
            }
            Err(error) => {
                let error = error.without_url().to_string();
                tracing::warn!(attempt, url = shown, error, "cannot reach the response URL");
                error
            }
        };
        let out_of_time = deadline.is_some_and(|d| SystemTime::now() + backoff + PUT_TIMEOUT > d);
        if attempt == PUT_ATTEMPTS || out_of_time {
            return Err(format!("the response could not be sent to {shown} in {attempt} attempts: {retriable}").into());
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_names_are_resource_and_service_resource_in_any_case() {
        assert_eq!(custom_names("SCIM::User"), ["Custom::ScimUser".to_owned(), "Custom::User".to_owned()]);
        assert!(names_type("Custom::ScimUser", "SCIM::User"));
        assert!(names_type("Custom::SCIMUser", "SCIM::User"));
        assert!(names_type("custom::user", "SCIM::User"));
        assert!(!names_type("Custom::ScimGroup", "SCIM::User"));
        assert!(!names_type("AWS::CloudFormation::CustomResource", "SCIM::User"));
    }
}
