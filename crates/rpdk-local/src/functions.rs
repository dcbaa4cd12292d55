//! The typed protocol client of the local stack's Lambda endpoint (`cargo lambda watch`): it
//! invokes a function, and follows an operation's IN_PROGRESS events within the bound its
//! caller gives, by [`rpdk::follow`]'s rule.

use std::time::{Duration, Instant, SystemTime};

use rpdk::follow::{Next, Operation};
use rpdk::wire::{HandlerRequest, ProgressEvent};
use serde::Serialize;
use serde_json::Value;

use crate::Error;

/// How long one invocation may take before the client gives up on it: longer than any
/// handler's own deadline, so a slow handler is never cut short here.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(300);

/// The functions of a local stack, at its Lambda endpoint.
pub struct Functions {
    base: String,
    agent: ureq::Agent,
}

/// One answer of a followed operation, as the function returned it.
#[derive(Debug)]
pub struct Answer {
    /// The progress event, as JSON.
    pub event: Value,
    /// How long the invocation took, from sending to the answer.
    pub took: Duration,
}

impl Functions {
    /// The functions behind the Lambda endpoint at `base_url` (e.g. `http://127.0.0.1:9001`).
    pub fn new(base_url: impl Into<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(INVOKE_TIMEOUT))
            .build()
            .into();
        Self { base: base_url.into(), agent }
    }

    /// Sends `body` to `function` as it is, bytes that are no JSON included; answers the text
    /// the function returned.
    pub fn invoke_bytes(&self, function: &str, body: &[u8]) -> Result<String, Error> {
        let unreachable = |source| Error::Unreachable { function: function.to_owned(), source: Box::new(source) };
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base);
        let mut response = self.agent.post(&url).send(body).map_err(unreachable)?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(unreachable)?;
        if !status.is_success() {
            return Err(Error::Refused { function: function.to_owned(), status: status.as_u16(), body: text });
        }
        Ok(text)
    }

    /// Invokes `function` once with `payload`; answers the JSON it returned.
    pub fn invoke(&self, function: &str, payload: &impl Serialize) -> Result<Value, Error> {
        let body = serde_json::to_vec(payload).map_err(Error::Payload)?;
        let text = self.invoke_bytes(function, &body)?;
        serde_json::from_str(&text).map_err(|_| Error::Unreadable {
            function: function.to_owned(),
            what: "not JSON",
            text,
        })
    }

    /// Follows `operation` to its end on `function` (see [`follow`]).
    pub fn follow<E: From<Error>>(
        &self,
        function: &str,
        operation: Operation,
        prepare: &mut dyn FnMut(&mut HandlerRequest) -> Result<(), E>,
        on_answer: &mut dyn FnMut(&Answer) -> Result<(), E>,
    ) -> Result<Value, E> {
        follow(function, operation, &mut |request| Ok(self.invoke(function, request)?), prepare, on_answer)
    }
}

/// Follows `operation` to its end as CloudFormation does, through `invoke` (one invocation of
/// `function`). `prepare` readies each request before it is sent (CloudFormation passes fresh
/// credentials every time); `on_answer` sees each answer as it arrives. Answers the last event.
/// An operation still IN_PROGRESS when its bound runs out is [`Error::Unfinished`].
pub fn follow<E: From<Error>>(
    function: &str,
    mut operation: Operation,
    invoke: &mut dyn FnMut(&HandlerRequest) -> Result<Value, E>,
    prepare: &mut dyn FnMut(&mut HandlerRequest) -> Result<(), E>,
    on_answer: &mut dyn FnMut(&Answer) -> Result<(), E>,
) -> Result<Value, E> {
    loop {
        prepare(operation.request_mut())?;
        let started = Instant::now();
        let event = invoke(operation.request())?;
        let answer = Answer { event, took: started.elapsed() };
        on_answer(&answer)?;
        let progress: ProgressEvent = serde_json::from_value(answer.event.clone()).map_err(|_| Error::Unreadable {
            function: function.to_owned(),
            what: "no progress event",
            text: answer.event.to_string(),
        })?;
        match operation.answered(&progress, SystemTime::now()) {
            Next::Ended => return Ok(answer.event),
            Next::After(delay) => std::thread::sleep(delay),
            Next::Unfinished(why) => {
                let request = operation.request();
                return Err(Error::Unfinished {
                    function: function.to_owned(),
                    action: request.action.map_or("the operation", |a| a.as_str()).to_owned(),
                    resource_type: request.resource_type.clone().unwrap_or_default(),
                    why,
                }
                .into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use rpdk::follow::Bound;

    use super::*;

    /// A made-up function endpoint that answers every invocation IN_PROGRESS, as a handler that
    /// never finishes would; no emulator misbehaves so on demand. Answers how many it served.
    fn forever_in_progress(listener: std::net::TcpListener, invocations: usize) -> std::thread::JoinHandle<usize> {
        std::thread::spawn(move || {
            let event = r#"{"status":"IN_PROGRESS","callbackDelaySeconds":0,"callbackContext":{"n":1},"resourceModel":{"Id":"i-1"}}"#;
            for served in 0..invocations {
                let Ok((mut stream, _)) = listener.accept() else { return served };
                let mut request = [0u8; 8192];
                let _ = stream.read(&mut request);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
                    event.len()
                );
                stream.write_all(answer.as_bytes()).expect("an answer");
            }
            invocations
        })
    }

    #[test]
    fn an_operation_that_never_finishes_ends_at_its_bound_with_an_error_that_says_so() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let functions = Functions::new(format!("http://{}", listener.local_addr().expect("an address")));
        let server = forever_in_progress(listener, 3);
        let request = HandlerRequest {
            action: Some(rpdk::Action::Create),
            resource_type: Some("Rpdk::Demo::Thing".into()),
            ..HandlerRequest::default()
        };
        let mut seen = Vec::new();
        let error = functions
            .follow::<Error>("thing", Operation::new(request, Bound::Invocations(3)), &mut |_| Ok(()), &mut |answer| {
                seen.push(answer.event["callbackContext"].clone());
                Ok(())
            })
            .expect_err("the bound ends it");
        assert_eq!(error.to_string(), "CREATE of Rpdk::Demo::Thing (thing) is still IN_PROGRESS after 3 invocations");
        assert_eq!(seen.len(), 3);
        assert_eq!(server.join().expect("the endpoint ends"), 3);
    }
}
