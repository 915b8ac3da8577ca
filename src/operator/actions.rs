//! SIM actions' bookkeeping: asynchronous operations and the audit trail (who, when, why).

use serde::{Deserialize, Serialize};

use super::ids::{Iccid, TenantId};
use super::time::Timestamp;

/// Who is acting: the tenant and the principal its token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub tenant: TenantId,
    pub principal: String,
}

/// What a connectivity reset does (emnify-style: either or both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetKind {
    /// Delete the data session (PDP context): the modem sets up a new one.
    pub delete_data_session: bool,
    /// Cancel location: the modem is detached and must register again.
    pub cancel_location: bool,
}

/// The kinds of audited actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionKind {
    ConnectivityReset,
    CancelLocation,
    StatusChange,
    SendSms,
}

/// An asynchronous operation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationStatus {
    Pending,
    Completed,
}

/// A connectivity reset in flight or done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub operation_id: String,
    #[serde(skip)]
    pub tenant: TenantId,
    pub iccid: Iccid,
    pub reset: ResetKind,
    pub requested_by: String,
    pub reason: String,
    pub requested_at: Timestamp,
    pub status: OperationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// Whether an audited action went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditOutcome {
    Accepted,
    RateLimited,
    Refused,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub time: Timestamp,
    #[serde(skip)]
    pub tenant: TenantId,
    pub who: String,
    pub action: ActionKind,
    pub iccid: Iccid,
    pub why: String,
    pub outcome: AuditOutcome,
    pub detail: String,
}
