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
}
