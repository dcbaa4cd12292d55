//! The provider's own logs and metrics, delivered to the type author's account.
//!
//! A registered type runs in CloudFormation's account: its stdout reaches nobody. When a request
//! carries `providerCredentials` and `providerLogGroupName` (a type registered with a
//! `LoggingConfig`), the invocation's log records also go to that CloudWatch Logs group, in
//! the stream the Python and TypeScript plugins name ([`rpdk::wire::provider_log_stream`]),
//! and one `PutMetricData` publishes
//! the metrics of the Java plugin's `MetricsPublisherImpl`, both signed with the provider's
//! credentials and never the caller's. Both are sent together once the answer is ready, before
//! it is returned (Lambda freezes the process after the response), and bounded in time; a
//! failure to deliver goes to stdout and never changes the answer.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SdkConfig;
use rpdk::wire::HandlerRequest;
use rpdk::{Action, Credentials, HandlerErrorCode};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// The longest delivery may take: it runs after the answer is ready and before it is returned.
const DELIVERY_LIMIT: Duration = Duration::from_secs(3);
/// Kept back from the invocation's deadline for returning the answer after delivery.
const RETURN_RESERVE: Duration = Duration::from_millis(300);
/// CloudWatch Logs counts this much on top of each event's message.
const EVENT_OVERHEAD: usize = 26;
/// The largest `PutLogEvents` batch, in bytes and in events.
const BATCH_BYTES: usize = 1_048_576;
const BATCH_EVENTS: usize = 10_000;
/// The largest event message (CloudWatch's 256 KiB event, less its overhead).
const EVENT_BYTES: usize = 262_144 - EVENT_OVERHEAD;
/// Log text kept per invocation; records past it are counted, not kept.
const CAPTURE_BYTES: usize = 4 * 1_048_576;

tokio::task_local! {
    static CAPTURE: Capture;
}

/// The log records of one invocation, as written to stdout.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Captured>>);

#[derive(Default)]
struct Captured {
    records: Vec<(i64, String)>,
    bytes: usize,
    left_out: usize,
}

impl Capture {
    /// Runs `work` with every log record it writes kept here too.
    pub async fn scope<F: Future>(&self, work: F) -> F::Output {
        CAPTURE.scope(self.clone(), work).await
    }

    fn push(&self, line: &[u8]) {
        let Ok(mut captured) = self.0.lock() else { return };
        let message = String::from_utf8_lossy(line).trim_end().to_owned();
        if captured.bytes + message.len() > CAPTURE_BYTES {
            captured.left_out += 1;
            return;
        }
        captured.bytes += message.len();
        captured.records.push((millis(SystemTime::now()), message));
    }

    /// The records kept, oldest first, with a last one saying how many were left out.
    fn take(&self) -> Vec<(i64, String)> {
        let Ok(mut captured) = self.0.lock() else { return Vec::new() };
        let left_out = std::mem::take(&mut captured.left_out);
        let mut records = std::mem::take(&mut captured.records);
        if left_out > 0 {
            let note = format!(
                "{{\"level\":\"WARN\",\"message\":\"{left_out} log records of this invocation were left out: it logged more than {CAPTURE_BYTES} bytes\"}}"
            );
            records.push((millis(SystemTime::now()), note));
        }
        records
    }
}

/// The log writer: every record goes to stdout, and into the invocation's [`Capture`] when
/// one is running.
#[derive(Clone, Copy, Default)]
pub struct Tee;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Tee {
    type Writer = TeeWriter;

    fn make_writer(&'a self) -> TeeWriter {
        TeeWriter { capture: CAPTURE.try_with(Capture::clone).ok() }
    }
}

/// Writes one record to stdout and to the running capture.
pub struct TeeWriter {
    capture: Option<Capture>,
}

