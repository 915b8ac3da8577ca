//! The change logbook: every credential edit, with who made it and when. Append-only.
//!
//! On disk it is JSON lines, one entry per line, oldest first:
//! `{"at":"2026-11-26T01:58:00Z","iccid":"89314404000123456789","user":"meter-0001@dso.example","by":"alice","change":"password_set","note":null}`.
//! Passwords are never written to it. The diagnosis reads it to say "the SIM's credential was
//! changed at 01:58 by alice" when the utility's RADIUS starts rejecting a meter.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What an entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A SIM added with its first password.
    Created,
    /// A new password.
    PasswordSet,
    Enabled,
    Disabled,
}

impl Change {
    /// Words for a plain-language line.
    pub fn describe(self) -> &'static str {
        match self {
            Change::Created => "credential created",
            Change::PasswordSet => "password changed",
            Change::Enabled => "SIM enabled",
            Change::Disabled => "SIM disabled",
        }
    }
}

/// One credential edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at: Timestamp,
    pub iccid: String,
    /// The SIM's user name at the time of the change.
    pub user: String,
    /// Who made the change.
    pub by: String,
    pub change: Change,
    #[serde(default)]
    pub note: Option<String>,
}

impl LogEntry {
    /// The entry as one JSON line, without the newline.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("log entries always serialize")
    }

    /// "password changed at 2026-11-26T01:58:00Z by alice".
    pub fn describe(&self) -> String {
        format!("{} at {} by {}", self.change.describe(), self.at, self.by)
    }
}

/// A line of the logbook that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: {problem}; each line must be one JSON object with at, iccid, user, by and change"
)]
pub struct LogbookError {
    pub line: usize,
    pub problem: String,
}

/// Every change, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logbook {
    entries: Vec<LogEntry>,
}

impl Logbook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses JSON lines; blank lines are skipped.
    pub fn from_json_lines(text: &str) -> Result<Self, LogbookError> {
        let mut logbook = Logbook::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: LogEntry = serde_json::from_str(line).map_err(|e| LogbookError {
                line: i + 1,
                problem: e.to_string(),
            })?;
            logbook.append(entry);
        }
        Ok(logbook)
    }

    /// Adds an entry; entries out of time order stay where they were appended (the file is the
    /// record), queries order by time.
    pub fn append(&mut self, entry: LogEntry) {
        self.entries.push(entry);
    }

    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every change to one SIM, by ICCID.
    pub fn for_iccid<'a>(&'a self, iccid: &'a str) -> impl Iterator<Item = &'a LogEntry> {
        self.entries.iter().filter(move |e| e.iccid == iccid)
    }

    /// Every change to the SIM that had this user name at the time.
    pub fn for_user<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a LogEntry> {
        self.entries.iter().filter(move |e| e.user == user)
    }

    /// Every change with `from <= at < to`.
    pub fn between(&self, from: Timestamp, to: Timestamp) -> impl Iterator<Item = &LogEntry> {
        self.entries
            .iter()
            .filter(move |e| from <= e.at && e.at < to)
    }

    /// The latest change to a SIM at or before `at`: what was in force then.
    pub fn last_change<'a>(&'a self, iccid: &'a str, at: Timestamp) -> Option<&'a LogEntry> {
        self.for_iccid(iccid)
            .filter(|e| e.at <= at)
            .max_by_key(|e| e.at)
    }
}
