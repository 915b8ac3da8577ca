//! The operator adapter over the in-process operator model, for the simulator: the head-end asks
//! the same [`Network`] the simulated meters live in, in virtual time.
//!
//! It lives in the head-end, not in `operator`, because it is the head-end's view of an operator:
//! the operator model stays a product of its own (`reanimator operator`) that knows nothing of
//! head-ends, as it knows nothing of our HTTP client. It reads exactly what the HTTP API exposes
//! (the same model queries behind the same endpoints) into the same [`OperatorRecords`], so both
//! adapters reach the same diagnosis.
//!
//! Every call runs to completion before it returns: the futures are ready on their first poll,
//! and the adapter never advances the network's timers (the simulator drives those).

use std::future::{ready, Future};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::evidence::{
    assemble, assemble_outlook, AaaKind, AaaRecord, CellRecord, CredentialChangeRecord,
    EvidenceParams, ForecastLevel, ForecastRecord, KpiRecord, LogbookFn, OperatorRecords, Reach,
    ReachabilityRecord, SessionPhase, SessionRecord, SimRecord, WindowRecord,
};
use super::fleet::MeterRef;
use super::operator_adapter::{
    AdapterError, CellOutlook, Gathered, OperatorAdapter, ResetKind, FORECAST_AHEAD, WAKE_UP_TEXT,
    WAKE_UP_VALIDITY,
};
use crate::operator::actions::{self, Actor};
use crate::operator::calendar::{Level, MaintenanceWindow};
use crate::operator::events::Reachability;
use crate::operator::geohash;
use crate::operator::ids::{CellId, Iccid};
use crate::operator::network::{ActionError, PcdQuery, SmsRequest};
use crate::operator::{InProcessAaa, Network};
use crate::serde_name::serde_name;
use crate::time::Timestamp;

/// At most this many AAA records are read per gather (as the HTTP API's maximum).
const MAX_AAA_RECORDS: usize = 100;
/// One Predictive Connectivity Data slot.
const HOUR: Duration = Duration::from_secs(3600);
/// The longest forecast window PCD answers.
const MAX_FORECAST: Duration = Duration::from_secs(168 * 3600);

/// [`OperatorAdapter`] over a shared [`Network`], acting as one tenant's principal.
pub struct InProcessOperator {
    net: Arc<Mutex<Network>>,
    actor: Actor,
    logbook: Option<LogbookFn>,
    params: EvidenceParams,
}

impl InProcessOperator {
    /// An adapter acting as `actor` (the audit trail's "who"), without a credential logbook.
    pub fn new(net: Arc<Mutex<Network>>, actor: Actor, params: EvidenceParams) -> Self {
        InProcessOperator {
            net,
            actor,
            logbook: None,
            params,
        }
    }

    /// Reads the utility's credential logbook from `logbook` at each gather.
    pub fn with_logbook(mut self, logbook: LogbookFn) -> Self {
        self.logbook = Some(logbook);
        self
    }

    /// The logbook of the embedded utility RADIUS server.
    pub fn embedded_logbook(aaa: Arc<Mutex<InProcessAaa>>) -> LogbookFn {
        Arc::new(move || {
            let aaa = aaa.lock().unwrap_or_else(|e| e.into_inner());
            aaa.logbook()
                .iter()
                .map(|c| CredentialChangeRecord {
                    at: c.time,
                    user: c.user.clone(),
                    by: c.by.clone(),
                })
                .collect()
        })
    }

