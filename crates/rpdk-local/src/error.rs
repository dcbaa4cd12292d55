//! The crate's one error type.

/// What can go wrong attaching to the local stack or driving its functions.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint could not be reached, or its answer not read.
    #[error("invoke {function}: the Lambda endpoint did not answer ({source}); is the local stack running?")]
    Unreachable {
        /// The function invoked.
        function: String,
        /// What failed.
        source: Box<ureq::Error>,
    },
    /// The endpoint answered with an error status.
    #[error("invoke {function}: HTTP {status}: {body}")]
    Refused {
        /// The function invoked.
        function: String,
        /// The HTTP status.
        status: u16,
        /// What it said.
        body: String,
    },
    /// The function answered something that is not the JSON asked for.
    #[error("invoke {function}: {what}: {text}")]
    Unreadable {
        /// The function invoked.
        function: String,
        /// What the answer should have been.
        what: &'static str,
        /// The answer.
        text: String,
    },
    /// A stack description cannot be read.
    #[error("{}: {reason}; is the local stack running (`cargo rpdk deploy` or `cargo rpdk test` starts one)?", file.display())]
    Description {
        /// The description's file.
        file: std::path::PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// The response bucket refused or failed a request.
    #[error("the response bucket: {what}: {detail}")]
    Bucket {
        /// What was being done.
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// The payload cannot be written as JSON.
    #[error("the payload cannot be written as JSON: {0}")]
    Payload(serde_json::Error),
    /// An operation was still IN_PROGRESS when its bound ran out.
    #[error("{action} of {resource_type} ({function}) is {why}")]
    Unfinished {
        /// The function invoked.
        function: String,
        /// The operation's action.
        action: String,
        /// The operation's type.
        resource_type: String,
        /// Which bound ran out.
        why: String,
    },
    /// A process of the stack could not be started.
    #[error("cannot start {what}: {source}")]
    Start {
        /// The process.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A process of the stack did not become ready.
    #[error("{what}: {why}; see .rpdk/logs/")]
    NotReady {
        /// The process.
        what: String,
        /// What happened instead.
        why: String,
    },
    /// The run's principals could not be made or read.
    #[error("the run's principals: {0}")]
    Principals(String),
    /// moto refused or failed a call of the stack's admin.
    #[error("{service}: {detail}")]
    Aws {
        /// The service called.
        service: String,
        /// What went wrong.
        detail: String,
    },
    /// A file of the stack could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

impl Error {
    /// A file error, with its path.
    pub(crate) fn file(path: impl Into<std::path::PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::File { path, source }
    }
}
