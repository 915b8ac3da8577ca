//! The fault timeline: what happens to which meters or cells, and when.

use std::time::Duration;

use crate::headend::diagnosis::RootCause;
use crate::operator::calendar::Level;
use crate::time::Timestamp;

use super::fleet::Fleet;

/// One kind of fault, with what only that kind needs.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// The utility's RADIUS password of the SIMs changes (and is reverted at `until`).
    CredentialChange { by: String, reverted_by: String },
    /// The operator's planned maintenance, announced `notice` ahead.
    PlannedMaintenance {
        notice: Duration,
        description: String,
    },
    /// An unplanned outage of the cells.
    CellOutage,
    /// The modem stays registered without a data session (a reset cures it).
    NoDataSession,
    /// The data session stays up but passes no traffic (a reset cures it).
    StaleSession,
    /// The meter loses power; it keeps no load-profile rows until it is back.
    PowerLoss,
    /// The SIM is deactivated (reactivated at `until`).
    SimDeactivated,
    /// The SIM's data service is barred (lifted at `until`).
    DataBarred,
    /// A degradation forecast published at `forecast_at`, and the degradation itself.
    Degradation {
        forecast_at: Timestamp,
        level: Level,
    },
    /// The meter's DLMS keys (or password) no longer match the head-end's.
    DlmsKeyMismatch,
    /// Frames on the meters' links are lost (and retransmitted), connections reset.
    LossyLink {
        loss: f64,
        resets: f64,
        extra_latency: Duration,
    },
    /// The meter's communication firmware hangs: connections open, nothing answers.
    FirmwareHang,
    /// The utility's RADIUS server stops answering the operator.
    RadiusDown,
}

/// The names a scenario file uses, in the order of the issue.
pub const KIND_NAMES: &[&str] = &[
    "credential-change",
    "planned-maintenance",
    "cell-outage",
    "no-data-session",
    "stale-session",
    "power-loss",
    "sim-deactivated",
    "data-barred",
    "degradation",
    "dlms-key-mismatch",
    "lossy-link",
    "firmware-hang",
    "radius-down",
];

/// What a fault kind aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aim {
    /// Meters (named, in cells, or a share of the fleet).
    Meters,
    /// Cells (named, or a number drawn by the seed).
    Cells,
    /// The whole fleet (a server the utility runs).
    Nothing,
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::CredentialChange { .. } => "credential-change",
            FaultKind::PlannedMaintenance { .. } => "planned-maintenance",
            FaultKind::CellOutage => "cell-outage",
            FaultKind::NoDataSession => "no-data-session",
            FaultKind::StaleSession => "stale-session",
            FaultKind::PowerLoss => "power-loss",
            FaultKind::SimDeactivated => "sim-deactivated",
            FaultKind::DataBarred => "data-barred",
            FaultKind::Degradation { .. } => "degradation",
            FaultKind::DlmsKeyMismatch => "dlms-key-mismatch",
            FaultKind::LossyLink { .. } => "lossy-link",
            FaultKind::FirmwareHang => "firmware-hang",
            FaultKind::RadiusDown => "radius-down",
        }
    }

    pub fn aim(name: &str) -> Aim {
        match name {
            "planned-maintenance" | "cell-outage" | "degradation" => Aim::Cells,
            "radius-down" => Aim::Nothing,
            _ => Aim::Meters,
        }
    }

    /// The root cause the head-end should find for the outages this fault causes; `None` when
    /// the fault should cause none (a lossy link the retries ride out, a marginal forecast).
    pub fn true_cause(&self) -> Option<RootCause> {
        Some(match self {
            FaultKind::CredentialChange { .. } => RootCause::AaaReject,
            FaultKind::PlannedMaintenance { .. } => RootCause::PlannedMaintenance,
            FaultKind::CellOutage => RootCause::RadioFailure,
            FaultKind::NoDataSession => RootCause::NoDataSession,
            FaultKind::StaleSession => RootCause::StaleSession,
            FaultKind::PowerLoss => RootCause::DeviceDetached,
            FaultKind::SimDeactivated => RootCause::SimInactive,
            FaultKind::DataBarred => RootCause::DataBarred,
            FaultKind::Degradation {
                level: Level::No, ..
            } => RootCause::AreaDegraded,
            FaultKind::Degradation { .. } => return None,
            FaultKind::DlmsKeyMismatch => RootCause::DlmsAuthFailed,
            FaultKind::LossyLink { .. } => return None,
            FaultKind::FirmwareHang => RootCause::MeterNotResponding,
            FaultKind::RadiusDown => RootCause::AaaUnreachable,
        })
    }

    /// Whether the fault lasts until the head-end cures it (it takes no `until`).
    pub fn cured_by_reset(&self) -> bool {
        matches!(self, FaultKind::NoDataSession | FaultKind::StaleSession)
    }

    /// Whether the meter keeps its load-profile rows through the fault.
    pub fn keeps_data(&self) -> bool {
        !matches!(self, FaultKind::PowerLoss)
    }

    /// Whether the fault bites only meters that set up a data session for each read (woken by
    /// SMS): an always-on session that is up never asks the RADIUS server again.
    pub fn needs_session_setup(&self) -> bool {
        matches!(
            self,
            FaultKind::CredentialChange { .. } | FaultKind::RadiusDown
        )
    }
}

