//! The SIM API (Cisco IoT Control Center / 1NCE / emnify style): details, session info,
//! connectivity status, events, connectivity reset, status change, SMS with delivery receipt,
//! and the tenant's audit trail.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::TenantAuth;
use super::error::{ApiError, Body, Params};
use super::{now, Route, Security, Shared};
use crate::operator::actions::ResetKind;
use crate::operator::ids::Iccid;
use crate::operator::network::{SmsRequest, StatusChange};
use crate::operator::sim::SimStatus;
use crate::operator::time::Timestamp;

pub const BASE: &str = "/sim-management/v0";

pub(crate) fn routes() -> Vec<Route> {
    let r = |path, method, summary, success, handler| Route {
        path,
        method,
        tag: "SIM management",
        summary,
        security: Security::Tenant,
        success,
        handler,
    };
    vec![
        r(
            "/sim-management/v0/sims",
            Method::GET,
            "Your SIMs (offset, limit)",
            200,
            get(list),
        ),
        r(
            "/sim-management/v0/sims/{iccid}",
            Method::GET,
            "A SIM's details",
            200,
            get(details),
        ),
        r(
            "/sim-management/v0/sims/{iccid}/session-info",
            Method::GET,
            "Its data session",
            200,
            get(session_info),
        ),
        r(
            "/sim-management/v0/sims/{iccid}/connectivity-status",
            Method::GET,
            "Its registration and reachability",
            200,
            get(connectivity),
        ),
        r(
            "/sim-management/v0/sims/{iccid}/events",
            Method::GET,
            "Its event log with plain-language lines (since, limit)",
            200,
            get(events),
        ),
        r(
            "/sim-management/v0/sims/{iccid}/connectivity-reset",
            Method::POST,
            "Reset its connectivity: delete the data session and/or cancel location (asynchronous)",
            202,
            post(reset),
        ),
        r(
            "/sim-management/v0/sims/{iccid}/status",
            Method::PUT,
            "Change its status (ACTIVATED, DEACTIVATED, ...)",
            200,
            put(change_status),
        ),
        r(
            "/sim-management/v0/sims/{iccid}/sms",
            Method::POST,
            "Send it an SMS (a wake-up)",
            202,
            post(send_sms),
        ),
        r(
            "/sim-management/v0/sims/{iccid}/sms/{smsId}",
            Method::GET,
            "An SMS's delivery receipt",
            200,
            get(sms_receipt),
        ),
        r(
            "/sim-management/v0/operations/{operationId}",
            Method::GET,
            "A connectivity reset's progress and result",
            200,
            get(operation),
        ),
        r(
            "/sim-management/v0/audit",
            Method::GET,
            "Your audit trail: who did what, when and why (limit)",
            200,
            get(audit),
        ),
    ]
}

/// A path ICCID; a malformed one cannot be anyone's SIM.
fn iccid(raw: &str) -> Result<Iccid, ApiError> {
    Iccid::new(raw).map_err(|e| ApiError::field("iccid", e))
}

#[derive(Debug, Deserialize)]
struct Page {
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn list(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Params(p): Params<Page>,
) -> Result<Json<Value>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 1000"));
    }
    Ok(Json(json!(shared.world().net.sims(
        &actor.tenant,
        p.offset.unwrap_or(0),
        limit
    ))))
}

async fn details(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(shared
        .world()
        .net
        .sim_details(&actor.tenant, &iccid(&raw)?)?)))
}

async fn session_info(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(shared
        .world()
        .net
        .session_info(&actor.tenant, &iccid(&raw)?)?)))
}

async fn connectivity(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(shared
        .world()
        .net
        .connectivity_status(&actor.tenant, &iccid(&raw)?)?)))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    since: Option<String>,
    limit: Option<usize>,
}

async fn events(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(raw): Path<String>,
    Params(q): Params<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let since = q
        .since
        .as_deref()
        .map(|s| {
            Timestamp::parse_rfc3339(s).ok_or_else(|| {
                ApiError::field(
                    "since",
                    format!("`{s}` is not an RFC 3339 date-time with a time zone"),
                )
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 1000"));
    }
    Ok(Json(json!(shared.world().net.sim_events(
        &actor.tenant,
        &iccid(&raw)?,
        since,
        limit
    )?)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResetRequest {
    #[serde(default)]
    delete_data_session: bool,
    #[serde(default)]
    cancel_location: bool,
    #[serde(default)]
    reason: String,
}

async fn reset(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(raw): Path<String>,
    Body(req): Body<ResetRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let iccid = iccid(&raw)?;
    let kind = ResetKind {
        delete_data_session: req.delete_data_session,
        cancel_location: req.cancel_location,
    };
    let op = shared
        .world()
        .net
        .reset_connectivity(&actor, &iccid, kind, &req.reason, now())?;
    shared.kick();
    let location = format!("{BASE}/operations/{}", op.operation_id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!(op)),
    ))
}

async fn operation(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = shared.world();
    let op = world
        .net
        .operation(&actor.tenant, &id)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(json!(op)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusRequest {
    status: SimStatus,
    #[serde(default)]
    reason: String,
}

async fn change_status(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(raw): Path<String>,
    Body(req): Body<StatusRequest>,
) -> Result<Json<Value>, ApiError> {
    let iccid = iccid(&raw)?;
    let change = StatusChange {
        status: req.status,
        reason: req.reason,
    };
    let previous = shared
        .world()
        .net
        .change_status(&actor, &iccid, &change, now())?;
    shared.kick();
    Ok(Json(
        json!({"iccid": iccid, "previousStatus": previous, "status": req.status}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SmsBody {
    text: String,
    validity_seconds: Option<u64>,
    #[serde(default)]
    reason: String,
}

async fn send_sms(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(raw): Path<String>,
    Body(req): Body<SmsBody>,
) -> Result<impl IntoResponse, ApiError> {
    let iccid = iccid(&raw)?;
    let sms_req = SmsRequest {
        text: req.text,
        validity: req.validity_seconds.map(Duration::from_secs),
        reason: req.reason,
    };
    let sms = shared
        .world()
        .net
        .send_sms(&actor, &iccid, &sms_req, now())?;
    shared.kick();
    let location = format!("{BASE}/sims/{iccid}/sms/{}", sms.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!(sms)),
    ))
}

async fn sms_receipt(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path((raw, sms_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let world = shared.world();
    Ok(Json(json!(world.net.sms_receipt(
        &actor.tenant,
        &iccid(&raw)?,
        &sms_id
    )?)))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn audit(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Params(q): Params<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 1000"));
    }
    Ok(Json(json!(shared
        .world()
        .net
        .audit_trail(&actor.tenant, limit))))
}
