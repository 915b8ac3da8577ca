//! What a tenant may read about its SIMs, and what anyone may read about cells and maintenance.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::actions::ActionError;
use super::Network;
use crate::operator::aaa::{AaaRecord, TerminateCause};
use crate::operator::calendar::MaintenanceWindow;
use crate::operator::events::{Reachability, SimEvent};
use crate::operator::ids::{CellId, Iccid, Imsi, Msisdn, TenantId};
use crate::operator::kpi::{totals, KpiBucket};
use crate::operator::modem::{DetachCause, ModemState, SetupFailure};
use crate::operator::sim::{DataMode, SimStatus};
use crate::operator::time::Timestamp;

/// A SIM's details (SIM platform view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimDetails {
    pub iccid: Iccid,
    pub imsi: Imsi,
    pub msisdn: Msisdn,
    pub status: SimStatus,
    pub device_id: String,
    pub apn: String,
    pub cell_id: CellId,
    pub data_mode: DataMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_limit_bytes: Option<u64>,
    pub data_used_bytes: u64,
    pub data_barred: bool,
}

/// The data session as the packet gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// `DETACHED`, `REGISTERED`, `SESSION_REQUESTED`, `AUTHENTICATING` or `SESSION_UP`.
    pub state: &'static str,
    pub state_since: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_session_started: Option<Timestamp>,
    /// The last time traffic passed; with a session up and none for long, the session is stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_traffic_at: Option<Timestamp>,
    pub octets: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_session_ended: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_terminate_cause: Option<TerminateCause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_setup_failure: Option<SetupFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_setup_failure_at: Option<Timestamp>,
    pub consecutive_setup_failures: u32,
}

/// Network registration and reachability (SIM platform "connectivity status").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectivityStatus {
    /// emnify-style: `ONLINE` (data session up), `ATTACHED` (registered, no session), `OFFLINE`,
    /// `BLOCKED` (the SIM may not attach or its data is barred).
    pub connectivity: &'static str,
    pub reachability: Reachability,
    pub since: Timestamp,
    pub cell_id: CellId,
    /// Whether the SIM's cell is serving now.
    pub cell_serving: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<Timestamp>,
    /// T8 lossOfConnectReason of the last loss of connectivity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_loss_of_connect_reason: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_loss_at: Option<Timestamp>,
    /// Why the network says it is off: `CANCEL_LOCATION`, `NO_COVERAGE`, `SIM_INACTIVE`, or
    /// `NOT_HEARD` (it vanished: power loss or radio fault look the same from the network).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detach_reason: Option<&'static str>,
}

/// Session setup success over a window at 15-minute granularity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KpiReport {
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub granularity_seconds: u64,
    pub attempts: u32,
    pub successes: u32,
    /// Successes / attempts; absent without attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
    pub buckets: Vec<KpiBucketView>,
}

/// One bucket of a [`KpiReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KpiBucketView {
    pub start_time: Timestamp,
    pub attempts: u32,
    pub successes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
}

/// A cell as customers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CellView {
    pub cell_id: CellId,
    pub geohash: String,
    pub area: String,
    pub serving: bool,
}

/// At most this many KPI buckets are returned (one week).
pub const MAX_KPI_BUCKETS: usize = 7 * 96;

fn report(start: Timestamp, end: Timestamp, buckets: Vec<KpiBucket>) -> KpiReport {
    let total = totals(&buckets);
    KpiReport {
        start_time: start,
        end_time: end,
        granularity_seconds: 900,
        attempts: total.attempts,
        successes: total.successes,
        success_rate: total.success_rate(),
        buckets: buckets
            .iter()
            .map(|b| KpiBucketView {
                start_time: b.start,
                attempts: b.attempts,
                successes: b.successes,
                success_rate: b.success_rate(),
            })
            .collect(),
    }
}

impl Network {
    /// The ICCID of the tenant's SIM with this phone number.
    pub fn iccid_by_msisdn(&self, tenant: &TenantId, msisdn: &Msisdn) -> Option<Iccid> {
        let &idx = self.by_msisdn.get(msisdn)?;
        (self.sims[idx].sim.tenant == *tenant).then(|| self.sims[idx].sim.iccid.clone())
    }

