//! The time one invocation has, the clock it is read on, and what used it.
//!
//! CloudFormation gives a handler 60 s for CREATE, UPDATE and DELETE and 30 s for READ and
//! LIST, and Lambda stops the function at its own deadline, after which CloudFormation retries
//! blind. The dispatcher therefore stops every handler call at its [`Deadline`] and answers
//! itself: IN_PROGRESS with the saved context when the operation can resume, else FAILED with
//! the code of what used the time. Clients that retry on their own (the AWS SDK, the SCIM
//! client) [`note`](Deadline::note) each fault they retry, so that answer can say
//! `Throttling` when throttling is what used the time.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::error::{HandlerError, HandlerErrorCode};

/// A future that sleeps.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The source of time: the system's in production, a fake one in tests.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The system clock, sleeping on tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The pause before CloudFormation invokes again after a call was stopped at the deadline.
const RESUME_AFTER: Duration = Duration::from_secs(1);
/// The same when the service throttled: calling again at once would meet the same limit.
const RESUME_AFTER_THROTTLING: Duration = Duration::from_secs(5);

/// When the handler must have answered, shared by everything that works for one invocation.
#[derive(Clone)]
pub struct Deadline {
    at: SystemTime,
    clock: Arc<dyn Clock>,
    faults: Arc<Mutex<Faults>>,
}

/// The transient faults noted during one invocation.
#[derive(Default)]
struct Faults {
    /// The last throttling fault: it outranks any other, since waiting it out used the time.
    throttled: Option<String>,
    /// The last fault of any other kind.
    last: Option<(HandlerErrorCode, String)>,
}

impl Deadline {
    /// A deadline at `at`, read on `clock`.
    pub fn new(at: SystemTime, clock: Arc<dyn Clock>) -> Self {
        Self { at, clock, faults: Arc::default() }
    }

    /// A deadline `after` from now on the system clock.
    pub fn after(after: Duration) -> Self {
        Self::new(SystemTime::now() + after, Arc::new(SystemClock))
    }

    /// When the handler must have answered.
    pub fn at(&self) -> SystemTime {
        self.at
    }

    /// The time left.
    pub fn remaining(&self) -> Duration {
        self.at.duration_since(self.clock.now()).unwrap_or_default()
    }

    /// Records a transient fault that cost time: a throttled, failed or timed-out call that a
    /// client retried or gave up on. `detail` names the call and the fault, never inputs.
    /// Codes that are not retriable are no transient faults and are not recorded.
    pub fn note(&self, code: HandlerErrorCode, detail: impl Into<String>) {
        if !code.is_retriable() {
            return;
        }
        let detail = detail.into();
        let Ok(mut faults) = self.faults.lock() else { return };
        if code == HandlerErrorCode::Throttling {
            faults.throttled = Some(detail);
        } else {
            faults.last = Some((code, detail));
        }
    }

    /// The FAILED error of an invocation that ran out of time: coded by what used the time
    /// (`Throttling`, else the last fault noted, else `NetworkFailure` for a call that did not
    /// answer), every one of which CloudFormation may retry.
    pub fn ran_out(&self) -> HandlerError {
        let faults = self.faults.lock().map(|f| (f.throttled.clone(), f.last.clone())).unwrap_or_default();
        let (code, cause) = match faults {
            (Some(detail), _) => {
                (HandlerErrorCode::Throttling, format!("the service throttled the handler's calls (last: {detail})"))
            }
            (None, Some((code, detail))) => (code, format!("the handler's calls kept failing (last: {detail})")),
            (None, None) => {
                (HandlerErrorCode::NetworkFailure, "a call to the service did not answer in time".to_owned())
            }
        };
        HandlerError::new(
            code,
            format!(
                "time ran out before the handler could finish: {cause}; an invocation must answer within the action's limit (60 s, READ and LIST 30 s) and the function's timeout"
            ),
        )
    }

    /// How long CloudFormation should wait before resuming an operation stopped at the deadline.
    pub(crate) fn resume_after(&self) -> Duration {
        let throttled = self.faults.lock().is_ok_and(|f| f.throttled.is_some());
        if throttled { RESUME_AFTER_THROTTLING } else { RESUME_AFTER }
    }

    /// The clock the deadline is read on.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline").field("at", &self.at).field("remaining", &self.remaining()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_names_the_cause_over_later_faults() {
        let deadline = Deadline::after(Duration::from_secs(10));
        deadline.note(HandlerErrorCode::Throttling, "IAM GetRole: Throttling");
        deadline.note(HandlerErrorCode::NetworkFailure, "IAM GetRole: timed out");
        let error = deadline.ran_out();
        assert_eq!(error.code(), HandlerErrorCode::Throttling);
        assert!(
            error.message().contains("throttled") && error.message().contains("IAM GetRole: Throttling"),
            "{error}"
        );
        assert_eq!(deadline.resume_after(), RESUME_AFTER_THROTTLING);
    }

    #[test]
    fn the_last_fault_names_the_cause_without_throttling() {
        let deadline = Deadline::after(Duration::from_secs(10));
        deadline.note(HandlerErrorCode::NetworkFailure, "first");
        deadline.note(HandlerErrorCode::ServiceInternalError, "EC2 DescribeVpcEndpointServices: HTTP 503");
        let error = deadline.ran_out();
        assert_eq!(error.code(), HandlerErrorCode::ServiceInternalError);
        assert!(error.message().contains("HTTP 503"), "{error}");
        assert_eq!(deadline.resume_after(), RESUME_AFTER);
    }

    #[test]
    fn a_call_that_never_answered_is_a_network_failure() {
        let error = Deadline::after(Duration::from_secs(10)).ran_out();
        assert_eq!(error.code(), HandlerErrorCode::NetworkFailure);
        assert!(error.is_retriable());
        assert!(error.message().starts_with("time ran out"), "{error}");
    }

    #[test]
    fn clones_share_what_they_note() {
        let deadline = Deadline::after(Duration::from_secs(10));
        deadline.clone().note(HandlerErrorCode::Throttling, "by a client");
        assert_eq!(deadline.ran_out().code(), HandlerErrorCode::Throttling);
    }
}
