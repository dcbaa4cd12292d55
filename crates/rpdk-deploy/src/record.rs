//! One recorder of a run: every change of the stack's state is saved before its event is
//! appended to the stack's history and shown, secrets masked in both.

use std::io::IsTerminal;

use crate::Error;
use crate::state::{REPLACED, StackEvent, StackState, Store, mask_text};
use crate::status::Status;

/// How events reach the user.
pub struct Printer {
    json: bool,
    /// A progress line on a terminal's stderr while jobs wait.
    live: bool,
}

impl Printer {
    /// Events as text lines, or (`json`) one JSON object per line.
    pub fn new(json: bool) -> Self {
        Self { json, live: !json && std::io::stderr().is_terminal() }
    }

    /// Prints one event.
    pub fn event(&self, event: &StackEvent) {
        self.clear();
        if self.json {
            println!("{}", serde_json::to_string(event).unwrap_or_default());
        } else {
            let physical = event.physical_id.as_deref().unwrap_or("-");
            let reason = match (&event.hook, event.reason.as_deref()) {
                (Some(hook), reason) => format!(
                    "  {} ({}){}",
                    hook.hook_type,
                    hook.hook_failure_mode,
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
                (None, reason) => reason.map(|r| format!("  {r}")).unwrap_or_default(),
            };
            println!(
                "{}  {:<35} {:<24} {:<30} {physical}{reason}",
                event.timestamp, event.status, event.logical_id, event.type_name
            );
        }
    }

    /// Says something of the run that is no event, on stderr.
    pub fn note(&self, text: &str) {
        self.clear();
        eprintln!("note: {text}");
    }

    /// A progress line while jobs wait, where a terminal shows it.
    pub(crate) fn waiting(&self, text: &str) {
        if self.live {
            eprint!("\r\x1b[2K{text}");
        }
    }

    fn clear(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Saves a run's state and records its events.
pub(crate) struct Recorder<'a> {
    store: &'a Store,
    printer: &'a Printer,
    /// Values never to be written: NoEcho parameters and resolved secrets.
    secrets: Vec<String>,
}

impl<'a> Recorder<'a> {
    pub fn new(store: &'a Store, printer: &'a Printer, secrets: Vec<String>) -> Self {
        Self { store, printer, secrets }
    }

    /// Where the stack's files live.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// A value from now on never written.
    pub fn keep_secret(&mut self, secret: String) {
        self.secrets.push(secret);
    }

    /// The values never written.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// `text` with every secret masked.
    pub fn masked(&self, text: &str) -> String {
        mask_text(text, &self.secrets)
    }

    /// Saves `state` whole.
    pub fn save(&self, state: &StackState) -> Result<(), Error> {
        self.store.save(state)
    }

    /// Saves `state`, then records and shows the event of `logical_id` (of `type_name`)
    /// reaching `status`.
    pub fn event(
        &self,
        state: &StackState,
        logical_id: &str,
        type_name: &str,
        physical_id: Option<String>,
        status: Status,
        reason: Option<String>,
    ) -> Result<(), Error> {
        self.record(state, stamped(logical_id, type_name, physical_id, status, reason))
    }

    /// Saves `state`, then records and shows `event`, its reason masked. A replaced resource's
    /// key is shown as its logical id.
    pub fn record(&self, state: &StackState, mut event: StackEvent) -> Result<(), Error> {
        self.save(state)?;
        event.logical_id = event.logical_id.split(REPLACED).next().unwrap_or_default().to_owned();
        event.reason = event.reason.map(|reason| self.masked(&reason));
        self.store.append_event(&event)?;
        self.printer.event(&event);
        Ok(())
    }

    /// Shows what the running jobs wait on.
    pub fn waiting(&self, text: &str) {
        self.printer.waiting(text);
    }
}

/// The event of `logical_id` (of `type_name`) reaching `status`, now.
pub(crate) fn stamped(
    logical_id: &str,
    type_name: &str,
    physical_id: Option<String>,
    status: Status,
    reason: Option<String>,
) -> StackEvent {
    StackEvent {
        timestamp: now(),
        logical_id: logical_id.to_owned(),
        physical_id,
        type_name: type_name.to_owned(),
        status,
        reason,
        hook: None,
    }
}

/// The time now, as CloudFormation stamps events (UTC, milliseconds).
fn now() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}
