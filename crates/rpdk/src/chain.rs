//! The call chain: memoized steps and stabilization across re-invocations.
//!
//! A CREATE, UPDATE or DELETE may take longer than one invocation. The [`Session`] records
//! every finished step in the callback context, so a re-invocation replays finished steps
//! from the record instead of calling the service again, and resumes at the first unfinished
//! one. Waiting ([`Session::stabilize`]) and retrying transient faults ([`Session::call`])
//! happen in-process while the invocation's remaining time allows; past that the handler
//! returns IN_PROGRESS with a delay, provided [`Session::checkpoint`] has recorded a model
//! holding the primary identifier. Before that point nothing can be resumed, so a fault that
//! outlasts the invocation is reported as FAILED. No call or probe starts with less than
//! [`MIN_CALL_TIME`] left, and the dispatcher stops whatever still runs at the deadline.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deadline::{Clock, Deadline};
use crate::error::{HandlerError, HandlerErrorCode};

/// The least time left for a step's call or a probe to start: a call to a service across a
/// network cannot answer in less, and one stopped at the deadline answered nothing.
pub const MIN_CALL_TIME: Duration = Duration::from_secs(1);

/// How a CREATE, UPDATE or DELETE handler stops short of success.
#[derive(Debug)]
pub enum Interrupt {
    /// The operation failed.
    Failed(HandlerError),
    /// The operation goes on: CloudFormation invokes again after `delay`, with the session's
    /// context and checkpoint model.
    InProgress {
        /// How long CloudFormation waits.
        delay: Duration,
    },
}

impl From<HandlerError> for Interrupt {
    fn from(error: HandlerError) -> Self {
        Self::Failed(error)
    }
}

/// What CREATE, UPDATE and DELETE return.
pub type HandlerResult<T> = Result<T, Interrupt>;

/// How often a step polls and how long it may wait in all, across invocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// The pause between two polls.
    pub every: Duration,
    /// The longest the whole wait may take before it fails with `NotStabilized`.
    pub at_most: Duration,
}

impl Wait {
    /// Polls every `every`, for at most `at_most`.
    pub const fn new(every: Duration, at_most: Duration) -> Self {
        Self { every, at_most }
    }
}

/// How transient faults of a step are retried in-process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per step within one invocation, the first included.
    pub max_attempts: u32,
    /// The pause after the first failed attempt; it doubles after each further one.
    pub base_delay: Duration,
    /// The longest pause.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 4, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(8) }
    }
}

impl RetryPolicy {
    fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// The callback context as it travels on the wire: the handler's own state plus the record of
/// finished steps and of waits under way. The protocol carries no nulls, so each step's output
/// is wrapped (`{"output": …}`, an absent output being `null`, e.g. a step returning `()`) and
/// null object fields are left out everywhere (serde reads an absent `Option` field as `None`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<C> {
    state: C,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    steps: BTreeMap<String, StepRecord>,
    /// When each unfinished wait started, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    waits: BTreeMap<String, u64>,
}

/// A finished step's output, as the callback context records it.
#[derive(Serialize, Deserialize)]
struct StepRecord {
    #[serde(default, skip_serializing_if = "Value::is_null")]
    output: Value,
}

/// Removes null object fields, at every depth.
fn without_null_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(without_null_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null_fields),
        _ => {}
    }
}

/// The state of one CREATE, UPDATE or DELETE across its invocations.
pub struct Session<C> {
    state: C,
    steps: BTreeMap<String, Value>,
    waits: BTreeMap<String, u64>,
    checkpoint: Option<Value>,
    deadline: Deadline,
    retry: RetryPolicy,
}

