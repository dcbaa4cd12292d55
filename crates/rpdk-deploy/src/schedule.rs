//! The order of a run's jobs, without threads or I/O: which job may start now, given what has
//! configured, completed and failed, the retry rule, and the bounds on jobs running at once.
//!
//! A job waits for others by key. An `Apply` job starts once those it needs are configured
//! (optimistic start); any other job, or a retry, once they completed. After a failure no job
//! starts; running ones end. Each running job has at most one invocation in flight, so bounding
//! the running jobs of one function and overall bounds the invocations the local stack serves.

use std::collections::{BTreeMap, BTreeSet};

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Create, update or replace a resource to match the template.
    Apply,
    /// Delete the resource (or, `previous`, the one it replaced); `rollback`: to undo its
    /// creation by the failed run.
    Delete { previous: bool, rollback: bool },
    /// Update a resource back to its properties before this run.
    Revert,
}

/// One resource's part of a run.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub logical_id: String,
    pub kind: Kind,
    /// The resource's type: its jobs share the type's one function.
    pub lane: String,
    /// Keys of the jobs this one waits for.
    pub waits_for: BTreeSet<String>,
    /// Attempts made before this one.
    pub attempts: u32,
    /// Set on a retry: wait until the jobs waited for have completed, not only configured.
    pub after_completion: bool,
}

impl Job {
    pub fn new(logical_id: &str, kind: Kind, lane: &str) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            kind,
            lane: lane.to_owned(),
            waits_for: BTreeSet::new(),
            attempts: 0,
            after_completion: false,
        }
    }

    /// The job's key: its logical id, or for the delete of a replaced resource its own.
    pub fn key(&self) -> String {
        match self.kind {
            Kind::Delete { previous: true, .. } => format!("{}#previous", self.logical_id),
            _ => self.logical_id.clone(),
        }
    }
}

/// How many jobs may run at once.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Of one type, whose one function serves them all.
    pub per_lane: usize,
    /// Of all types together.
    pub overall: usize,
}

/// The bounds of every run: the local stack's Lambda endpoint serves each function's
/// invocations one at a time, so more in flight only queue there, where they time out.
pub const LIMITS: Limits = Limits { per_lane: 8, overall: 32 };

/// A running job, and whether it started before everything it needs had completed (what makes
/// a retriable failure worth a retry).
#[derive(Debug)]
pub(crate) struct Running {
    pub job: Job,
    pub early: bool,
}

/// The jobs of one run.
#[derive(Debug)]
pub(crate) struct Schedule {
    pending: Vec<Job>,
    running: BTreeMap<String, Running>,
    configured: BTreeSet<String>,
    completed: BTreeSet<String>,
    failures: Vec<(String, String)>,
    all: usize,
    limits: Limits,
}

impl Schedule {
    /// `jobs`, each waiting only for jobs among them.
    pub fn new(jobs: Vec<Job>, limits: Limits) -> Self {
        let keys: BTreeSet<String> = jobs.iter().map(Job::key).collect();
        let pending: Vec<Job> = jobs
            .into_iter()
            .map(|job| Job { waits_for: job.waits_for.intersection(&keys).cloned().collect(), ..job })
            .collect();
        Self {
            all: pending.len(),
            pending,
            running: BTreeMap::new(),
            configured: BTreeSet::new(),
            completed: BTreeSet::new(),
            failures: Vec::new(),
            limits,
        }
    }

    /// The next job that may start now, recorded as running; none once a job failed.
    pub fn start_next(&mut self) -> Option<&Running> {
        if !self.failures.is_empty() || self.running.len() >= self.limits.overall {
            return None;
        }
        let index = self.pending.iter().position(|job| {
            let met = if job.after_completion || job.kind != Kind::Apply { &self.completed } else { &self.configured };
            job.waits_for.iter().all(|key| met.contains(key)) && self.running_in(&job.lane) < self.limits.per_lane
        })?;
        let job = self.pending.remove(index);
        let early = !job.waits_for.is_subset(&self.completed);
        let key = job.key();
        Some(self.running.entry(key).or_insert(Running { job, early }))
    }

    fn running_in(&self, lane: &str) -> usize {
        self.running.values().filter(|running| running.job.lane == lane).count()
    }

    /// The running job of `key`.
    pub fn running(&self, key: &str) -> Option<&Running> {
        self.running.get(key)
    }

    /// The keys of the running jobs.
    pub fn running_keys(&self) -> impl Iterator<Item = &String> {
        self.running.keys()
    }

    /// The job of `key` has what others need of it (its identifier and attributes).
    pub fn configured(&mut self, key: &str) {
        self.configured.insert(key.to_owned());
    }

    /// The job of `key` has completed: it needed nothing done, or its operation succeeded.
    pub fn completed(&mut self, key: &str) {
        self.configured.insert(key.to_owned());
        self.completed.insert(key.to_owned());
    }

    /// A job failed, for `reason`: no job starts from now on.
    pub fn failed(&mut self, logical_id: &str, reason: String) {
        self.failures.push((logical_id.to_owned(), reason));
    }

    /// The running job of `key` is to be tried again once what it needs has completed.
    pub fn retry(&mut self, key: &str) {
        if let Some(Running { job, .. }) = self.running.remove(key) {
            self.pending.push(Job { attempts: job.attempts + 1, after_completion: true, ..job });
        }
    }

    /// The attempt numbered `attempt` of the job of `key` stopped running (its operation ended,
    /// or it never needed one); answers the job unless a newer attempt runs in its place.
    pub fn stopped(&mut self, key: &str, attempt: u32) -> Option<Job> {
        if self.running.get(key).is_none_or(|running| running.job.attempts != attempt) {
            return None;
        }
        self.running.remove(key).map(|running| running.job)
    }

