//! Scenario control: fault injection for tests and load tests, behind its own token.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::ScenarioAuth;
use super::error::{parse_body, ApiError, Body};
use super::{now, Route, Security, Shared};
use crate::operator::calendar::Level;
use crate::operator::ids::{CellId, Iccid};
use crate::operator::network::{MaintenanceRequest, StuckKind};
use crate::operator::sim::SimStatus;
use crate::operator::time::Timestamp;

pub(crate) fn routes() -> Vec<Route> {
    let r = |path, method, summary, handler| Route {
        path,
        method,
        tag: "Scenario control",
        summary,
        security: Security::Scenario,
        success: 200,
        handler,
    };
    vec![
        r("/scenario/v0/inject", Method::POST, "Inject a fault: credential-change, maintenance-window, cell-outage, cell-restore, stuck-session, power-loss, power-restore, sim-deactivation, sim-status, data-barred, forecast", post(inject)),
        r("/scenario/v0/cells", Method::GET, "Every cell, with whether it is serving", get(cells)),
        r("/scenario/v0/credential-changes", Method::GET, "The embedded RADIUS server's credential change logbook", get(credential_changes)),
    ]
}

/// Which side of a credential changes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Side {
    /// The utility's RADIUS server (the use case: someone edits a password there).
    Server,
    /// The device's configured password.
    Device,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CredentialChange {
    iccid: Iccid,
    side: Side,
    password: Option<String>,
    by: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Maintenance {
    cells: Vec<CellId>,
    start_time: Timestamp,
    end_time: Timestamp,
    notice_seconds: Option<u64>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CellOutage {
    cell_id: CellId,
    duration_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CellRef {
    cell_id: CellId,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Stuck {
    iccid: Iccid,
    stuck: StuckKind,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SimRef {
    iccid: Iccid,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusArgs {
    iccid: Iccid,
    status: SimStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Barring {
    iccid: Iccid,
    barred: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ForecastArgs {
    geohash: String,
    start_time: Timestamp,
    end_time: Timestamp,
    level: Level,
}

/// A fault: `{"kind": ..., fields}` on the wire.
#[derive(Debug)]
enum Fault {
    CredentialChange(CredentialChange),
    MaintenanceWindow(Maintenance),
    CellOutage(CellOutage),
    CellRestore(CellRef),
    StuckSession(Stuck),
    PowerLoss(SimRef),
    PowerRestore(SimRef),
    SimDeactivation(SimRef),
    SimStatus(StatusArgs),
    DataBarred(Barring),
    Forecast(ForecastArgs),
}

/// The kinds, as `kind` names them.
const KINDS: [&str; 11] = [
    "credential-change",
    "maintenance-window",
    "cell-outage",
    "cell-restore",
    "stuck-session",
    "power-loss",
    "power-restore",
    "sim-deactivation",
    "sim-status",
    "data-barred",
    "forecast",
];

/// Parses `{"kind": K, ...fields}` into K's fields, naming the field on errors (an internally
/// tagged serde enum would lose the path).
fn parse_fault(mut body: Value) -> Result<Fault, ApiError> {
    let Some(fields) = body.as_object_mut() else {
        return Err(ApiError::invalid(
            "body: expected a JSON object with `kind`",
        ));
    };
    let kind = match fields.remove("kind") {
        Some(Value::String(k)) => k,
        Some(_) => return Err(ApiError::field("kind", "must be a string")),
        None => {
            return Err(ApiError::field(
                "kind",
                format!("missing; one of {}", KINDS.join(", ")),
            ))
        }
    };
    let b = body.to_string().into_bytes();
    Ok(match kind.as_str() {
        "credential-change" => Fault::CredentialChange(parse_body(&b)?),
        "maintenance-window" => Fault::MaintenanceWindow(parse_body(&b)?),
        "cell-outage" => Fault::CellOutage(parse_body(&b)?),
        "cell-restore" => Fault::CellRestore(parse_body(&b)?),
        "stuck-session" => Fault::StuckSession(parse_body(&b)?),
        "power-loss" => Fault::PowerLoss(parse_body(&b)?),
        "power-restore" => Fault::PowerRestore(parse_body(&b)?),
        "sim-deactivation" => Fault::SimDeactivation(parse_body(&b)?),
        "sim-status" => Fault::SimStatus(parse_body(&b)?),
        "data-barred" => Fault::DataBarred(parse_body(&b)?),
        "forecast" => Fault::Forecast(parse_body(&b)?),
        other => {
            return Err(ApiError::field(
                "kind",
                format!("`{other}` is not one of {}", KINDS.join(", ")),
            ))
        }
    })
}

async fn inject(
    State(shared): State<Arc<Shared>>,
    _auth: ScenarioAuth,
    Body(body): Body<Value>,
) -> Result<Json<Value>, ApiError> {
    let fault = parse_fault(body)?;
    let t = now();
    let result = apply(&shared, fault, t)?;
    shared.kick();
    Ok(Json(result))
}

fn apply(shared: &Shared, fault: Fault, t: Timestamp) -> Result<Value, ApiError> {
    let mut world = shared.world();
    let net = &mut world.net;
    Ok(match fault {
        Fault::CredentialChange(CredentialChange {
            iccid,
            side,
            password,
            by,
        }) => {
            let user = net
                .radius_user(&iccid)
                .ok_or_else(|| ApiError::field("iccid", format!("no SIM {iccid} in the fleet")))?
                .to_string();
            let password = password.unwrap_or_else(|| format!("changed-{}", t.as_millis()));
            match side {
                Side::Server => shared
                    .aaa
                    .change_password(&user, &password, &by, t)
                    .map_err(|why| ApiError::conflict(format!("side: the RADIUS server cannot be changed from here ({why}); use side \"device\" or edit the server")))?,
                Side::Device => net.inject_device_password(&iccid, &password, t)?,
            }
            let side = if side == Side::Server {
                "server"
            } else {
                "device"
            };
            json!({"kind": "credential-change", "iccid": iccid, "user": user, "side": side, "by": by, "time": t})
        }
        Fault::MaintenanceWindow(Maintenance {
            cells,
            start_time,
            end_time,
            notice_seconds,
            description,
        }) => {
            let req = MaintenanceRequest {
                cells,
                start: start_time,
                end: end_time,
                notice: notice_seconds.map(Duration::from_secs),
                description: description.unwrap_or_default(),
            };
            json!({"kind": "maintenance-window", "window": net.add_maintenance(req, t)?})
        }
        Fault::CellOutage(CellOutage {
            cell_id,
            duration_seconds,
        }) => {
            json!({"kind": "cell-outage", "outage": net.add_outage(&cell_id, duration_seconds.map(Duration::from_secs), t)?})
        }
        Fault::CellRestore(CellRef { cell_id }) => {
            json!({"kind": "cell-restore", "outagesEnded": net.restore_cell(&cell_id, t)?})
        }
        Fault::StuckSession(Stuck { iccid, stuck }) => {
            net.inject_stuck(&iccid, stuck, t)?;
            json!({"kind": "stuck-session", "iccid": iccid, "stuck": stuck})
        }
        Fault::PowerLoss(SimRef { iccid }) => {
            net.inject_power_loss(&iccid, t)?;
            shared.meters.power(&iccid, false);
            json!({"kind": "power-loss", "iccid": iccid})
        }
        Fault::PowerRestore(SimRef { iccid }) => {
            net.inject_power_restore(&iccid, t)?;
            shared.meters.power(&iccid, true);
            json!({"kind": "power-restore", "iccid": iccid})
        }
        Fault::SimDeactivation(SimRef { iccid }) => {
            net.inject_sim_status(&iccid, SimStatus::Deactivated, t)?;
            json!({"kind": "sim-deactivation", "iccid": iccid})
        }
        Fault::SimStatus(StatusArgs { iccid, status }) => {
            net.inject_sim_status(&iccid, status, t)?;
            json!({"kind": "sim-status", "iccid": iccid, "status": status})
        }
        Fault::DataBarred(Barring { iccid, barred }) => {
            net.inject_data_barred(&iccid, barred, t)?;
            json!({"kind": "data-barred", "iccid": iccid, "barred": barred})
        }
        Fault::Forecast(ForecastArgs {
            geohash,
            start_time,
            end_time,
            level,
        }) => {
            json!({"kind": "forecast", "forecast": net.add_forecast(&geohash, start_time, end_time, level, t)?})
        }
    })
}

async fn cells(State(shared): State<Arc<Shared>>, _auth: ScenarioAuth) -> Json<Value> {
    Json(json!(shared.world().net.cells()))
}

async fn credential_changes(State(shared): State<Arc<Shared>>, _auth: ScenarioAuth) -> Json<Value> {
    Json(json!(shared.aaa.logbook()))
}