impl<C: Serialize + DeserializeOwned + Default> Session<C> {
    /// Resumes from the callback context of the previous invocation (`None` on the first),
    /// with time for in-process work until `deadline`.
    pub fn resume(context: Option<Value>, deadline: Deadline) -> Result<Self, HandlerError> {
        let envelope = match context {
            None => Envelope { state: C::default(), steps: BTreeMap::new(), waits: BTreeMap::new() },
            Some(value) => serde_path_to_error::deserialize(value).map_err(|error| {
                HandlerError::invalid_request(format!(
                    "callbackContext.{}: {}; the context must be the one this handler returned",
                    error.path(),
                    error.inner()
                ))
            })?,
        };
        Ok(Self {
            state: envelope.state,
            steps: envelope.steps.into_iter().map(|(key, record)| (key, record.output)).collect(),
            waits: envelope.waits,
            checkpoint: None,
            deadline,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy for transient faults.
    pub fn set_retry_policy(&mut self, retry: RetryPolicy) {
        self.retry = retry;
    }

    /// The handler's own state.
    pub fn state(&self) -> &C {
        &self.state
    }

    /// The handler's own state, to change.
    pub fn state_mut(&mut self) -> &mut C {
        &mut self.state
    }

    /// Records the model an IN_PROGRESS event carries. Call it as soon as the model holds the
    /// primary identifier; from then on the session may answer IN_PROGRESS.
    pub fn checkpoint<M: Serialize>(&mut self, model: &M) -> Result<(), HandlerError> {
        self.checkpoint = Some(to_json(model)?);
        Ok(())
    }

    /// The model recorded by [`Session::checkpoint`].
    pub fn checkpoint_model(&self) -> Option<&Value> {
        self.checkpoint.as_ref()
    }

    /// The time left for in-process work.
    pub fn remaining(&self) -> Duration {
        self.deadline.remaining()
    }

    /// The invocation's deadline.
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    fn clock(&self) -> &Arc<dyn Clock> {
        self.deadline.clock()
    }

    /// The callback context for an IN_PROGRESS event.
    pub fn into_context(self) -> Result<Value, HandlerError> {
        let steps = self.steps.into_iter().map(|(key, output)| (key, StepRecord { output })).collect();
        let mut context = to_json(&Envelope { state: self.state, steps, waits: self.waits })?;
        without_null_fields(&mut context);
        Ok(context)
    }

    /// Runs a step once per operation: when a previous invocation finished the step under
    /// `key`, its recorded output is returned without calling `step` again. Transient faults
    /// are retried in-process while time allows; an attempt starts only with at least
    /// [`MIN_CALL_TIME`] left.
    pub async fn call<T, F, Fut>(&mut self, key: &str, mut step: F) -> HandlerResult<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, HandlerError>>,
    {
        if let Some(recorded) = self.steps.get(key) {
            return serde_json::from_value(recorded.clone()).map_err(|error| {
                Interrupt::Failed(HandlerError::internal(format!("the record of step '{key}' is unreadable: {error}")))
            });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.remaining() < MIN_CALL_TIME {
                return Err(self.ran_out());
            }
            match step().await {
                Ok(output) => {
                    self.steps.insert(key.to_owned(), to_json(&output)?);
                    return Ok(output);
                }
                Err(error) if error.is_retriable() => {
                    self.deadline.note(error.code(), error.message());
                    let delay = self.retry.delay_after(attempt);
                    if attempt < self.retry.max_attempts && self.time_allows(delay) {
                        self.clock().sleep(delay).await;
                    } else {
                        return Err(self.defer(error, delay));
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Waits until `probe` answers `true`, polling as `wait` says. The probe fails the wait by
    /// returning an error (use `NotStabilized` for a resource that reached a failed state);
    /// transient faults count as "not yet".
    pub async fn stabilize<F, Fut>(&mut self, key: &str, wait: Wait, mut probe: F) -> HandlerResult<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool, HandlerError>>,
    {
        if self.steps.contains_key(key) {
            return Ok(());
        }
        let now = millis(self.clock().now());
        let started = *self.waits.entry(key.to_owned()).or_insert(now);
        loop {
            if self.remaining() < MIN_CALL_TIME {
                return Err(self.out_of_time(key, wait.every));
            }
            let last_fault = match probe().await {
                Ok(true) => {
                    self.waits.remove(key);
                    self.steps.insert(key.to_owned(), Value::Bool(true));
                    return Ok(());
                }
                Ok(false) => None,
                Err(error) if error.is_retriable() => {
                    self.deadline.note(error.code(), error.message());
                    Some(error)
                }
                Err(error) => return Err(error.into()),
            };
            let waited = Duration::from_millis(millis(self.clock().now()).saturating_sub(started));
            if waited >= wait.at_most {
                let reason = last_fault.map(|e| format!(" (last fault: {e})")).unwrap_or_default();
                return Err(HandlerError::new(
                    HandlerErrorCode::NotStabilized,
                    format!("'{key}' did not finish within {} s{reason}", wait.at_most.as_secs()),
                )
                .into());
            }
            if self.time_allows(wait.every + MIN_CALL_TIME) {
                self.clock().sleep(wait.every).await;
            } else {
                return Err(self.out_of_time(key, wait.every));
            }
        }
    }

    /// A wait that needs another invocation: resumable once a checkpoint exists.
    fn out_of_time(&self, key: &str, delay: Duration) -> Interrupt {
        if self.checkpoint.is_some() {
            Interrupt::InProgress { delay }
        } else {
            HandlerError::internal(format!(
                "'{key}' needs more time than one invocation, but the handler recorded no checkpoint model"
            ))
            .into()
        }
    }

    fn time_allows(&self, pause: Duration) -> bool {
        self.remaining() > pause
    }

    /// The outcome of an operation whose invocation ran out of time (a step that could not
    /// start, or a handler the dispatcher stopped): resumable once a checkpoint exists.
    pub(crate) fn ran_out(&self) -> Interrupt {
        self.defer(self.deadline.ran_out(), self.deadline.resume_after())
    }

    /// A fault that outlasted the invocation: resumable once a checkpoint exists.
    fn defer(&self, error: HandlerError, delay: Duration) -> Interrupt {
        if self.checkpoint.is_some() {
            tracing::warn!(code = %error.code(), error = %error, "resuming later");
            Interrupt::InProgress { delay }
        } else {
            Interrupt::Failed(error)
        }
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Value, HandlerError> {
    serde_json::to_value(value).map_err(|error| HandlerError::internal(format!("cannot encode state: {error}")))
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::deadline::Sleep;

    /// A clock whose sleeps return at once and move time forward.
    pub(crate) struct FakeClock(Mutex<SystemTime>);

    impl FakeClock {
        pub(crate) fn new() -> Arc<Self> {
            Arc::new(Self(Mutex::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000))))
        }

        pub(crate) fn advance(&self, by: Duration) {
            let mut now = self.0.lock().expect("clock lock");
            *now += by;
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().expect("clock lock")
        }

        fn sleep(&self, duration: Duration) -> Sleep {
            self.advance(duration);
            Box::pin(std::future::ready(()))
        }
    }

    /// An in-memory service whose resources become ready some time after creation, and which
    /// throttles a given number of calls first.
    struct FakeService {
        clock: Arc<FakeClock>,
        ready_after: Duration,
        created: Mutex<HashMap<String, SystemTime>>,
        create_calls: Mutex<u32>,
        throttle_next: Mutex<u32>,
    }

    impl FakeService {
        fn new(clock: Arc<FakeClock>, ready_after: Duration) -> Self {
            Self {
                clock,
                ready_after,
                created: Mutex::default(),
                create_calls: Mutex::default(),
                throttle_next: Mutex::default(),
            }
        }

        async fn create(&self, name: &str) -> Result<String, HandlerError> {
            *self.create_calls.lock().expect("lock") += 1;
            {
                let mut throttle = self.throttle_next.lock().expect("lock");
                if *throttle > 0 {
                    *throttle -= 1;
                    return Err(HandlerError::new(HandlerErrorCode::Throttling, "slow down"));
                }
            }
            self.created.lock().expect("lock").insert(name.to_owned(), self.clock.now());
            Ok(format!("id-{name}"))
        }

        async fn is_ready(&self, name: &str) -> Result<bool, HandlerError> {
            let created = self.created.lock().expect("lock").get(name).copied();
            match created {
                None => Err(HandlerError::new(HandlerErrorCode::NotStabilized, "it vanished")),
                Some(at) => Ok(self.clock.now().duration_since(at).unwrap_or_default() >= self.ready_after),
            }
        }

        fn create_calls(&self) -> u32 {
            *self.create_calls.lock().expect("lock")
        }
    }

    #[derive(Default, Serialize, Deserialize)]
    struct Ctx {
        polls: u32,
    }

    const WAIT: Wait = Wait::new(Duration::from_secs(5), Duration::from_secs(600));

    /// The handler under test: create, checkpoint, wait until ready.
    async fn create_and_wait(service: &FakeService, session: &mut Session<Ctx>) -> HandlerResult<String> {
        let id = session.call("create", || service.create("thing")).await?;
        session.checkpoint(&serde_json::json!({ "Id": id }))?;
        let mut polls = 0;
        let outcome = session
            .stabilize("ready", WAIT, || {
                polls += 1;
                service.is_ready("thing")
            })
            .await;
        session.state_mut().polls += polls;
        outcome.map(|()| id)
    }

    fn session(clock: &Arc<FakeClock>, context: Option<Value>, budget: Duration) -> Session<Ctx> {
        Session::resume(context, Deadline::new(clock.now() + budget, clock.clone())).expect("context decodes")
    }

    #[tokio::test]
    async fn waits_in_process_while_time_allows() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::from_secs(20));
        let mut session = session(&clock, None, Duration::from_secs(55));
        let id = create_and_wait(&service, &mut session).await.expect("stabilizes in-process");
        assert_eq!(id, "id-thing");
        assert_eq!(service.create_calls(), 1);
        assert_eq!(session.state().polls, 5, "polled at 0, 5, 10, 15 and 20 s");
    }

    #[tokio::test]
    async fn returns_in_progress_and_resumes_without_repeating_finished_steps() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::from_secs(120));
        let mut first = session(&clock, None, Duration::from_secs(12));
        match create_and_wait(&service, &mut first).await {
            Err(Interrupt::InProgress { delay }) => assert_eq!(delay, WAIT.every),
            other => panic!("expected IN_PROGRESS, got {other:?}"),
        }
        assert_eq!(first.checkpoint_model(), Some(&serde_json::json!({"Id": "id-thing"})));
        let context = first.into_context().expect("encodes");

        // CloudFormation waits, then invokes again with the context.
        clock.advance(Duration::from_secs(150));
        let mut second = session(&clock, Some(context), Duration::from_secs(55));
        let id = create_and_wait(&service, &mut second).await.expect("finishes on resume");
        assert_eq!(id, "id-thing", "the recorded output of the create step is replayed");
        assert_eq!(service.create_calls(), 1, "the finished create step is not repeated");
        assert_eq!(second.state().polls, 4, "state carried over: 3 polls before, 1 after");
    }

    #[tokio::test]
    async fn a_wait_longer_than_its_limit_is_not_stabilized() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::from_secs(3600));
        let mut session = session(&clock, None, Duration::from_secs(55));
        session.call("create", || service.create("thing")).await.expect("creates");
        session.checkpoint(&serde_json::json!({})).expect("checkpoint");
        let short = Wait::new(Duration::from_secs(5), Duration::from_secs(30));
        match session.stabilize("ready", short, || service.is_ready("thing")).await {
            Err(Interrupt::Failed(error)) => assert_eq!(error.code(), HandlerErrorCode::NotStabilized),
            other => panic!("expected NotStabilized, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_probe_failure_fails_the_wait() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::ZERO);
        let mut session = session(&clock, None, Duration::from_secs(55));
        match session.stabilize("ready", WAIT, || service.is_ready("never-created")).await {
            Err(Interrupt::Failed(error)) => assert_eq!(error.message(), "it vanished"),
            other => panic!("expected the probe's failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn transient_faults_are_retried_in_process() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::ZERO);
        *service.throttle_next.lock().expect("lock") = 2;
        let mut session = session(&clock, None, Duration::from_secs(55));
        let id = session.call("create", || service.create("thing")).await.expect("third attempt succeeds");
        assert_eq!(id, "id-thing");
        assert_eq!(service.create_calls(), 3);
    }

    #[tokio::test]
    async fn transient_faults_before_a_checkpoint_fail_with_their_code() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::ZERO);
        *service.throttle_next.lock().expect("lock") = 10;
        let mut session = session(&clock, None, Duration::from_secs(55));
        match session.call("create", || service.create("thing")).await {
            Err(Interrupt::Failed(error)) => assert_eq!(error.code(), HandlerErrorCode::Throttling),
            other => panic!("expected Throttling, got {other:?}"),
        }
        assert_eq!(service.create_calls(), RetryPolicy::default().max_attempts);
    }

    #[tokio::test]
    async fn transient_faults_after_a_checkpoint_resume_later() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::ZERO);
        *service.throttle_next.lock().expect("lock") = 10;
        let mut session = session(&clock, None, Duration::from_secs(55));
        session.checkpoint(&serde_json::json!({"Id": "known"})).expect("checkpoint");
        assert!(matches!(session.call("create", || service.create("thing")).await, Err(Interrupt::InProgress { .. })));
    }

    #[tokio::test]
    async fn no_step_starts_without_time_for_its_call() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::ZERO);
        let mut session = session(&clock, None, MIN_CALL_TIME - Duration::from_millis(100));
        match session.call("create", || service.create("thing")).await {
            Err(Interrupt::Failed(error)) => {
                assert_eq!(error.code(), HandlerErrorCode::NetworkFailure);
                assert!(error.message().starts_with("time ran out"), "{error}");
            }
            other => panic!("expected a retriable FAILED before the checkpoint, got {other:?}"),
        }
        session.checkpoint(&serde_json::json!({"Id": "known"})).expect("checkpoint");
        assert!(matches!(session.call("create", || service.create("thing")).await, Err(Interrupt::InProgress { .. })));
        assert!(matches!(
            session.stabilize("ready", WAIT, || service.is_ready("thing")).await,
            Err(Interrupt::InProgress { .. })
        ));
        assert_eq!(service.create_calls(), 0, "nothing started");
    }