    fn net(&self) -> MutexGuard<'_, Network> {
        self.net.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything the operator exposes about `meter`'s SIM, as of `now`.
    pub fn records(
        &self,
        meter: &MeterRef,
        now: Timestamp,
    ) -> Result<OperatorRecords, AdapterError> {
        let iccid = Iccid::new(meter.iccid.as_str()).map_err(|_| AdapterError::UnknownSim)?;
        let tenant = &self.actor.tenant;
        let logbook = self.logbook.as_ref().map(|f| f()).unwrap_or_default();
        let net = self.net();
        let sim = net.sim_details(tenant, &iccid).map_err(adapter_error)?;
        let session = net.session_info(tenant, &iccid).map_err(adapter_error)?;
        let status = net
            .connectivity_status(tenant, &iccid)
            .map_err(adapter_error)?;
        let aaa = net
            .aaa_records(tenant, &iccid, None, MAX_AAA_RECORDS)
            .map_err(adapter_error)?;
        let kpi_from = now - self.params.kpi_window;
        let kpi = net
            .sim_kpi(tenant, &iccid, kpi_from, now)
            .map_err(adapter_error)?;
        let cell = status.cell_id.clone();
        let maintenance = net
            .maintenance_windows(Some(&cell), now, now + Duration::from_secs(1))
            .iter()
            .map(window_record)
            .collect();
        let start = now.floor(HOUR);
        let forecasts = forecast(&net, &cell, start, start + FORECAST_AHEAD);
        Ok(OperatorRecords {
            session: Some(SessionRecord {
                phase: SessionPhase::from_wire(session.state),
                since: session.state_since,
                started: session.date_session_started,
                last_traffic: session.last_traffic_at,
                last_setup_failure: session
                    .last_setup_failure
                    .zip(session.last_setup_failure_at)
                    .map(|(f, at)| (serde_name(&f), at)),
                last_terminate: session
                    .last_terminate_cause
                    .zip(session.date_session_ended)
                    .map(|(c, at)| (serde_name(&c), at)),
                consecutive_failures: session.consecutive_setup_failures,
            }),
            aaa: aaa
                .iter()
                .map(|r| AaaRecord {
                    at: r.time,
                    kind: AaaKind::from_wire(&serde_name(&r.kind)),
                    user: r.user.clone(),
                    line: r.line.clone(),
                })
                .collect(),
            logbook,
            sim: Some(SimRecord {
                status: sim.status.name().to_string(),
                data_barred: sim.data_barred,
                quota_exhausted: sim
                    .data_limit_bytes
                    .is_some_and(|limit| sim.data_used_bytes >= limit),
                cell: sim.cell_id.to_string(),
            }),
            maintenance,
            cell: Some(CellRecord {
                id: cell.to_string(),
                serving: status.cell_serving,
            }),
            forecasts,
            reachability: Some(ReachabilityRecord {
                reach: match status.reachability {
                    Reachability::Data => Reach::Data,
                    Reachability::Sms => Reach::SmsOnly,
                    Reachability::Disconnected => Reach::Unreachable,
                },
                since: status.since,
                last_activity: status.last_activity_at,
                detach_reason: status.detach_reason.map(str::to_string),
            }),
            kpi: Some(KpiRecord {
                from: kpi_from,
                until: now,
                attempts: kpi.attempts,
                successes: kpi.successes,
            }),
        })
    }

    fn reset_now(
        &self,
        meter: &MeterRef,
        kind: ResetKind,
        reason: &str,
        now: Timestamp,
    ) -> Result<String, AdapterError> {
        let iccid = Iccid::new(meter.iccid.as_str()).map_err(|_| AdapterError::UnknownSim)?;
        let reset = actions::ResetKind {
            delete_data_session: kind == ResetKind::DataSession,
            cancel_location: kind == ResetKind::CancelLocation,
        };
        self.net()
            .reset_connectivity(&self.actor, &iccid, reset, reason, now)
            .map(|op| op.operation_id)
            .map_err(adapter_error)
    }

    fn wake_up_now(&self, meter: &MeterRef, now: Timestamp) -> Result<(), AdapterError> {
        let iccid = Iccid::new(meter.iccid.as_str()).map_err(|_| AdapterError::UnknownSim)?;
        let req = SmsRequest {
            text: WAKE_UP_TEXT.into(),
            validity: Some(WAKE_UP_VALIDITY),
            reason: "wake-up for a read".into(),
        };
        self.net()
            .send_sms(&self.actor, &iccid, &req, now)
            .map(|_| ())
            .map_err(adapter_error)
    }

