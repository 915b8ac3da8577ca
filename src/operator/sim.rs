//! SIM cards as the operator's SIM platform sees them: identity, lifecycle status, data limits.

use serde::{Deserialize, Serialize};

use super::ids::{Iccid, Imsi, Msisdn, TenantId};

/// Lifecycle status, as on Cisco IoT Control Center-style SIM platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SimStatus {
    /// In stock, not usable.
    Inventory,
    /// Usable for testing before billing starts.
    TestReady,
    /// Ready; becomes billable on first use.
    ActivationReady,
    Activated,
    /// Suspended by the customer: the network refuses it.
    Deactivated,
    /// Permanently out of service; no way back.
    Retired,
}

impl SimStatus {
    /// Whether the network lets this SIM attach.
    pub fn may_attach(self) -> bool {
        matches!(
            self,
            SimStatus::TestReady | SimStatus::ActivationReady | SimStatus::Activated
        )
    }

    /// Whether a change from `self` to `to` is allowed (retired SIMs stay retired).
    pub fn may_change_to(self, to: SimStatus) -> bool {
        self != SimStatus::Retired && self != to
    }

    pub fn name(self) -> &'static str {
        match self {
            SimStatus::Inventory => "INVENTORY",
            SimStatus::TestReady => "TEST_READY",
            SimStatus::ActivationReady => "ACTIVATION_READY",
            SimStatus::Activated => "ACTIVATED",
            SimStatus::Deactivated => "DEACTIVATED",
            SimStatus::Retired => "RETIRED",
        }
    }
}

/// How the device uses data: always connected, or connecting only when woken (by SMS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataMode {
    #[default]
    AlwaysOn,
    OnDemand,
}

/// A SIM and what the platform knows about its subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sim {
    pub iccid: Iccid,
    pub imsi: Imsi,
    pub msisdn: Msisdn,
    pub tenant: TenantId,
    pub status: SimStatus,
    pub apn: String,
    /// The device's own meter id from the fleet manifest (for plain-language lines).
    pub device: String,
    pub data_mode: DataMode,
    /// Data allowance in bytes; `None` is unlimited.
    pub data_limit_bytes: Option<u64>,
    pub data_used_bytes: u64,
    /// Data service barred by the operator or the customer (SMS still works).
    pub data_barred: bool,
    /// The credentials the device's modem presents to RADIUS.
    pub radius_user: String,
    pub radius_password: String,
}

impl Sim {
    pub fn quota_exhausted(&self) -> bool {
        self.data_limit_bytes
            .is_some_and(|limit| self.data_used_bytes >= limit)
    }
}