    #[tokio::test]
    async fn throttling_that_used_the_time_names_the_failure() {
        let clock = FakeClock::new();
        let service = FakeService::new(clock.clone(), Duration::ZERO);
        *service.throttle_next.lock().expect("lock") = 10;
        // Attempts at 0, 0.5 and 1.5 s; the fourth, due at 3.5 s, has less than MIN_CALL_TIME.
        let mut session = session(&clock, None, Duration::from_secs(4));
        match session.call("create", || service.create("thing")).await {
            Err(Interrupt::Failed(error)) => {
                assert_eq!(error.code(), HandlerErrorCode::Throttling);
                assert!(
                    error.message().starts_with("time ran out") && error.message().contains("throttled"),
                    "{error}"
                );
            }
            other => panic!("expected Throttling, got {other:?}"),
        }
        assert_eq!(service.create_calls(), 3);
    }

    #[test]
    fn a_foreign_context_is_refused_with_its_path() {
        let clock = FakeClock::new();
        let context = serde_json::json!({"state": {"polls": "many"}});
        let error =
            Session::<Ctx>::resume(Some(context), Deadline::new(SystemTime::now(), clock)).err().expect("refused");
        assert_eq!(error.code(), HandlerErrorCode::InvalidRequest);
        assert!(error.message().starts_with("callbackContext.state.polls:"), "{}", error.message());
    }

    #[derive(Default, Serialize, Deserialize)]
    struct Optional {
        note: Option<String>,
    }

    #[tokio::test]
    async fn a_context_carries_no_nulls_and_still_replays_unit_steps() {
        let clock = FakeClock::new();
        let deadline = Deadline::new(clock.now() + Duration::from_secs(60), clock.clone());
        let mut session: Session<Optional> = Session::resume(None, deadline.clone()).expect("fresh");
        let mut calls = 0;
        session
            .call("unit", || {
                calls += 1;
                async { Ok(()) }
            })
            .await
            .expect("runs");
        session.call("nothing", || async { Ok(None::<String>) }).await.expect("runs");
        let context = session.into_context().expect("encodes");
        assert!(!context.to_string().contains("null"), "{context}");

        let mut resumed: Session<Optional> = Session::resume(Some(context), deadline).expect("resumes");
        resumed
            .call("unit", || {
                calls += 1;
                async { Ok(()) }
            })
            .await
            .expect("replays");
        let nothing: Option<String> =
            resumed.call("nothing", || async { Ok(Some("again".to_owned())) }).await.expect("replays");
        assert_eq!((calls, nothing), (1, None), "both steps replayed from the record");
        assert!(resumed.state().note.is_none());
    }
}
