//! Fault injection: what a scenario (or a test) does to the network. Not tenant-scoped.

use std::time::Duration;

use super::{Due, Network};
use crate::operator::calendar::{Forecast, Level, MaintenanceWindow, Outage};
use crate::operator::ids::{CellId, Iccid};
use crate::operator::modem::{Input, ModemState};
use crate::operator::sim::SimStatus;
use crate::operator::time::Timestamp;

/// Why a fault could not be injected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
}

/// Which stuck state to put a modem in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StuckKind {
    /// Registered, never asking for a data session.
    NoDataSession,
    /// The session stays up but passes no traffic.
    Stale,
}

/// A planned maintenance window to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceRequest {
    pub cells: Vec<CellId>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// How far ahead customers are told; defaults to the configured notice.
    pub notice: Option<Duration>,
    pub description: String,
}

impl Network {
    fn sim_index(&self, iccid: &Iccid) -> Result<usize, FaultError> {
        self.by_iccid
            .get(iccid)
            .copied()
            .ok_or_else(|| FaultError::Invalid {
                field: "iccid",
                message: format!("no SIM {iccid} in the fleet"),
            })
    }

    fn cell_index_of(&self, cell: &CellId, field: &'static str) -> Result<usize, FaultError> {
        self.cell_index
            .get(cell)
            .copied()
            .ok_or_else(|| FaultError::Invalid {
                field,
                message: format!("no cell {cell} in the fleet"),
            })
    }

    /// The meter loses power: its modem vanishes without a word.
    pub fn inject_power_loss(&mut self, iccid: &Iccid, now: Timestamp) -> Result<(), FaultError> {
        self.advance(now);
        let idx = self.sim_index(iccid)?;
        self.step(idx, Input::PowerLoss, None);
        Ok(())
    }

    /// Power comes back (also a power cycle: it clears stuck modem states).
    pub fn inject_power_restore(
        &mut self,
        iccid: &Iccid,
        now: Timestamp,
    ) -> Result<(), FaultError> {
        self.advance(now);
        let idx = self.sim_index(iccid)?;
        if self.sims[idx].modem.powered && !self.sims[idx].modem.stay_off {
            // A running modem that is power-cycled drops off and comes back.
            self.step(idx, Input::PowerLoss, None);
        }
        self.step(idx, Input::PowerRestore, None);
        Ok(())
    }

    /// Puts the modem in a stuck state that a reset cures.
    pub fn inject_stuck(
        &mut self,
        iccid: &Iccid,
        kind: StuckKind,
        now: Timestamp,
    ) -> Result<(), FaultError> {
        self.advance(now);
        let idx = self.sim_index(iccid)?;
        let state = &self.sims[idx].modem.state;
        match kind {
            StuckKind::Stale if !matches!(state, ModemState::SessionUp(_)) => {
                return Err(FaultError::Conflict(format!(
                    "SIM {iccid} has no data session to make stale (it is {})",
                    state.name()
                )));
            }
            StuckKind::NoDataSession if !state.attached() => {
                return Err(FaultError::Conflict(format!(
                    "SIM {iccid} is not registered (it is {})",
                    state.name()
                )));
            }
            StuckKind::Stale => self.step(idx, Input::InjectStale, None),
            StuckKind::NoDataSession => self.step(idx, Input::InjectNoSession, None),
        }
        Ok(())
    }

    /// The operator (or the customer) deactivates the SIM.
    pub fn inject_sim_status(
        &mut self,
        iccid: &Iccid,
        status: SimStatus,
        now: Timestamp,
    ) -> Result<(), FaultError> {
        self.advance(now);
        let idx = self.sim_index(iccid)?;
        if !self.sims[idx].sim.status.may_change_to(status) {
            return Err(FaultError::Conflict(format!(
                "SIM {iccid} cannot change from {} to {}",
                self.sims[idx].sim.status.name(),
                status.name()
            )));
        }
        self.set_status(idx, status, "the scenario");
        Ok(())
    }

    /// Bars (or un-bars) the SIM's data service; a live session is ended.
    pub fn inject_data_barred(
        &mut self,
        iccid: &Iccid,
        barred: bool,
        now: Timestamp,
    ) -> Result<(), FaultError> {
        self.advance(now);
        let idx = self.sim_index(iccid)?;
        self.sims[idx].sim.data_barred = barred;
        let line = if barred {
            "The SIM's data service was barred."
        } else {
            "The SIM's data service was unbarred."
        };
        self.sim_event(idx, "DATA_BARRING_CHANGED", line.into(), None);
        if barred {
            self.step(idx, Input::DataWithdrawn, None);
        } else if self.sims[idx].modem.state == ModemState::Registered {
            self.step(idx, Input::DeleteDataSession, None); // the modem retries at once
        }
        Ok(())
    }

    /// The device is reconfigured with another RADIUS password (the server keeps its own).
    pub fn inject_device_password(
        &mut self,
        iccid: &Iccid,
        password: &str,
        now: Timestamp,
    ) -> Result<(), FaultError> {
        self.advance(now);
        let idx = self.sim_index(iccid)?;
        self.sims[idx].sim.radius_password = password.to_string();
        Ok(())
    }

    /// The RADIUS user name a SIM's device presents (for a server-side credential change).
    pub fn radius_user(&self, iccid: &Iccid) -> Option<&str> {
        self.by_iccid
            .get(iccid)
            .map(|&i| self.sims[i].sim.radius_user.as_str())
    }