impl Write for TeeWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stdout().lock().write_all(buf)?;
        if let Some(capture) = &self.capture {
            capture.push(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// Where one registry request asks its provider logs and metrics to go.
pub struct Delivery {
    config: SdkConfig,
    log_group: String,
    log_stream: String,
    namespace: Option<String>,
    action: String,
    resource_type: String,
}

/// What a request says about where its provider logs and metrics go, in either protocol's
/// words.
#[derive(Default)]
pub struct Addressed<'a> {
    log_group: Option<&'a str>,
    credentials: Option<Credentials>,
    region: Option<&'a str>,
    stack_id: Option<&'a str>,
    logical_id: Option<&'a str>,
    account: Option<&'a str>,
    type_name: Option<&'a str>,
    action: Option<&'a str>,
}

impl<'a> Addressed<'a> {
    /// From a request's outline (its fields picked out of the payload): a registry request's
    /// words, or a hook's: the credentials as a JSON string, the target's logical id, the
    /// invocation point as the action, the hook's type name, and no region.
    pub fn of_outline(payload: &'a Value) -> Self {
        let text = |pointer: &str| payload.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty());
        let either = |pointers: [&str; 2]| pointers.into_iter().find_map(text);
        let credentials = match payload.pointer("/requestData/providerCredentials") {
            Some(Value::String(encoded)) => serde_json::from_str(encoded).ok(),
            Some(object) => Credentials::deserialize(object).ok(),
            None => None,
        };
        Self {
            log_group: text("/requestData/providerLogGroupName"),
            credentials,
            region: text("/region"),
            stack_id: text("/stackId"),
            logical_id: either(["/requestData/logicalResourceId", "/requestData/targetLogicalId"]),
            account: text("/awsAccountId"),
            type_name: either(["/resourceType", "/hookTypeName"]),
            action: either(["/action", "/actionInvocationPoint"]),
        }
    }

    /// From a registry request read straight from its payload.
    pub fn of_request(request: &'a HandlerRequest<&RawValue>) -> Self {
        let text = |field: &'a Option<String>| field.as_deref().filter(|s| !s.is_empty());
        let data = &request.request_data;
        Self {
            log_group: text(&data.provider_log_group_name),
            credentials: data.provider_credentials.clone(),
            region: text(&request.region),
            stack_id: text(&request.stack_id),
            logical_id: text(&data.logical_resource_id),
            account: text(&request.aws_account_id),
            type_name: text(&request.resource_type),
            action: request.action.map(Action::as_str),
        }
    }
}

impl Delivery {
    /// The delivery a request asks for: `None` unless it names both the provider's credentials
    /// and its log group. Without a region, the stack's (else the function's) is used.
    pub fn requested(addressed: Addressed<'_>) -> Option<Self> {
        let log_group = addressed.log_group?.to_owned();
        let credentials = addressed.credentials?;
        if credentials.access_key_id.is_empty() {
            return None;
        }
        let function_region = std::env::var("AWS_REGION").ok();
        let region = addressed
            .region
            .or_else(|| addressed.stack_id.and_then(|arn| arn.split(':').nth(3)).filter(|r| !r.is_empty()))
            .or(function_region.as_deref())?;
        let config = rpdk_aws::sdk_config(Some(&credentials), region).ok()?;
        let log_stream = rpdk::wire::provider_log_stream(
            addressed.stack_id,
            addressed.logical_id,
            addressed.account.unwrap_or_default(),
            region,
        );
        let resource_type = addressed.type_name.unwrap_or_default().to_owned();
        Some(Self {
            config,
            log_group,
            log_stream,
            namespace: (!resource_type.is_empty())
                .then(|| format!("AWS/CloudFormation/{}", resource_type.replace("::", "/"))),
            action: addressed.action.unwrap_or("NO_ACTION").to_owned(),
            resource_type,
        })
    }

    /// Sends the captured records and the invocation's metrics, both at once, within the
    /// delivery limit and before `deadline`. `failure` is the error code of a FAILED answer.
    pub async fn deliver(self, capture: &Capture, failure: Option<&str>, took: Duration, deadline: Option<SystemTime>) {
        let records = capture.take();
        let now = SystemTime::now();
        let limit = deadline
            .and_then(|d| d.duration_since(now).ok())
            .map_or(DELIVERY_LIMIT, |left| left.saturating_sub(RETURN_RESERVE).min(DELIVERY_LIMIT));
        let logs = self.put_logs(records);
        let metrics = self.put_metrics(failure, took, now);
        match tokio::time::timeout(limit, futures::future::join(logs, metrics)).await {
            Ok((logs, metrics)) => {
                if let Err(error) = logs {
                    tracing::warn!(log_group = %self.log_group, error, "the provider log records could not be delivered");
                }
                if let Err(error) = metrics {
                    tracing::warn!(error, "the provider metrics could not be published");
                }
            }
            Err(_) => tracing::warn!(
                seconds = limit.as_secs_f32(),
                "the provider logs and metrics were not delivered in time"
            ),
        }
    }