    /// The ICCID of the tenant's SIM whose data session has this address.
    pub fn iccid_by_ip(&self, tenant: &TenantId, ip: Ipv4Addr) -> Option<Iccid> {
        self.sims.iter().find_map(|r| match &r.modem.state {
            ModemState::SessionUp(s) if s.ip == ip && r.sim.tenant == *tenant => {
                Some(r.sim.iccid.clone())
            }
            _ => None,
        })
    }

    /// The tenant's SIMs, in fleet order, from `offset`, at most `limit`.
    pub fn sims(&self, tenant: &TenantId, offset: usize, limit: usize) -> Vec<SimDetails> {
        self.sims
            .iter()
            .enumerate()
            .filter(|(_, r)| r.sim.tenant == *tenant)
            .skip(offset)
            .take(limit)
            .map(|(i, _)| self.details(i))
            .collect()
    }

    fn details(&self, idx: usize) -> SimDetails {
        let r = &self.sims[idx];
        SimDetails {
            iccid: r.sim.iccid.clone(),
            imsi: r.sim.imsi.clone(),
            msisdn: r.sim.msisdn.clone(),
            status: r.sim.status,
            device_id: r.sim.device.clone(),
            apn: r.sim.apn.clone(),
            cell_id: self.cells[r.cell].cell.id.clone(),
            data_mode: r.sim.data_mode,
            data_limit_bytes: r.sim.data_limit_bytes,
            data_used_bytes: r.sim.data_used_bytes,
            data_barred: r.sim.data_barred,
        }
    }

    pub fn sim_details(&self, tenant: &TenantId, iccid: &Iccid) -> Result<SimDetails, ActionError> {
        Ok(self.details(self.find(tenant, iccid)?))
    }

    pub fn session_info(
        &self,
        tenant: &TenantId,
        iccid: &Iccid,
    ) -> Result<SessionInfo, ActionError> {
        let r = &self.sims[self.find(tenant, iccid)?];
        let m = &r.modem;
        let session = match &m.state {
            ModemState::SessionUp(s) => Some(s),
            _ => None,
        };
        Ok(SessionInfo {
            state: m.state.name(),
            state_since: m.since,
            session_id: session.map(|s| s.id.clone()),
            ip_address: session.map(|s| s.ip),
            date_session_started: session.map(|s| s.started),
            last_traffic_at: session.and_then(|s| s.last_traffic),
            octets: session.map_or(0, |s| s.octets),
            date_session_ended: m.last_release.map(|(_, t)| t),
            last_terminate_cause: m.last_release.map(|(c, _)| c),
            last_setup_failure: m.last_failure.map(|(f, _)| f),
            last_setup_failure_at: m.last_failure.map(|(_, t)| t),
            consecutive_setup_failures: m.failures,
        })
    }

    pub fn connectivity_status(
        &self,
        tenant: &TenantId,
        iccid: &Iccid,
    ) -> Result<ConnectivityStatus, ActionError> {
        let r = &self.sims[self.find(tenant, iccid)?];
        let blocked = !r.sim.status.may_attach() || r.sim.data_barred;
        let connectivity = match (&r.modem.state, blocked) {
            (_, true) => "BLOCKED",
            (ModemState::SessionUp(_), _) => "ONLINE",
            (ModemState::Detached { .. }, _) => "OFFLINE",
            _ => "ATTACHED",
        };
        let detach_reason = match r.modem.state {
            ModemState::Detached { cause } => Some(match cause {
                DetachCause::CancelLocation => "CANCEL_LOCATION",
                DetachCause::NoCoverage => "NO_COVERAGE",
                DetachCause::SimInactive => "SIM_INACTIVE",
                DetachCause::PowerLoss | DetachCause::NeverAttached => "NOT_HEARD",
            }),
            _ => None,
        };
        Ok(ConnectivityStatus {
            connectivity,
            reachability: r.reachability,
            since: r.reachability_since,
            cell_id: self.cells[r.cell].cell.id.clone(),
            cell_serving: self.cells[r.cell].condition.serving(),
            last_activity_at: r.modem.last_activity,
            last_loss_of_connect_reason: r.last_loss.map(|(l, _)| l.code()),
            last_loss_at: r.last_loss.map(|(_, t)| t),
            detach_reason,
        })
    }

