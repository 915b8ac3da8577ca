//! The operator's records about one SIM, as plain data: what every operator adapter fills and
//! [`super::assemble`] reads. Wire enums keep unknown values.

use std::sync::Arc;

use super::AaaVerdict;
use crate::time::Timestamp;

/// The utility's credential logbook, where the adapter cannot read it from the operator (a
/// real deployment reads the utility's own store).
pub type LogbookFn = Arc<dyn Fn() -> Vec<CredentialChangeRecord> + Send + Sync>;

/// Everything an adapter read about one SIM; a missing record is `None` or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorRecords {
    pub session: Option<SessionRecord>,
    /// The SIM's AAA records, in any order.
    pub aaa: Vec<AaaRecord>,
    /// The utility's credential changes (any users; the assembly picks the SIM's).
    pub logbook: Vec<CredentialChangeRecord>,
    pub sim: Option<SimRecord>,
    /// Announced maintenance windows touching the meter's cell around now.
    pub maintenance: Vec<WindowRecord>,
    pub cell: Option<CellRecord>,
    /// Predicted degradations of the meter's cell (any slots; the assembly merges them).
    pub forecasts: Vec<ForecastRecord>,
    pub reachability: Option<ReachabilityRecord>,
    pub kpi: Option<KpiRecord>,
}

/// The packet gateway's state of the SIM's modem (the operator's wire names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionPhase {
    Detached,
    Registered,
    SessionRequested,
    Authenticating,
    SessionUp,
    /// A state this head-end does not know; kept, read as no evidence.
    Other(String),
}

impl SessionPhase {
    /// From `DETACHED`, `REGISTERED`, `SESSION_REQUESTED`, `AUTHENTICATING`, `SESSION_UP`.
    pub fn from_wire(name: &str) -> SessionPhase {
        match name {
            "DETACHED" => SessionPhase::Detached,
            "REGISTERED" => SessionPhase::Registered,
            "SESSION_REQUESTED" => SessionPhase::SessionRequested,
            "AUTHENTICATING" => SessionPhase::Authenticating,
            "SESSION_UP" => SessionPhase::SessionUp,
            other => SessionPhase::Other(other.to_string()),
        }
    }
}

/// The SIM's data session (session-status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub phase: SessionPhase,
    /// When the modem entered `phase`.
    pub since: Timestamp,
    /// When the current session started (with `SessionUp`).
    pub started: Option<Timestamp>,
    pub last_traffic: Option<Timestamp>,
    /// The last failed set-up: its code (`AAA_REJECT`, `DATA_SERVICE_BARRED`, ...) and time.
    pub last_setup_failure: Option<(String, Timestamp)>,
    /// The last session's end: its terminate cause (`ADMIN_RESET`, ...) and time.
    pub last_terminate: Option<(String, Timestamp)>,
    pub consecutive_failures: u32,
}

/// The kind of an AAA record (the operator's wire names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AaaKind {
    AccessRequest,
    AccessAccept,
    AccessReject,
    AccessTimeout,
    AccountingStart,
    AccountingStop,
    Other(String),
}

impl AaaKind {
    pub fn from_wire(name: &str) -> AaaKind {
        match name {
            "ACCESS_REQUEST" => AaaKind::AccessRequest,
            "ACCESS_ACCEPT" => AaaKind::AccessAccept,
            "ACCESS_REJECT" => AaaKind::AccessReject,
            "ACCESS_TIMEOUT" => AaaKind::AccessTimeout,
            "ACCOUNTING_START" => AaaKind::AccountingStart,
            "ACCOUNTING_STOP" => AaaKind::AccountingStop,
            other => AaaKind::Other(other.to_string()),
        }
    }

    pub(super) fn verdict(&self) -> Option<AaaVerdict> {
        match self {
            AaaKind::AccessAccept => Some(AaaVerdict::Accepted),
            AaaKind::AccessReject => Some(AaaVerdict::Rejected),
            AaaKind::AccessTimeout => Some(AaaVerdict::TimedOut),
            _ => None,
        }
    }
}

/// One RADIUS exchange the operator recorded for the SIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AaaRecord {
    pub at: Timestamp,
    pub kind: AaaKind,
    /// The RADIUS user name the device presented.
    pub user: String,
    /// The operator's plain-language line.
    pub line: String,
}

/// One change in the utility's credential logbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialChangeRecord {
    pub at: Timestamp,
    /// The RADIUS user whose credential changed.
    pub user: String,
    pub by: String,
}

/// The SIM as the operator's SIM platform sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRecord {
    /// `ACTIVATED`, `DEACTIVATED`, `TEST_READY`, ...
    pub status: String,
    pub data_barred: bool,
    /// The data allowance is used up.
    pub quota_exhausted: bool,
    /// The cell the operator has the SIM in.
    pub cell: String,
}

impl SimRecord {
    /// Whether the network lets a SIM in this status attach.
    pub fn active(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ACTIVATED" | "TEST_READY" | "ACTIVATION_READY"
        )
    }
}

/// An announced planned maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRecord {
    pub id: String,
    pub cells: Vec<String>,
    pub from: Timestamp,
    pub until: Timestamp,
    pub description: String,
}

/// Whether the meter's cell serves now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellRecord {
    pub id: String,
    pub serving: bool,
}

/// A predicted connectivity level below good (CAMARA Predictive Connectivity Data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForecastLevel {
    /// `MC`: the service level might not be met.
    Marginal,
    /// `NC`: no connectivity.
    None,
}

impl ForecastLevel {
    /// From the PCD code; `GC`, `ND` and unknown codes are no degradation.
    pub fn from_wire(code: &str) -> Option<ForecastLevel> {
        match code {
            "MC" => Some(ForecastLevel::Marginal),
            "NC" => Some(ForecastLevel::None),
            _ => None,
        }
    }
}

/// A predicted degradation of the meter's cell over `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastRecord {
    pub from: Timestamp,
    pub until: Timestamp,
    pub level: ForecastLevel,
}

/// How the network can reach the device (CAMARA Device Reachability Status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Data,
    SmsOnly,
    Unreachable,
}

/// Reachability and the last time the network heard from the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachabilityRecord {
    pub reach: Reach,
    /// When `reach` last changed.
    pub since: Timestamp,
    pub last_activity: Option<Timestamp>,
    /// Why the network says it is off (`NOT_HEARD`, `NO_COVERAGE`, `CANCEL_LOCATION`, ...).
    pub detach_reason: Option<String>,
}

/// Session set-up attempts and successes of the SIM over `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiRecord {
    pub from: Timestamp,
    pub until: Timestamp,
    pub attempts: u32,
    pub successes: u32,
}
