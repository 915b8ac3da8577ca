//! The outage log's record: one per meter silence, from the first missing interval until data
//! flows again, with its diagnosis, evidence, actions and the readings it cost.

use serde::{Deserialize, Serialize};

use super::diagnosis::{Remedy, RootCause};
use crate::time::Timestamp;

/// One operator record (or DLMS result) the diagnosis relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// Where it came from: `dlms`, `session-status`, `aaa-records`, `sim`, `maintenance`,
    /// `forecast`, `reachability`, `logbook`, `kpi`.
    pub source: String,
    pub at: Timestamp,
    /// The record in words.
    pub line: String,
}

/// What the head-end did about an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    WakeUp,
    ResetDataSession,
    CancelLocation,
    Backfill,
    Escalate,
}

impl ActionKind {
    /// Whether it is a reset asked of the operator.
    pub fn is_reset(self) -> bool {
        matches!(
            self,
            ActionKind::ResetDataSession | ActionKind::CancelLocation
        )
    }
}

/// An action taken, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub at: Timestamp,
    pub kind: ActionKind,
    pub ok: bool,
    /// The result in words ("accepted by the operator", "refused: rate limit", "12 readings").
    pub result: String,
}

/// One outage of one meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// Unique per store; assigned by the head-end in opening order.
    pub id: u64,
    pub meter: String,
    /// The first missing interval (its capture time).
    pub start: Timestamp,
    /// When the head-end noticed.
    pub detected: Timestamp,
    /// `None` until the head-end escalated and diagnosed.
    pub cause: Option<RootCause>,
    pub remedy: Option<Remedy>,
    /// One plain-language sentence, with what to do.
    pub sentence: String,
    pub evidence: Vec<EvidenceItem>,
    pub actions: Vec<ActionRecord>,
    /// When data flowed again; `None` while open.
    pub end: Option<Timestamp>,
    pub readings_missed: u32,
    pub readings_backfilled: u32,
    /// The SLA incident class, once classified.
    pub sla_class: Option<String>,
}

impl Outage {
    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }

    /// From the first missing interval to data flowing again.
    pub fn time_to_recover(&self) -> Option<std::time::Duration> {
        self.end.map(|end| end.since(self.start))
    }

    /// Whether a reset was tried for a cause no reset can cure, or during maintenance.
    pub fn wasted_actions(&self) -> usize {
        let curable = self.cause.is_some_and(RootCause::cured_by_reset);
        self.actions
            .iter()
            .filter(|a| a.kind.is_reset() && !curable)
            .count()
    }
}