    /// Adds a planned maintenance window; announced `notice` before it starts (or now).
    pub fn add_maintenance(
        &mut self,
        req: MaintenanceRequest,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, FaultError> {
        self.advance(now);
        if req.cells.is_empty() {
            return Err(FaultError::Invalid {
                field: "cells",
                message: "name at least one cell".into(),
            });
        }
        for c in &req.cells {
            self.cell_index_of(c, "cells")?;
        }
        if req.end <= req.start {
            return Err(FaultError::Invalid {
                field: "end",
                message: "must be after start".into(),
            });
        }
        let notice = req.notice.unwrap_or(self.config.maintenance_notice);
        let announce_at = (req.start - notice).max(self.now);
        let i = self.maintenance.len();
        let window = MaintenanceWindow {
            id: format!("mw-{:04}", i + 1),
            cells: req.cells,
            start: req.start,
            end: req.end,
            announce_at,
            description: if req.description.is_empty() {
                "Planned maintenance".into()
            } else {
                req.description
            },
        };
        self.maintenance.push(window.clone());
        self.schedule(announce_at, Due::MaintenanceAnnounce(i));
        self.schedule(window.start.max(self.now), Due::MaintenanceStart(i));
        self.schedule(window.end.max(self.now), Due::MaintenanceEnd(i));
        Ok(window)
    }

    pub(super) fn maintenance_edge(&mut self, i: usize, starting: bool) {
        let window = self.maintenance[i].clone();
        for id in &window.cells {
            let c = self.cell_index[id];
            let was = self.cells[c].condition.serving();
            let cond = &mut self.cells[c].condition;
            if starting {
                cond.planned += 1;
            } else {
                cond.planned = cond.planned.saturating_sub(1);
            }
            let why = format!(
                "planned maintenance {} ({} to {})",
                window.id, window.start, window.end
            );
            self.cell_changed(c, was, &why);
        }
    }

    /// An unplanned outage of `cell` from now, for `duration` or until [`Network::restore_cell`].
    pub fn add_outage(
        &mut self,
        cell: &CellId,
        duration: Option<Duration>,
        now: Timestamp,
    ) -> Result<Outage, FaultError> {
        self.advance(now);
        let c = self.cell_index_of(cell, "cell")?;
        let i = self.outages.len();
        let outage = Outage {
            id: format!("out-{:04}", i + 1),
            cell: cell.clone(),
            start: self.now,
            end: duration.map(|d| self.now + d),
        };
        self.outages.push(outage.clone());
        if let Some(end) = outage.end {
            self.schedule(end, Due::OutageEnd(i));
        }
        let was = self.cells[c].condition.serving();
        self.cells[c].condition.outages += 1;
        self.cell_changed(c, was, &format!("unplanned outage {}", outage.id));
        Ok(outage)
    }

    /// Ends every open outage of `cell`; returns how many.
    pub fn restore_cell(&mut self, cell: &CellId, now: Timestamp) -> Result<usize, FaultError> {
        self.advance(now);
        self.cell_index_of(cell, "cell")?;
        let open: Vec<usize> = (0..self.outages.len())
            .filter(|&i| {
                self.outages[i].cell == *cell && self.outages[i].end.is_none_or(|e| e > self.now)
            })
            .collect();
        for &i in &open {
            self.end_outage(i, self.now);
        }
        Ok(open.len())
    }

    pub(super) fn end_outage(&mut self, i: usize, now: Timestamp) {
        let outage = &mut self.outages[i];
        if outage.end.is_some_and(|e| e < now) {
            return; // already ended by a restore
        }
        outage.end = Some(now.min(outage.end.unwrap_or(now)));
        let id = outage.id.clone();
        let c = self.cell_index[&outage.cell];
        let was = self.cells[c].condition.serving();
        let cond = &mut self.cells[c].condition;
        cond.outages = cond.outages.saturating_sub(1);
        self.cell_changed(c, was, &format!("outage {id} repaired"));
    }

    /// Forecasts (and, when the window comes, brings about) degraded connectivity in an area.
    pub fn add_forecast(
        &mut self,
        geohash: &str,
        start: Timestamp,
        end: Timestamp,
        level: Level,
        now: Timestamp,
    ) -> Result<Forecast, FaultError> {
        self.advance(now);
        if !crate::operator::geohash::is_valid(geohash) {
            return Err(FaultError::Invalid {
                field: "geohash",
                message: format!("`{geohash}` is not a geohash"),
            });
        }
        if !matches!(level, Level::Marginal | Level::No) {
            return Err(FaultError::Invalid {
                field: "level",
                message: "must be MC or NC".into(),
            });
        }
        if end <= start {
            return Err(FaultError::Invalid {
                field: "end",
                message: "must be after start".into(),
            });
        }
        let i = self.forecasts.len();
        let forecast = Forecast {
            id: format!("fc-{:04}", i + 1),
            geohash: geohash.into(),
            start,
            end,
            level,
        };
        self.forecasts.push(forecast.clone());
        self.schedule(start.max(self.now), Due::ForecastStart(i));
        self.schedule(end.max(self.now), Due::ForecastEnd(i));
        Ok(forecast)
    }

    pub(super) fn forecast_edge(&mut self, i: usize, starting: bool) {
        let f = self.forecasts[i].clone();
        for c in 0..self.cells.len() {
            if !f.covers(&self.cells[c].cell.geohash) {
                continue;
            }
            let was = self.cells[c].condition.serving();
            let cond = &mut self.cells[c].condition;
            let counter = if f.level == Level::No {
                &mut cond.forecast_down
            } else {
                &mut cond.forecast_marginal
            };
            if starting {
                *counter += 1;
            } else {
                *counter = counter.saturating_sub(1);
            }
            self.cell_changed(
                c,
                was,
                &format!("degraded radio conditions in the area (forecast {})", f.id),
            );
        }
    }
}
