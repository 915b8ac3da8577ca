//! What the network tells the outside: a per-SIM event log with plain-language lines, and the
//! notifications a driver delivers (webhooks, wake-ups to simulated devices).

use serde::Serialize;

use super::actions::Operation;
use super::calendar::MaintenanceWindow;
use super::ids::{Iccid, Msisdn, TenantId};
use super::monitoring::MonitoringReport;
use super::time::Timestamp;

/// One entry of a SIM's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimEvent {
    pub time: Timestamp,
    /// A stable code, e.g. `SESSION_UP`, `LOSS_OF_CONNECTIVITY`, `CONNECTIVITY_RESET_COMPLETED`.
    pub kind: &'static str,
    pub line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
}

/// Reachability as CAMARA Device Reachability Status sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reachability {
    /// A data session is up (SMS works too).
    Data,
    /// Registered: SMS only.
    Sms,
    Disconnected,
}

/// A notification for the driver to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorEvent {
    Monitoring(MonitoringReport),
    ReachabilityChanged {
        tenant: TenantId,
        iccid: Iccid,
        msisdn: Msisdn,
        reachability: Reachability,
        at: Timestamp,
    },
    /// An SMS reached the device (the simulated meter acts on it).
    SmsDelivered {
        tenant: TenantId,
        iccid: Iccid,
        msisdn: Msisdn,
        sms_id: String,
        text: String,
        at: Timestamp,
    },
    OperationCompleted(Operation),
    MaintenanceAnnounced(MaintenanceWindow),
}
