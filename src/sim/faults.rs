//! The fault timeline applied to the world at its times: the operator's calendar, the SIMs and
//! modems in the operator's model, the utility's RADIUS server, and the meters and their links.

use super::{secs, Event, Simulation};
use crate::headend::operator_adapter::OperatorAdapter;
use crate::meter::device::Modem;
use crate::operator::ids::CellId;
use crate::operator::manifest::default_radius_password;
use crate::operator::network::{MaintenanceRequest, StuckKind};
use crate::operator::sim::SimStatus;
use crate::scenario::FaultKind;

impl<A: OperatorAdapter> Simulation<A> {
    pub(super) fn schedule_faults(&mut self) {
        let start = self.scenario.start();
        for (i, pf) in self.plan.faults.iter().enumerate() {
            let f = &pf.fault;
            let at = match &f.kind {
                // The operator's calendar does the rest: announcement, start, end.
                FaultKind::PlannedMaintenance { .. } => start,
                FaultKind::Degradation { forecast_at, .. } => (*forecast_at).max(start),
                _ => f.at,
            };
            self.queue.push(at, Event::FaultStart(i as u32));
            let calendar = matches!(
                f.kind,
                FaultKind::PlannedMaintenance { .. }
                    | FaultKind::Degradation { .. }
                    | FaultKind::CellOutage
            );
            if let (Some(until), false) = (f.until, calendar) {
                self.queue.push(until, Event::FaultEnd(i as u32));
            }
        }
    }

    /// Applies the start (or end) of fault `i`.
    pub(super) fn fault_edge(&mut self, i: usize, starting: bool) {
        let pf = self.plan.faults[i].clone();
        let f = &pf.fault;
        let now = self.now;
        let mut errors = Vec::new();
        match &f.kind {
            FaultKind::CredentialChange { by, reverted_by } => {
                let manifest_passwords: Vec<(String, String)> = {
                    let net = self.net();
                    pf.meters
                        .iter()
                        .filter_map(|&m| {
                            let iccid = &self.meters[m as usize].iccid;
                            let user = net.radius_user(iccid)?.to_string();
                            Some((user, default_radius_password(iccid)))
                        })
                        .collect()
                };
                let mut aaa = self.aaa.lock().unwrap_or_else(|e| e.into_inner());
                for (user, original) in manifest_passwords {
                    if starting {
                        aaa.set_password(&user, &format!("{original}-new"), by, now);
                    } else {
                        aaa.set_password(&user, &original, reverted_by, now);
                    }
                }
            }
            FaultKind::PlannedMaintenance {
                notice,
                description,
            } => {
                let req = MaintenanceRequest {
                    cells: self.cell_ids(&pf.cells),
                    start: f.at,
                    end: f.until.expect("maintenance has an end"),
                    notice: Some(*notice),
                    description: description.clone(),
                };
                if let Err(e) = self.net().add_maintenance(req, now) {
                    errors.push(e.to_string());
                }
            }
            FaultKind::CellOutage => {
                for cell in self.cell_ids(&pf.cells) {
                    let d = f.until.map(|u| u.since(f.at));
                    if let Err(e) = self.net().add_outage(&cell, d, now) {
                        errors.push(e.to_string());
                    }
                }
            }
            FaultKind::Degradation { level, .. } => {
                for &c in &pf.cells {
                    let geohash = self.plan.fleet.cells[c as usize].geohash.clone();
                    let until = f.until.expect("a degradation has an end");
                    if let Err(e) = self.net().add_forecast(&geohash, f.at, until, *level, now) {
                        errors.push(e.to_string());
                    }
                }
            }
            FaultKind::RadiusDown => self.radius_down = starting,
            _ => {
                for &m in &pf.meters {
                    if let Err(e) = self.meter_fault(m, i, &f.kind, starting) {
                        errors.push(format!("{}: {e}", crate::meter::manifest::meter_id(m)));
                    }
                }
            }
        }
        let clock = self.scenario.clock;
        for e in errors {
            self.stats.fault_errors.push(format!(
                "{} at {} (line {}): {e}",
                f.kind.name(),
                clock.format(now),
                f.line
            ));
        }
    }

    /// Applies a fault to one meter.
    fn meter_fault(
        &mut self,
        m: u32,
        i: usize,
        kind: &FaultKind,
        starting: bool,
    ) -> Result<(), String> {
        let now = self.now;
        let iccid = self.meters[m as usize].iccid.clone();
        let mut net = self.net.lock().unwrap_or_else(|e| e.into_inner());
        let meter = &mut self.meters[m as usize];
        let r = match kind {
            FaultKind::NoDataSession => net.inject_stuck(&iccid, StuckKind::NoDataSession, now),
            FaultKind::StaleSession => net.inject_stuck(&iccid, StuckKind::Stale, now),
            FaultKind::PowerLoss if starting => {
                meter.device.set_modem(Modem::PoweredOff, secs(now));
                net.inject_power_loss(&iccid, now)
            }
            FaultKind::PowerLoss => {
                meter.device.restore_power(secs(now));
                net.inject_power_restore(&iccid, now)
            }
            FaultKind::SimDeactivated => {
                let status = if starting {
                    SimStatus::Deactivated
                } else {
                    SimStatus::Activated
                };
                net.inject_sim_status(&iccid, status, now)
            }
            FaultKind::DataBarred => net.inject_data_barred(&iccid, starting, now),
            FaultKind::DlmsKeyMismatch => {
                meter.keys_mismatch = starting;
                Ok(())
            }
            FaultKind::FirmwareHang => {
                meter.hung = starting;
                Ok(())
            }
            FaultKind::LossyLink { .. } => {
                meter.lossy = starting.then_some(i as u32);
                Ok(())
            }
            _ => Ok(()),
        };
        r.map_err(|e| e.to_string())
    }

    fn cell_ids(&self, cells: &[u32]) -> Vec<CellId> {
        cells
            .iter()
            .map(|&c| CellId::new(self.plan.fleet.cells[c as usize].id.clone()).expect("valid"))
            .collect()
    }
}