    /// Whether every job has configured.
    pub fn all_configured(&self) -> bool {
        self.configured.len() == self.all
    }

    /// Whether any job runs.
    pub fn is_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// Jobs that can never start: nothing runs and nothing failed, yet some still wait.
    pub fn stuck(&self) -> Vec<String> {
        if self.running.is_empty() && self.failures.is_empty() {
            self.pending.iter().map(Job::key).collect()
        } else {
            Vec::new()
        }
    }

    /// The jobs that failed, and why, in order.
    pub fn into_failures(self) -> Vec<(String, String)> {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, lane: &str, waits_for: &[&str]) -> Job {
        Job { waits_for: waits_for.iter().map(|key| (*key).to_owned()).collect(), ..Job::new(name, Kind::Apply, lane) }
    }

    /// Starts every job that may start now; answers their keys.
    fn start_all(schedule: &mut Schedule) -> Vec<String> {
        std::iter::from_fn(|| schedule.start_next().map(|running| running.job.key())).collect()
    }

    const WIDE: Limits = Limits { per_lane: 100, overall: 100 };

    #[test]
    fn an_apply_starts_once_what_it_needs_is_configured_and_a_delete_once_it_completed() {
        let mut apply = Schedule::new(vec![job("A", "T", &[]), job("B", "T", &["A"])], WIDE);
        assert_eq!(start_all(&mut apply), ["A"]);
        apply.configured("A");
        assert_eq!(start_all(&mut apply), ["B"]);
        let early = apply.running("B").map(|running| running.early);
        assert_eq!(early, Some(true), "B started before A completed");

        let delete = |name: &str, waits: &[&str]| Job {
            kind: Kind::Delete { previous: false, rollback: false },
            ..job(name, "T", waits)
        };
        let mut deletes = Schedule::new(vec![delete("A", &["B"]), delete("B", &[])], WIDE);
        assert_eq!(start_all(&mut deletes), ["B"]);
        deletes.configured("B");
        assert_eq!(start_all(&mut deletes), Vec::<String>::new(), "a delete waits for completion");
        deletes.completed("B");
        assert_eq!(start_all(&mut deletes), ["A"]);
    }

    #[test]
    fn waits_for_jobs_outside_the_run_are_dropped() {
        let mut schedule = Schedule::new(vec![job("A", "T", &["Elsewhere"])], WIDE);
        assert_eq!(start_all(&mut schedule), ["A"]);
    }

    #[test]
    fn a_retry_waits_until_what_it_needs_has_completed() {
        let mut schedule = Schedule::new(vec![job("A", "T", &[]), job("B", "T", &["A"])], WIDE);
        start_all(&mut schedule);
        schedule.configured("A");
        start_all(&mut schedule);
        schedule.retry("B");
        assert!(schedule.stopped("B", 0).is_none(), "the first attempt's end is not the retry's");
        assert_eq!(start_all(&mut schedule), Vec::<String>::new(), "A has only configured");
        schedule.completed("A");
        assert_eq!(start_all(&mut schedule), ["B"]);
        let retried = schedule.running("B").map(|running| (running.job.attempts, running.early));
        assert_eq!(retried, Some((1, false)));
        assert_eq!(schedule.stopped("B", 1).map(|job| job.key()), Some("B".to_owned()));
    }

    #[test]
    fn after_a_failure_nothing_starts_and_the_failures_are_kept_in_order() {
        let mut schedule = Schedule::new(vec![job("A", "T", &[]), job("B", "U", &[]), job("C", "T", &["A"])], WIDE);
        assert_eq!(start_all(&mut schedule), ["A", "B"]);
        schedule.failed("B", "refused".to_owned());
        schedule.completed("A");
        assert_eq!(start_all(&mut schedule), Vec::<String>::new());
        schedule.failed("A", "late".to_owned());
        assert!(schedule.stuck().is_empty(), "C waits because of the failure, not for ever");
        assert_eq!(
            schedule.into_failures(),
            [("B".to_owned(), "refused".to_owned()), ("A".to_owned(), "late".to_owned())]
        );
    }

    #[test]
    fn no_more_jobs_of_one_type_or_in_all_run_at_once_than_the_limits_allow() {
        let jobs =
            (0..5).map(|n| job(&format!("T{n}"), "T", &[])).chain((0..5).map(|n| job(&format!("U{n}"), "U", &[])));
        let mut schedule = Schedule::new(jobs.collect(), Limits { per_lane: 2, overall: 3 });
        assert_eq!(start_all(&mut schedule), ["T0", "T1", "U0"], "two of T, then one of U fills the three");
        schedule.completed("T0");
        assert_eq!(schedule.stopped("T0", 0).map(|job| job.key()), Some("T0".to_owned()));
        assert_eq!(start_all(&mut schedule), ["T2"], "a slot of T frees one for T");
        for key in ["T1", "T2", "U0"] {
            schedule.completed(key);
            schedule.stopped(key, 0);
        }
        assert_eq!(start_all(&mut schedule), ["T3", "T4", "U1"]);
    }

    #[test]
    fn a_job_that_can_never_start_is_named() {
        let mut schedule = Schedule::new(vec![job("A", "T", &["B"]), job("B", "T", &["A"])], WIDE);
        assert_eq!(start_all(&mut schedule), Vec::<String>::new());
        assert_eq!(schedule.stuck(), ["A", "B"]);
        assert!(!schedule.all_configured());
    }
}