    async fn put_logs(&self, records: Vec<(i64, String)>) -> Result<(), String> {
        let client = aws_sdk_cloudwatchlogs::Client::new(&self.config);
        for batch in batches(records) {
            let put = || {
                client
                    .put_log_events()
                    .log_group_name(&self.log_group)
                    .log_stream_name(&self.log_stream)
                    .set_log_events(Some(batch.clone()))
                    .send()
            };
            match put().await {
                Ok(_) => {}
                Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                    self.create_stream(&client).await?;
                    put().await.map_err(|e| failed("CloudWatch Logs PutLogEvents", e))?;
                }
                Err(error) => return Err(failed("CloudWatch Logs PutLogEvents", error)),
            }
        }
        Ok(())
    }

    /// Creates the stream, and the group first when it is missing too.
    async fn create_stream(&self, client: &aws_sdk_cloudwatchlogs::Client) -> Result<(), String> {
        let create =
            || client.create_log_stream().log_group_name(&self.log_group).log_stream_name(&self.log_stream).send();
        match create().await {
            Ok(_) => return Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {
                return Ok(());
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(error) => return Err(failed("CloudWatch Logs CreateLogStream", error)),
        }
        match client.create_log_group().log_group_name(&self.log_group).send().await {
            Ok(_) => {}
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(error) => return Err(failed("CloudWatch Logs CreateLogGroup", error)),
        }
        match create().await {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => Ok(()),
            Err(error) => Err(failed("CloudWatch Logs CreateLogStream", error)),
        }
    }

    async fn put_metrics(&self, failure: Option<&str>, took: Duration, at: SystemTime) -> Result<(), String> {
        let Some(namespace) = &self.namespace else { return Ok(()) };
        let client = aws_sdk_cloudwatch::Client::new(&self.config);
        client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(metrics(&self.action, &self.resource_type, failure, took, at)))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| failed("CloudWatch PutMetricData", error))
    }
}

/// What the Java plugin publishes per invocation, in one call: `HandlerInvocationCount` and
/// `HandlerInvocationDuration` (by action and type); for a FAILED answer `HandlerException`
/// (by action, exception type, type and error code); and `HandlerExceptionByErrorCode` (1 for
/// the answer's code, 0 for every other) and `HandlerExceptionByExceptionCount` (1 when it
/// failed), by action. Every failure is an error the handler or the framework returned, so the
/// exception type is rpdk's one error type.
fn metrics(
    action: &str,
    resource_type: &str,
    failure: Option<&str>,
    took: Duration,
    at: SystemTime,
) -> Vec<MetricDatum> {
    let timestamp = DateTime::from(at);
    let datum = |name: &str, unit: StandardUnit, value: f64, dimensions: &[(&str, &str)]| {
        MetricDatum::builder()
            .metric_name(name)
            .unit(unit)
            .value(value)
            .timestamp(timestamp)
            .set_dimensions(Some(
                dimensions.iter().map(|(name, value)| Dimension::builder().name(*name).value(*value).build()).collect(),
            ))
            .build()
    };
    let by_type = [("Action", action), ("ResourceType", resource_type)];
    let mut data = vec![
        datum("HandlerInvocationCount", StandardUnit::Count, 1.0, &by_type),
        datum("HandlerInvocationDuration", StandardUnit::Milliseconds, took.as_secs_f64() * 1000.0, &by_type),
    ];
    if let Some(code) = failure {
        let dimensions = [
            ("Action", action),
            ("ExceptionType", "rpdk::HandlerError"),
            ("ResourceType", resource_type),
            ("HandlerErrorCode", code),
        ];
        data.push(datum("HandlerException", StandardUnit::Count, 1.0, &dimensions));
    }
    for code in HandlerErrorCode::ALL {
        let value = if failure == Some(code.as_str()) { 1.0 } else { 0.0 };
        data.push(datum(
            "HandlerExceptionByErrorCode",
            StandardUnit::Count,
            value,
            &[("Action", action), ("HandlerErrorCode", code.as_str())],
        ));
    }
    data.push(datum(
        "HandlerExceptionByExceptionCount",
        StandardUnit::Count,
        if failure.is_some() { 1.0 } else { 0.0 },
        &[("Action", action)],
    ));
    data
}

