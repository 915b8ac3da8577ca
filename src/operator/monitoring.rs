//! Monitoring event reports in the shape of 3GPP T8 MonitoringEvent (TS 29.122 §5.3).

use std::net::Ipv4Addr;

use serde::{Serialize, Serializer};

use super::ids::{CellId, Iccid, Msisdn, TenantId};
use super::time::Timestamp;

/// The T8 monitoring types the simulator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MonitoringType {
    LossOfConnectivity,
    UeReachability,
    PdnConnectivityStatus,
}

/// `lossOfConnectReason` (TS 29.122 §5.3.2.4.x, the MME values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossReason {
    /// 0: the UE detached (or was detached by the network).
    UeDetached,
    /// 2: the network heard nothing from the UE within the maximum detection time.
    MaxDetectionTimeExpired,
    /// 4: the UE's subscription was purged (e.g. the SIM was deactivated).
    Purged,
}

impl LossReason {
    pub fn code(self) -> u8 {
        match self {
            LossReason::UeDetached => 0,
            LossReason::MaxDetectionTimeExpired => 2,
            LossReason::Purged => 4,
        }
    }
}

impl Serialize for LossReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// `reachabilityType` of a UE_REACHABILITY report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReachabilityType {
    Sms,
    Data,
}

/// `PdnConnectionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PdnStatus {
    Created,
    Released,
}

/// One entry of `pdnConnInfoList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PdnConnectionInformation {
    pub status: PdnStatus,
    pub apn: String,
    pub pdn_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_addr: Option<Ipv4Addr>,
}

/// `locationInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationInfo {
    pub cell_id: CellId,
    pub tracking_area_id: String,
}

/// A `MonitoringEventReport`, with the SIM it concerns (tenant and ICCID are not sent on T8
/// notifications; they route and filter them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringReport {
    #[serde(skip)]
    pub tenant: TenantId,
    #[serde(skip)]
    pub iccid: Iccid,
    /// T8's MSISDN is digits only, without the `+`.
    #[serde(serialize_with = "msisdn_digits")]
    pub msisdn: Msisdn,
    pub monitoring_type: MonitoringType,
    pub event_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_of_connect_reason: Option<LossReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachability_type: Option<ReachabilityType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pdn_conn_info_list: Vec<PdnConnectionInformation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_info: Option<LocationInfo>,
}

fn msisdn_digits<S: Serializer>(m: &Msisdn, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str().trim_start_matches('+'))
}
