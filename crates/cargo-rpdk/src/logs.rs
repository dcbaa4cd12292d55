//! `cargo rpdk logs`: the provider logs the handlers of a locally deployed stack delivered to
//! CloudWatch Logs (moto), where AWS keeps them for a type registered with a `LoggingConfig`;
//! what `aws logs tail` shows on AWS.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::project::Project;
use rpdk_local::{ACCOUNT_ID, REGION, log_group_name};

use crate::stack;
use rpdk_deploy::state::Store;

/// How often `--follow` looks for new events.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// Options of `cargo rpdk logs`.
#[derive(clap::Args)]
pub struct Options {
    #[arg(long)]
    pub stack_name: String,
    /// Only this resource's logs.
    #[arg(long)]
    pub logical_id: Option<String>,
    /// Keep printing new events as they arrive (Ctrl-C ends it).
    #[arg(long)]
    pub follow: bool,
}

/// One resource's stream and how far it has been read.
struct Source {
    logical_id: String,
    group: String,
    stream: String,
    token: Option<String>,
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let stack = stack::running(&project)?
        .context("no local stack runs: start one with `cargo rpdk deploy` (logs live in its moto and end with it)")?;
    let store = Store::new(&project.work_dir()?, &options.stack_name)?;
    let state = store
        .load()?
        .with_context(|| format!("no stack named {} was deployed on the local stack", options.stack_name))?;
    // Every resource the stack had, deleted ones too: their logs outlive them.
    let mut types = BTreeMap::new();
    for event in store.events()? {
        // The stack's own events and custom resources (whose functions log to Lambda) have none.
        if !event.type_name.starts_with("AWS::") && !event.type_name.starts_with("Custom::") {
            types.insert(event.logical_id, event.type_name);
        }
    }
    if let Some(wanted) = &options.logical_id {
        anyhow::ensure!(
            types.contains_key(wanted),
            "{} has no resource {wanted} served by a registry handler; it has {}",
            options.stack_name,
            types.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        types.retain(|logical_id, _| logical_id == wanted);
    }
    let mut sources: Vec<Source> = types
        .into_iter()
        .map(|(logical_id, type_name)| Source {
            group: log_group_name(&type_name),
            stream: rpdk::wire::provider_log_stream(Some(&state.stack_id), Some(&logical_id), ACCOUNT_ID, REGION),
            logical_id,
            token: None,
        })
        .collect();
    let admin = stack.admin();
    loop {
        let mut events = Vec::new();
        for source in &mut sources {
            if source.token.is_none() && !admin.log_stream_exists(&source.group, &source.stream)? {
                continue;
            }
            loop {
                let page = admin.log_events(&source.group, &source.stream, source.token.as_deref())?;
                let done = page.events.is_empty() || page.next_token == source.token;
                events.extend(page.events.into_iter().map(|(at, message)| (at, source.logical_id.clone(), message)));
                source.token = page.next_token.or(source.token.take());
                if done {
                    break;
                }
            }
        }
        events.sort();
        for (at, logical_id, message) in events {
            println!("{} {logical_id} {message}", timestamp(at));
        }
        if !options.follow {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_EVERY);
    }
}

/// RFC 3339 in UTC, to the millisecond.
fn timestamp(millis: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.format(&format).unwrap_or_default()
}