/// The records in `PutLogEvents` batches, each message within an event's limit.
fn batches(records: Vec<(i64, String)>) -> Vec<Vec<InputLogEvent>> {
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for (timestamp, mut message) in records {
        if message.len() > EVENT_BYTES {
            let mut end = EVENT_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        let size = message.len() + EVENT_OVERHEAD;
        if !batch.is_empty() && (bytes + size > BATCH_BYTES || batch.len() == BATCH_EVENTS) {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += size;
        if let Ok(event) = InputLogEvent::builder().timestamp(timestamp).message(message).build() {
            batch.push(event);
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// An SDK error as one line: its code and message, never the request.
fn failed<E>(operation: &str, error: SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    rpdk_aws::classify(operation, error, &[]).to_string()
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_the_java_plugins_with_the_failed_code_counted() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let failed =
            metrics("CREATE", "Rpdk::IAM::CrossAccountRole", Some("NotFound"), Duration::from_millis(1500), at);
        let named = |name: &str| failed.iter().filter(|d| d.metric_name() == Some(name)).collect::<Vec<_>>();
        let dimension = |datum: &MetricDatum, name: &str| {
            datum.dimensions().iter().find(|d| d.name() == Some(name)).and_then(|d| d.value()).map(str::to_owned)
        };
        assert_eq!(named("HandlerInvocationCount")[0].value(), Some(1.0));
        assert_eq!(named("HandlerInvocationDuration")[0].value(), Some(1500.0));
        assert_eq!(named("HandlerInvocationDuration")[0].unit(), Some(&StandardUnit::Milliseconds));
        let exception = named("HandlerException");
        assert_eq!(dimension(exception[0], "HandlerErrorCode").as_deref(), Some("NotFound"));
        assert_eq!(dimension(exception[0], "ResourceType").as_deref(), Some("Rpdk::IAM::CrossAccountRole"));
        let by_code = named("HandlerExceptionByErrorCode");
        assert_eq!(by_code.len(), HandlerErrorCode::ALL.len());
        let ones: Vec<_> =
            by_code.iter().filter(|d| d.value() == Some(1.0)).map(|d| dimension(d, "HandlerErrorCode")).collect();
        assert_eq!(ones, [Some("NotFound".to_owned())]);
        assert_eq!(named("HandlerExceptionByExceptionCount")[0].value(), Some(1.0));

        let succeeded = metrics("READ", "Rpdk::IAM::CrossAccountRole", None, Duration::ZERO, at);
        assert!(succeeded.iter().all(|d| d.metric_name() != Some("HandlerException")));
        assert!(
            succeeded
                .iter()
                .filter(|d| d.metric_name() == Some("HandlerExceptionByErrorCode"))
                .all(|d| d.value() == Some(0.0))
        );
    }

    #[test]
    fn batches_keep_the_service_limits() {
        let big = "é".repeat(EVENT_BYTES);
        let records: Vec<(i64, String)> = (0..12).map(|i| (i, big.clone())).collect();
        let split = batches(records);
        for batch in &split {
            let bytes: usize = batch.iter().map(|e| e.message().len() + EVENT_OVERHEAD).sum();
            assert!(bytes <= BATCH_BYTES && batch.len() <= BATCH_EVENTS);
            assert!(batch.iter().all(|e| e.message().len() <= EVENT_BYTES));
        }
        assert_eq!(split.iter().map(Vec::len).sum::<usize>(), 12);
        let many: Vec<(i64, String)> = (0..25_000).map(|i| (i, "x".to_owned())).collect();
        assert_eq!(batches(many).iter().map(Vec::len).collect::<Vec<_>>(), [10_000, 10_000, 5_000]);
    }

    #[tokio::test]
    async fn a_capture_keeps_what_its_scope_writes_and_counts_what_overflows() {
        let capture = Capture::default();
        capture
            .scope(async {
                let mut writer = tracing_subscriber::fmt::MakeWriter::make_writer(&Tee);
                writer.write_all(b"{\"message\":\"one\"}\n").expect("written");
            })
            .await;
        let mut outside = tracing_subscriber::fmt::MakeWriter::make_writer(&Tee);
        outside.write_all(b"{\"message\":\"outside\"}\n").expect("written");
        let records = capture.take();
        assert_eq!(records.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>(), ["{\"message\":\"one\"}"]);

        let huge = "y".repeat(CAPTURE_BYTES / 2 + 1);
        capture.push(huge.as_bytes());
        capture.push(huge.as_bytes());
        let records = capture.take();
        assert_eq!(records.len(), 2);
        assert!(records[1].1.contains("1 log records of this invocation were left out"), "{}", records[1].1);
    }
}
