//! A SCIM 2.0 client (RFC 7644): discovery, the resource operations the types need, and the
//! mapping of HTTP outcomes onto handler error codes.
//!
//! Every request has a bounded timeout. A `429` is retried in-process a few times, waiting
//! what `Retry-After` asks (capped), then answered as `Throttling`, which CloudFormation retries.
//! Each throttled attempt is noted on the request's deadline, so a request that runs out of
//! time while the provider throttles answers `Throttling` too.
//! Neither the token nor request bodies ever reach a message or a log line.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use rpdk::{Deadline, HandlerError, HandlerErrorCode, Secret};
use serde_json::{Value, json};

use crate::model::Capabilities;

const CONTENT_TYPE: &str = "application/scim+json";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts of one request that the provider throttles.
const THROTTLED_ATTEMPTS: u32 = 3;
/// The longest in-process wait for one `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// What a SCIM service's error responses declare (RFC 7644, 3.12).
const SCIM_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A resource collection of the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/Users`.
    Users,
    /// `/Groups`.
    Groups,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Self::Users => "Users",
            Self::Groups => "Groups",
        }
    }

    /// The resource's name in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Users => "user",
            Self::Groups => "group",
        }
    }
}

/// One resource as the provider holds it, with its version when the provider has ETags.
#[derive(Debug)]
pub struct Resource {
    /// The SCIM JSON.
    pub body: Value,
    /// The `ETag` to send back in `If-Match`.
    pub etag: Option<String>,
}

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// The resources of the page.
    pub resources: Vec<Value>,
    /// Where the next page starts, when there is one.
    pub next_start: Option<u64>,
}

/// A client of one SCIM service provider.
pub struct Scim {
    http: reqwest::Client,
    base: Url,
    token: Secret,
    deadline: Deadline,
}

impl Scim {
    /// A client of the service at `base_url` (validated beforehand), authenticating with `token`,
    /// for a request that must answer by `deadline`.
    pub fn new(base_url: &str, token: Secret, deadline: Deadline) -> Result<Self, HandlerError> {
        let mut base = Url::parse(base_url)
            .map_err(|e| HandlerError::invalid_request(format!("BaseUrl: '{base_url}' is not a URL: {e}")))?;
        // Joining relative paths needs the base to end in a slash.
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| HandlerError::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http, base, token, deadline })
    }

    /// The provider's `/ServiceProviderConfig`, read as [`Capabilities`]. Discovery may be
    /// public, so its success proves nothing about the token: see [`Scim::check_token`].
    pub async fn discover(&self) -> Result<Capabilities, HandlerError> {
        let response = self.send(Method::GET, "ServiceProviderConfig", &[], None, None).await?;
        let status = response.status;
        let config = match (status.is_success(), serde_json::from_str::<Value>(&response.text)) {
            (true, Ok(config)) if declares_schema(&config, SERVICE_PROVIDER_CONFIG) => config,
            (true, _) => {
                return Err(HandlerError::invalid_request(format!(
                    "BaseUrl: {} answered GET ServiceProviderConfig without a SCIM ServiceProviderConfig; give the SCIM 2.0 base URL (the one that serves /Users)",
                    self.base
                )));
            }
            (false, _) if status == StatusCode::NOT_FOUND => {
                return Err(HandlerError::invalid_request(format!(
                    "BaseUrl: {} has no /ServiceProviderConfig (HTTP 404): it is not a SCIM 2.0 base URL; give the one that serves /Users",
                    self.base
                )));
            }
            // A SCIM service that fails says so in a SCIM error, and a gateway in front of one
            // that is down answers 502, 503 or 504 (retried, as any outage); anything else
            // answering 5xx at this path is no SCIM service, and trying again will not make it one.
            (false, body)
                if status.is_server_error()
                    && !is_gateway_outage(status)
                    && !body.as_ref().is_ok_and(|body| declares_schema(body, SCIM_ERROR)) =>
            {
                return Err(HandlerError::invalid_request(format!(
                    "BaseUrl: {} answered GET ServiceProviderConfig with HTTP {} and no SCIM error: it is not a SCIM 2.0 base URL; give the one that serves /Users",
                    self.base,
                    status.as_u16()
                )));
            }
            (false, _) => return Err(response.error("GET ServiceProviderConfig")),
        };
        Ok(Capabilities::from_service_provider_config(&config))
    }

    /// Proves the token with an authenticated call that changes nothing.
    pub async fn check_token(&self) -> Result<(), HandlerError> {
        let response =
            self.send(Method::GET, "Users", &[("startIndex", "1".into()), ("count", "1".into())], None, None).await?;
        match response.status {
            status if status.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(HandlerError::new(
                HandlerErrorCode::AccessDenied,
                format!(
                    "BearerToken: the SCIM service refused the token (HTTP {}); give a valid bearer token",
                    response.status.as_u16()
                ),
            )),
            _ => Err(response.error("GET Users")),
        }
    }

    /// `POST /<endpoint>`.
    pub async fn create(&self, endpoint: Endpoint, body: &Value) -> Result<Resource, HandlerError> {
        let response = self.send(Method::POST, endpoint.path(), &[], Some(body), None).await?;
        if response.status.is_success() {
            return response.resource(&format!("POST {}", endpoint.path()));
        }
        Err(response.error(&format!("POST {}", endpoint.path())))
    }

    /// `GET /<endpoint>/<id>`, or `None` when the provider has no such resource.
    pub async fn get(&self, endpoint: Endpoint, id: &str) -> Result<Option<Resource>, HandlerError> {
        let path = resource_path(endpoint, id);
        let response = self.send(Method::GET, &path, &[], None, None).await?;
        match response.status {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => response.resource(&format!("GET {path}")).map(Some),
            _ => Err(response.error(&format!("GET {path}"))),
        }
    }

    /// `GET /<endpoint>?filter=<attribute> eq "<value>"`.
    pub async fn find(&self, endpoint: Endpoint, attribute: &str, value: &str) -> Result<Vec<Value>, HandlerError> {
        let filter = format!("{attribute} eq {}", Value::String(value.to_owned()));
        let query = [("filter", filter)];
        let response = self.send(Method::GET, endpoint.path(), &query, None, None).await?;
        if !response.status.is_success() {
            return Err(response.error(&format!("GET {} (filter)", endpoint.path())));
        }
        Ok(response.list(endpoint)?.resources)
    }

    /// One page of `/<endpoint>`, `count` resources from `start` (1-based), oldest first when
    /// the provider sorts.
    pub async fn list(&self, endpoint: Endpoint, start: u64, count: u64, sort: bool) -> Result<Page, HandlerError> {
        let mut query = vec![("startIndex", start.to_string()), ("count", count.to_string())];
        if sort {
            // Creation order keeps pages stable while resources are added.
            query.push(("sortBy", "meta.created".into()));
        }
        let response = self.send(Method::GET, endpoint.path(), &query, None, None).await?;
        if !response.status.is_success() {
            return Err(response.error(&format!("GET {}", endpoint.path())));
        }
        let page = response.list(endpoint)?;
        Ok(page)
    }

    /// `PUT /<endpoint>/<id>`, conditional on `etag` when given.
    pub async fn replace(
        &self,
        endpoint: Endpoint,
        id: &str,
        body: &Value,
        etag: Option<&str>,
    ) -> Result<(), HandlerError> {
        let path = resource_path(endpoint, id);
        let response = self.send(Method::PUT, &path, &[], Some(body), etag).await?;
        if response.status.is_success() {
            return Ok(());
        }
        Err(response.error(&format!("PUT {path}")))
    }

    /// `PATCH /<endpoint>/<id>` with `operations`, conditional on `etag` when given.
    pub async fn patch(
        &self,
        endpoint: Endpoint,
        id: &str,
        operations: Vec<Value>,
        etag: Option<&str>,
    ) -> Result<(), HandlerError> {
        if operations.is_empty() {
            return Ok(());
        }
        let path = resource_path(endpoint, id);
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        let response = self.send(Method::PATCH, &path, &[], Some(&body), etag).await?;
        if response.status.is_success() {
            return Ok(());
        }
        Err(response.error(&format!("PATCH {path}")))
    }

    /// `DELETE /<endpoint>/<id>`; `false` when the provider had no such resource.
    pub async fn delete(&self, endpoint: Endpoint, id: &str) -> Result<bool, HandlerError> {
        let path = resource_path(endpoint, id);
        let response = self.send(Method::DELETE, &path, &[], None, None).await?;
        match response.status {
            StatusCode::NOT_FOUND => Ok(false),
            status if status.is_success() => Ok(true),
            _ => Err(response.error(&format!("DELETE {path}"))),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Answer, HandlerError> {
        let mut url =
            self.base.join(path).map_err(|e| HandlerError::internal(format!("cannot form the URL of {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let what = format!("{method} {path}");
        let mut attempt = 1;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose())
                .header(reqwest::header::ACCEPT, CONTENT_TYPE);
            if let Some(body) = body {
                request = request.header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE).body(body.to_string());
            }
            if let Some(etag) = if_match {
                request = request.header(reqwest::header::IF_MATCH, etag);
            }
            let response = request.send().await.map_err(|e| transport_error(&what, &self.base, &e))?;
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let text = response.text().await.map_err(|e| transport_error(&what, &self.base, &e))?;
            if status == StatusCode::TOO_MANY_REQUESTS {
                self.deadline.note(HandlerErrorCode::Throttling, format!("SCIM {what}: HTTP 429"));
            }
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < THROTTLED_ATTEMPTS {
                attempt += 1;
                tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(1)).min(MAX_RETRY_AFTER)).await;
                continue;
            }
            return Ok(Answer { status, etag, text });
        }
    }
}

/// What one request answered.
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    text: String,
}

impl Answer {
    fn resource(self, what: &str) -> Result<Resource, HandlerError> {
        let body: Value = serde_json::from_str(&self.text).map_err(|_| {
            HandlerError::new(HandlerErrorCode::GeneralServiceException, format!("SCIM {what}: the answer is not JSON"))
        })?;
        // The ETag header wins; meta.version carries the same for providers that omit it.
        let etag = self.etag.or_else(|| body.pointer("/meta/version").and_then(Value::as_str).map(str::to_owned));
        Ok(Resource { body, etag })
    }

    fn list(self, endpoint: Endpoint) -> Result<Page, HandlerError> {
        let body: Value =
            serde_json::from_str(&self.text).ok().filter(|b| declares_schema(b, LIST_RESPONSE)).ok_or_else(|| {
                HandlerError::new(
                    HandlerErrorCode::GeneralServiceException,
                    format!("SCIM GET {}: the answer is not a ListResponse", endpoint.path()),
                )
            })?;
        let resources = body.get("Resources").and_then(Value::as_array).cloned().unwrap_or_default();
        let total = body.get("totalResults").and_then(Value::as_u64).unwrap_or_default();
        let start = body.get("startIndex").and_then(Value::as_u64).unwrap_or(1);
        let next = start + resources.len() as u64;
        let next_start = (!resources.is_empty() && next <= total).then_some(next);
        Ok(Page { resources, next_start })
    }

    /// The handler error for an unsuccessful answer, with the provider's `detail`.
    fn error(self, what: &str) -> HandlerError {
        let error: Value = serde_json::from_str(&self.text).unwrap_or(Value::Null);
        let detail = error.get("detail").and_then(Value::as_str).unwrap_or("no detail");
        let scim_type = error.get("scimType").and_then(Value::as_str);
        let code = match self.status.as_u16() {
            400 => HandlerErrorCode::InvalidRequest,
            401 | 403 => HandlerErrorCode::AccessDenied,
            404 => HandlerErrorCode::NotFound,
            409 if scim_type == Some("uniqueness") => HandlerErrorCode::AlreadyExists,
            409 | 412 => HandlerErrorCode::ResourceConflict,
            429 => HandlerErrorCode::Throttling,
            500..=599 => HandlerErrorCode::ServiceInternalError,
            _ => HandlerErrorCode::GeneralServiceException,
        };
        let hint = match self.status.as_u16() {
            401 | 403 => "; the connector's BearerToken is wrong or lacks the right: update the connector",
            412 => "; the resource changed on the provider meanwhile: retry the update",
            _ => "",
        };
        let scim_type = scim_type.map(|t| format!(" ({t})")).unwrap_or_default();
        HandlerError::new(
            code,
            format!("SCIM {what} answered HTTP {}{scim_type}: {detail}{hint}", self.status.as_u16()),
        )
    }
}

fn resource_path(endpoint: Endpoint, id: &str) -> String {
    // Ids are opaque: keep them one path segment.
    let encoded: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{}/{encoded}", endpoint.path())
}

/// The statuses a gateway answers while the service behind it is down or slow.
fn is_gateway_outage(status: StatusCode) -> bool {
    matches!(status, StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT)
}

fn declares_schema(body: &Value, urn: &str) -> bool {
    body.get("schemas").and_then(Value::as_array).is_some_and(|schemas| schemas.iter().any(|s| s == urn))
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

fn transport_error(what: &str, base: &Url, error: &reqwest::Error) -> HandlerError {
    // The error's URL may hold a filter value; name the service by its base URL only.
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect (refused, unreachable, or the TLS handshake failed)"
    } else {
        "the connection failed"
    };
    HandlerError::new(
        HandlerErrorCode::NetworkFailure,
        format!(
            "SCIM {what} at {base}: {kind}; check BaseUrl, that the service is up, its TLS certificate and the network path from the handler"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(resource_path(Endpoint::Users, "2819c223-7f76"), "Users/2819c223-7f76");
        assert_eq!(resource_path(Endpoint::Groups, "a/b?c"), "Groups/a%2Fb%3Fc");
    }

    #[test]
    fn http_outcomes_map_onto_handler_codes() {
        let answer = |status: u16, text: &str| Answer {
            status: StatusCode::from_u16(status).expect("status"),
            etag: None,
            text: text.into(),
        };
        let uniqueness = r#"{"status":"409","scimType":"uniqueness","detail":"taken"}"#;
        for (status, text, code) in [
            (400, r#"{"detail":"bad filter"}"#, HandlerErrorCode::InvalidRequest),
            (401, "", HandlerErrorCode::AccessDenied),
            (403, "", HandlerErrorCode::AccessDenied),
            (404, "", HandlerErrorCode::NotFound),
            (409, uniqueness, HandlerErrorCode::AlreadyExists),
            (409, r#"{"detail":"busy"}"#, HandlerErrorCode::ResourceConflict),
            (412, "", HandlerErrorCode::ResourceConflict),
            (429, "", HandlerErrorCode::Throttling),
            (503, "", HandlerErrorCode::ServiceInternalError),
            (418, "", HandlerErrorCode::GeneralServiceException),
        ] {
            assert_eq!(answer(status, text).error("GET Users").code(), code, "HTTP {status}");
        }
        assert!(answer(400, r#"{"detail":"bad filter"}"#).error("GET Users").message().contains("bad filter"));
    }

    /// A provider that throttles: no emulator answers 429, so this test serves one itself,
    /// from a plain TCP listener: two `429`s with `Retry-After: 1`, then the answer.
    #[test]
    fn throttled_requests_wait_what_retry_after_asks_then_succeed() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = listener.local_addr().expect("an address");
        let server = std::thread::spawn(move || {
            let list = json!({"schemas": [LIST_RESPONSE], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}).to_string();
            for answer in [None, None, Some(list)] {
                let (mut stream, _) = listener.accept().expect("a request");
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let response = match answer {
                    None => "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                    Some(body) => format!("HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
                };
                stream.write_all(response.as_bytes()).expect("an answer");
            }
        });
        let deadline = Deadline::after(Duration::from_secs(60));
        let scim = Scim::new(&format!("http://{address}/v2"), Secret::new("t"), deadline.clone()).expect("a client");
        let started = std::time::Instant::now();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let page = runtime.block_on(scim.list(Endpoint::Users, 1, 10, false)).expect("the third attempt succeeds");
        assert!(page.resources.is_empty());
        assert!(started.elapsed() >= Duration::from_secs(2), "waited Retry-After twice");
        assert_eq!(
            deadline.ran_out().code(),
            HandlerErrorCode::Throttling,
            "the throttling is noted, for a request that runs out of time"
        );
        server.join().expect("the fake provider ends");
    }

    #[test]
    fn list_pages_end_at_the_total() {
        let page = |start: u64, n: usize, total: u64| {
            let resources: Vec<Value> = (0..n).map(|i| json!({"id": i.to_string()})).collect();
            let text = json!({"schemas": [LIST_RESPONSE], "totalResults": total, "startIndex": start, "itemsPerPage": n, "Resources": resources}).to_string();
            Answer { status: StatusCode::OK, etag: None, text }.list(Endpoint::Users).expect("a list").next_start
        };
        assert_eq!(page(1, 3, 7), Some(4));
        assert_eq!(page(4, 3, 7), Some(7));
        assert_eq!(page(7, 1, 7), None);
        assert_eq!(page(8, 0, 7), None);
    }
}