/// Whom a fault aims at, as the file says.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    Meters(Vec<String>),
    Cells(Vec<String>),
    /// A share of the fleet (or of one profile's meters) drawn by the seed.
    Fraction {
        share: f64,
        profile: Option<String>,
    },
    /// A number of meters (or of cells, for cell faults) drawn by the seed.
    Count {
        n: u32,
        profile: Option<String>,
    },
    Fleet,
}

/// One fault of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    pub at: Timestamp,
    /// When it ends (reverted, restored, repaired); `None`: until the end of the run, or until
    /// the head-end cures it.
    pub until: Option<Timestamp>,
    pub targets: Targets,
    /// The line of the file where the fault's table starts.
    pub line: usize,
}

/// A fault with its targets resolved against a fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFault {
    pub fault: Fault,
    /// Meter indices (for cell faults: the meters in the cells).
    pub meters: Vec<u32>,
    /// Cell indices (cell faults only).
    pub cells: Vec<u32>,
}

impl Fault {
    /// Resolves the targets; `Err` says which target is wrong and what exists.
    pub fn resolve(&self, fleet: &Fleet, salt: u64) -> Result<PlannedFault, String> {
        let aim = FaultKind::aim(self.kind.name());
        let profile_meters = |profile: &Option<String>| -> Result<Vec<u32>, String> {
            match profile {
                None => Ok((0..fleet.meters.len() as u32).collect()),
                Some(name) => {
                    let p = fleet
                        .profiles
                        .iter()
                        .position(|p| &p.name == name)
                        .ok_or_else(|| {
                            format!(
                                "profile `{name}` is not in the fleet; the fleet has: {}",
                                names(fleet)
                            )
                        })?;
                    Ok(fleet
                        .meters
                        .iter()
                        .filter(|m| m.profile as usize == p)
                        .map(|m| m.index)
                        .collect())
                }
            }
        };
        let (meters, cells) = match (&self.targets, aim) {
            (Targets::Fleet, _) => ((0..fleet.meters.len() as u32).collect(), vec![]),
            (Targets::Meters(ids), Aim::Meters) => {
                let mut out = Vec::new();
                for id in ids {
                    out.push(fleet.meter_index(id).ok_or_else(|| {
                        format!(
                            "no meter `{id}` in the fleet; ids run from m000001 to m{:06}",
                            fleet.meters.len()
                        )
                    })?);
                }
                (out, vec![])
            }
            (Targets::Cells(ids), _) => {
                let mut cells = Vec::new();
                for id in ids {
                    cells.push(fleet.cell_index(id).ok_or_else(|| {
                        format!(
                            "no cell `{id}` in the fleet; cells run from cell-0001 to cell-{:04}",
                            fleet.cells.len()
                        )
                    })?);
                }
                (fleet.meters_in(&cells), cells)
            }
            (Targets::Fraction { share, profile }, Aim::Meters) => {
                let pool = profile_meters(profile)?;
                let n = ((pool.len() as f64 * share).round() as usize).max(1);
                let picked = fleet.pick(salt, pool.len() as u32, n);
                (picked.iter().map(|&i| pool[i as usize]).collect(), vec![])
            }
            (Targets::Count { n, profile }, Aim::Meters) => {
                let pool = profile_meters(profile)?;
                if *n as usize > pool.len() {
                    return Err(format!(
                        "count = {n} but only {} meters qualify",
                        pool.len()
                    ));
                }
                let picked = fleet.pick(salt, pool.len() as u32, *n as usize);
                (picked.iter().map(|&i| pool[i as usize]).collect(), vec![])
            }
            (Targets::Count { n, .. }, Aim::Cells) => {
                if *n as usize > fleet.cells.len() {
                    return Err(format!(
                        "count = {n} but the fleet has {} cells",
                        fleet.cells.len()
                    ));
                }
                let cells = fleet.pick(salt, fleet.cells.len() as u32, *n as usize);
                (fleet.meters_in(&cells), cells)
            }
            (t, aim) => {
                return Err(format!(
                    "{} cannot aim at {t:?}; {}",
                    self.kind.name(),
                    match aim {
                        Aim::Cells => "name `cells` or a `count` of cells",
                        Aim::Meters => "name `meters`, `cells`, a `fraction` or a `count`",
                        Aim::Nothing => "it takes no targets",
                    }
                ))
            }
        };
        Ok(PlannedFault {
            fault: self.clone(),
            meters,
            cells,
        })
    }
}

fn names(fleet: &Fleet) -> String {
    fleet
        .profiles
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
