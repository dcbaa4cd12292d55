//! What a running local stack says of itself, in the file a later command or the native suite
//! attaches to it by. It holds the stack's own secrets (the SCIM token, and where its
//! principals are), so the stack writes it readable by its owner only.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// A running local stack: its endpoints, its files and its processes.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackDescription {
    /// Names this start of the stack: state deployed on an earlier one is gone with it.
    pub generation: String,
    /// moto, with IAM enforcement.
    pub moto_url: String,
    /// The fault proxy in front of moto, where the handlers send their AWS calls; its rules are
    /// set under `/rpdk-faults/rules`. Absent from a stack started before it existed.
    #[serde(default)]
    pub faults_url: String,
    /// The same proxy in front of scim2-server: a SCIM base URL
    /// `{scim_faults_url}/rpdk-scope/{scope}/v2` reaches `scim_url` with the calls told apart
    /// by `scope` for its rules.
    #[serde(default)]
    pub scim_faults_url: String,
    /// moto as CloudFormation's bucket of custom resource responses, without IAM enforcement:
    /// presigned URLs carry no Authorization header, and moto's enforcement reads only that.
    pub responses_url: String,
    /// The Lambda endpoint of the handlers (`cargo lambda watch`).
    pub lambda_url: String,
    /// Where the handlers record the AWS operations they call.
    pub record_file: PathBuf,
    /// The run's principals, as JSON (see contract-tests/principals.py).
    pub principals_file: PathBuf,
    /// The SCIM 2.0 base URL of scim2-server.
    pub scim_url: String,
    /// The same, served without PATCH support.
    pub scim_put_only_url: String,
    /// The bearer token scim2-server accepts, new for every start.
    pub scim_token: String,
    /// How long one handler invocation may work: the deadline every request is given.
    #[serde(default)]
    pub invocation_seconds: u64,
    /// The process groups of the stack's processes.
    pub process_groups: Vec<u32>,
    /// The boot the processes ran in: after a reboot their ids may name other processes.
    #[serde(default)]
    pub boot_id: String,
}

impl StackDescription {
    /// Reads the description in `file`.
    pub fn read(file: &Path) -> Result<Self, Error> {
        let described = |reason: String| Error::Description { file: file.to_owned(), reason };
        let text = std::fs::read_to_string(file).map_err(|e| described(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| described(format!("not a stack description: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_reads_back_and_a_missing_one_says_how_to_get_one() {
        let dir = std::env::temp_dir().join(format!("rpdk-local-description-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let file = dir.join("stack.json");
        let written = StackDescription {
            moto_url: "http://127.0.0.1:1".into(),
            invocation_seconds: 15,
            ..StackDescription::default()
        };
        std::fs::write(&file, serde_json::to_vec(&written).expect("JSON")).expect("written");
        let read = StackDescription::read(&file).expect("reads");
        assert_eq!((read.moto_url.as_str(), read.invocation_seconds), ("http://127.0.0.1:1", 15));

        let missing = StackDescription::read(&dir.join("none.json")).expect_err("no file");
        assert!(missing.to_string().contains("none.json") && missing.to_string().contains("cargo rpdk"), "{missing}");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
