//! Following one operation as CloudFormation does: an IN_PROGRESS event asks for the same
//! request again after its delay, carrying the event's callback context and model; any other
//! event ends the operation. A handler may answer IN_PROGRESS for ever, so every caller bounds
//! how far it follows.

use std::time::{Duration, SystemTime};

use crate::wire::{HandlerRequest, OperationStatus, ProgressEvent};

/// The delay of an IN_PROGRESS event that names none.
const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// How far a caller follows one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// At most this many invocations.
    Invocations(u32),
    /// No invocation starts after this time (as CloudFormation's handler timeout).
    Until(SystemTime),
}

/// What comes after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// The operation ended with the event.
    Ended,
    /// Invoke again after this delay, with [`Operation::request`] as it now is.
    After(Duration),
    /// The event was IN_PROGRESS, but the bound allows no further invocation; the message
    /// says which bound.
    Unfinished(String),
}

/// One operation being followed: the request to send next and how far to go.
#[derive(Debug)]
pub struct Operation {
    request: HandlerRequest,
    bound: Bound,
    invocations: u32,
}

impl Operation {
    /// Follows `request` within `bound`.
    pub fn new(request: HandlerRequest, bound: Bound) -> Self {
        Self { request, bound, invocations: 0 }
    }

    /// The request to send next.
    pub fn request(&self) -> &HandlerRequest {
        &self.request
    }

    /// The request to send next, to change before sending (fresh credentials for each
    /// invocation, as CloudFormation passes them).
    pub fn request_mut(&mut self) -> &mut HandlerRequest {
        &mut self.request
    }

    /// Takes the event the request was answered with at `now`, and readies the next request.
    pub fn answered(&mut self, event: &ProgressEvent, now: SystemTime) -> Next {
        self.invocations += 1;
        if event.status != OperationStatus::InProgress {
            return Next::Ended;
        }
        let delay = event.callback_delay_seconds.map_or(DEFAULT_DELAY, |seconds| Duration::from_secs(seconds.into()));
        match self.bound {
            Bound::Invocations(most) if self.invocations >= most => {
                return Next::Unfinished(format!("still IN_PROGRESS after {most} invocations"));
            }
            Bound::Until(end) if now + delay > end => {
                return Next::Unfinished(format!(
                    "still IN_PROGRESS after {} invocations when its time ran out",
                    self.invocations
                ));
            }
            _ => {}
        }
        self.request.callback_context.clone_from(&event.callback_context);
        self.request.request_data.resource_properties.clone_from(&event.resource_model);
        Next::After(delay)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn in_progress(delay: u32) -> ProgressEvent {
        serde_json::from_value(json!({"status": "IN_PROGRESS", "callbackDelaySeconds": delay, "callbackContext": {"step": 2}, "resourceModel": {"Name": "n", "Id": "i-1"}}))
            .expect("an event")
    }

    #[test]
    fn in_progress_asks_again_with_the_events_context_and_model() {
        let request = HandlerRequest { callback_context: None, ..HandlerRequest::default() };
        let mut operation = Operation::new(request, Bound::Invocations(3));
        assert_eq!(operation.answered(&in_progress(5), SystemTime::now()), Next::After(Duration::from_secs(5)));
        assert_eq!(operation.request().callback_context, Some(json!({"step": 2})));
        assert_eq!(operation.request().request_data.resource_properties, Some(json!({"Name": "n", "Id": "i-1"})));
        let success: ProgressEvent = serde_json::from_value(json!({"status": "SUCCESS"})).expect("an event");
        assert_eq!(operation.answered(&success, SystemTime::now()), Next::Ended);
    }

    #[test]
    fn every_bound_ends_an_operation_that_never_finishes() {
        let mut counted = Operation::new(HandlerRequest::default(), Bound::Invocations(2));
        assert!(matches!(counted.answered(&in_progress(1), SystemTime::now()), Next::After(_)));
        assert!(
            matches!(counted.answered(&in_progress(1), SystemTime::now()), Next::Unfinished(m) if m.contains("after 2 invocations"))
        );

        let now = SystemTime::now();
        let mut timed = Operation::new(HandlerRequest::default(), Bound::Until(now + Duration::from_secs(10)));
        assert_eq!(timed.answered(&in_progress(5), now), Next::After(Duration::from_secs(5)));
        assert!(
            matches!(timed.answered(&in_progress(5), now + Duration::from_secs(6)), Next::Unfinished(m) if m.contains("time ran out"))
        );
    }
}