    fn outlook_now(
        &self,
        cells: &[String],
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<CellOutlook>, AdapterError> {
        let net = self.net();
        let mut windows = Vec::new();
        let mut forecasts = Vec::new();
        for raw in cells {
            let cell = CellId::new(raw.as_str())
                .map_err(|e| AdapterError::Failed(format!("cell `{raw}`: {e}")))?;
            for w in net.maintenance_windows(Some(&cell), from, until) {
                windows.push(WindowRecord {
                    cells: vec![raw.clone()],
                    ..window_record(&w)
                });
            }
            let start = from.floor(HOUR);
            let end = until.min(start + MAX_FORECAST);
            for f in forecast(&net, &cell, start, end) {
                forecasts.push((raw.clone(), f));
            }
        }
        Ok(assemble_outlook(&windows, &forecasts, from, until))
    }
}

impl OperatorAdapter for InProcessOperator {
    fn gather(
        &self,
        meter: &MeterRef,
        now: Timestamp,
        earlier_reject: Option<&AaaRecord>,
    ) -> impl Future<Output = Result<Gathered, AdapterError>> + Send {
        let records = self.records(meter, now);
        ready(records.map(|r| assemble(meter, &r, earlier_reject, now, &self.params)))
    }

    fn wake_up(
        &self,
        meter: &MeterRef,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), AdapterError>> + Send {
        ready(self.wake_up_now(meter, now))
    }

    fn reset(
        &self,
        meter: &MeterRef,
        kind: ResetKind,
        reason: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<String, AdapterError>> + Send {
        ready(self.reset_now(meter, kind, reason, now))
    }

    fn outlook(
        &self,
        cells: &[String],
        from: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<CellOutlook>, AdapterError>> + Send {
        ready(self.outlook_now(cells, from, until))
    }
}

/// The name an operator enum has on the wire (`AAA_REJECT`, `ACCESS_ACCEPT`, ...).
fn window_record(w: &MaintenanceWindow) -> WindowRecord {
    WindowRecord {
        id: w.id.clone(),
        cells: w.cells.iter().map(|c| c.to_string()).collect(),
        from: w.start,
        until: w.end,
        description: w.description.clone(),
    }
}

/// The degraded hours PCD predicts for `cell` over `[start, end)`, as the HTTP API answers them.
fn forecast(net: &Network, cell: &CellId, start: Timestamp, end: Timestamp) -> Vec<ForecastRecord> {
    let Some(hash) = net.cell(cell).map(|c| c.geohash) else {
        return Vec::new();
    };
    let Some(polygon) = geohash::cell_boundary(&hash) else {
        return Vec::new();
    };
    let query = PcdQuery {
        polygon,
        precision: hash.len(),
        start,
        end,
    };
    let Ok(result) = net.predict(&query) else {
        return Vec::new();
    };
    result
        .slots
        .iter()
        .filter_map(|slot| {
            let level = slot
                .cells
                .iter()
                .filter_map(|(_, l)| match l {
                    Level::No => Some(ForecastLevel::None),
                    Level::Marginal => Some(ForecastLevel::Marginal),
                    Level::Good | Level::NoData => None,
                })
                .min_by_key(|l| *l != ForecastLevel::None)?;
            Some(ForecastRecord {
                from: slot.start,
                until: slot.end,
                level,
            })
        })
        .collect()
}

fn adapter_error(e: ActionError) -> AdapterError {
    match e {
        ActionError::NotFound => AdapterError::UnknownSim,
        ActionError::RateLimited { retry_after, .. } => AdapterError::RateLimited {
            retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64,
        },
        other => AdapterError::Failed(other.to_string()),
    }
}