    /// Reachability for CAMARA Device Reachability Status: the status and when it last changed.
    pub fn reachability(
        &self,
        tenant: &TenantId,
        iccid: &Iccid,
    ) -> Result<(Reachability, Timestamp), ActionError> {
        let r = &self.sims[self.find(tenant, iccid)?];
        Ok((r.reachability, r.reachability_since))
    }

    /// The SIM's event log since `since`, the latest `limit`.
    pub fn sim_events(
        &self,
        tenant: &TenantId,
        iccid: &Iccid,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<SimEvent>, ActionError> {
        let r = &self.sims[self.find(tenant, iccid)?];
        Ok(latest(
            r.events
                .iter()
                .filter(|e| since.is_none_or(|s| e.time >= s)),
            limit,
        ))
    }

    /// The SIM's AAA records since `since`, the latest `limit`.
    pub fn aaa_records(
        &self,
        tenant: &TenantId,
        iccid: &Iccid,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<AaaRecord>, ActionError> {
        let r = &self.sims[self.find(tenant, iccid)?];
        Ok(latest(
            r.aaa.iter().filter(|e| since.is_none_or(|s| e.time >= s)),
            limit,
        ))
    }

    /// Session setup KPIs of a SIM over `[start, end)`.
    pub fn sim_kpi(
        &self,
        tenant: &TenantId,
        iccid: &Iccid,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<KpiReport, ActionError> {
        let r = &self.sims[self.find(tenant, iccid)?];
        Ok(report(
            start,
            end,
            r.kpi.window(start, end, MAX_KPI_BUCKETS),
        ))
    }

    /// Session setup KPIs of a cell over `[start, end)` (all SIMs in the cell).
    pub fn cell_kpi(&self, cell: &CellId, start: Timestamp, end: Timestamp) -> Option<KpiReport> {
        let &c = self.cell_index.get(cell)?;
        Some(report(
            start,
            end,
            self.cells[c].kpi.window(start, end, MAX_KPI_BUCKETS),
        ))
    }

    pub fn cells(&self) -> Vec<CellView> {
        self.cells
            .iter()
            .map(|c| CellView {
                cell_id: c.cell.id.clone(),
                geohash: c.cell.geohash.clone(),
                area: c.cell.area.clone(),
                serving: c.condition.serving(),
            })
            .collect()
    }

    pub fn cell(&self, cell: &CellId) -> Option<CellView> {
        let &c = self.cell_index.get(cell)?;
        self.cells().into_iter().nth(c)
    }

    /// Announced maintenance windows that end after `from` and start before `to`, optionally
    /// only those touching `cell`.
    pub fn maintenance_windows(
        &self,
        cell: Option<&CellId>,
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<MaintenanceWindow> {
        self.maintenance
            .iter()
            .filter(|w| w.announce_at <= self.now && w.end > from && w.start < to)
            .filter(|w| cell.is_none_or(|c| w.cells.contains(c)))
            .cloned()
            .collect()
    }
}

fn latest<'a, T: Clone + 'a>(
    items: impl DoubleEndedIterator<Item = &'a T>,
    limit: usize,
) -> Vec<T> {
    let mut v: Vec<T> = items.rev().take(limit).cloned().collect();
    v.reverse();
    v
}

impl Network {
    /// The tenant's SIMs (ICCID, MSISDN) in any of `cells`, in fleet order.
    pub fn sims_in_cells(&self, tenant: &TenantId, cells: &[CellId]) -> Vec<(Iccid, Msisdn)> {
        let mut out = Vec::new();
        for id in cells {
            let Some(&c) = self.cell_index.get(id) else {
                continue;
            };
            for &i in &self.cells[c].sims {
                let s = &self.sims[i].sim;
                if s.tenant == *tenant {
                    out.push((s.iccid.clone(), s.msisdn.clone()));
                }
            }
        }
        out
    }

    /// The tenant's ICCIDs' phone numbers.
    pub fn msisdn_of(&self, iccid: &Iccid) -> Option<Msisdn> {
        self.by_iccid
            .get(iccid)
            .map(|&i| self.sims[i].sim.msisdn.clone())
    }
}
