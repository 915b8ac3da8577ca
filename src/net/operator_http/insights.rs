//! Our own exposure resources where CAMARA has none, following its conventions (POST
//! `/retrieve` with a `device`, camelCase, `{status, code, message}` errors): AAA records,
//! session status, session setup KPIs, maintenance windows, and T8 monitoring subscriptions.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::TenantAuth;
use super::camara::{resolve, Device};
use super::error::{ApiError, Body, Params};
use super::subscriptions::{MaintenanceSubscription, T8Subscription, MAINTENANCE_ANNOUNCED};
use super::webhooks::{check_sink, Sink};
use super::{now, Route, Security, Shared};
use crate::operator::ids::{CellId, Msisdn};
use crate::operator::monitoring::MonitoringType;
use crate::operator::time::Timestamp;

pub(crate) fn routes() -> Vec<Route> {
    let r = |path, method, tag, summary, success, handler| Route {
        path,
        method,
        tag,
        summary,
        security: Security::Tenant,
        success,
        handler,
    };
    vec![
        r(
            "/aaa-records/v0/retrieve",
            Method::POST,
            "Network insights",
            "A SIM's RADIUS/AAA records, each with a plain-language line",
            200,
            post(aaa_records),
        ),
        r(
            "/session-status/v0/retrieve",
            Method::POST,
            "Network insights",
            "A SIM's data session status",
            200,
            post(session_status),
        ),
        r(
            "/session-kpis/v0/retrieve",
            Method::POST,
            "Network insights",
            "Session setup success rate per SIM or per cell, 15-minute buckets",
            200,
            post(session_kpis),
        ),
        r(
            "/maintenance-windows/v0/windows",
            Method::GET,
            "Maintenance",
            "Announced maintenance windows (optionally for one cell and a time range)",
            200,
            get(maintenance_windows),
        ),
        r(
            "/maintenance-windows/v0/subscriptions",
            Method::POST,
            "Maintenance",
            "Be notified when maintenance touching your SIMs is announced",
            201,
            post(create_maintenance_subscription),
        ),
        r(
            "/maintenance-windows/v0/subscriptions",
            Method::GET,
            "Maintenance",
            "List maintenance subscriptions",
            200,
            get(list_maintenance_subscriptions),
        ),
        r(
            "/maintenance-windows/v0/subscriptions/{subscriptionId}",
            Method::DELETE,
            "Maintenance",
            "Delete a maintenance subscription",
            204,
            delete(delete_maintenance_subscription),
        ),
        r(
            "/3gpp-monitoring-event/v1/{scsAsId}/subscriptions",
            Method::POST,
            "3GPP T8",
            "Subscribe to LOSS_OF_CONNECTIVITY, UE_REACHABILITY or PDN_CONNECTIVITY_STATUS",
            201,
            post(create_t8),
        ),
        r(
            "/3gpp-monitoring-event/v1/{scsAsId}/subscriptions",
            Method::GET,
            "3GPP T8",
            "List monitoring event subscriptions",
            200,
            get(list_t8),
        ),
        r(
            "/3gpp-monitoring-event/v1/{scsAsId}/subscriptions/{subscriptionId}",
            Method::GET,
            "3GPP T8",
            "Read a monitoring event subscription",
            200,
            get(read_t8),
        ),
        r(
            "/3gpp-monitoring-event/v1/{scsAsId}/subscriptions/{subscriptionId}",
            Method::DELETE,
            "3GPP T8",
            "Delete a monitoring event subscription",
            204,
            delete(delete_t8),
        ),
    ]
}

/// At most this many records per answer.
const MAX_RECORDS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordsRequest {
    device: Option<Device>,
    start_time: Option<Timestamp>,
    max_records: Option<usize>,
}

async fn aaa_records(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Body(req): Body<RecordsRequest>,
) -> Result<Json<Value>, ApiError> {
    let limit = req.max_records.unwrap_or(50);
    if !(1..=MAX_RECORDS).contains(&limit) {
        return Err(ApiError::field(
            "maxRecords",
            format!("must be 1 to {MAX_RECORDS}"),
        ));
    }
    let world = shared.world();
    let found = resolve(&world.net, &actor.tenant, req.device.as_ref(), "device")?;
    let records = world
        .net
        .aaa_records(&actor.tenant, &found.iccid, req.start_time, limit)?;
    Ok(Json(json!({"device": found.used, "records": records})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceRequest {
    device: Option<Device>,
}

async fn session_status(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Body(req): Body<DeviceRequest>,
) -> Result<Json<Value>, ApiError> {
    let world = shared.world();
    let found = resolve(&world.net, &actor.tenant, req.device.as_ref(), "device")?;
    let info = world.net.session_info(&actor.tenant, &found.iccid)?;
    let mut body = json!(info);
    body["device"] = found.used;
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KpiRequest {
    device: Option<Device>,
    cell_id: Option<CellId>,
    start_time: Timestamp,
    end_time: Timestamp,
}

async fn session_kpis(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Body(req): Body<KpiRequest>,
) -> Result<Json<Value>, ApiError> {
    if req.end_time <= req.start_time {
        return Err(ApiError::field("endTime", "must be after startTime"));
    }
    if req.end_time.since(req.start_time) > Duration::from_secs(7 * 24 * 3600) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "OUT_OF_RANGE",
            "endTime: the window may span at most 7 days",
        ));
    }
    let world = shared.world();
    match (&req.device, &req.cell_id) {
        (Some(_), None) => {
            let found = resolve(&world.net, &actor.tenant, req.device.as_ref(), "device")?;
            let report =
                world
                    .net
                    .sim_kpi(&actor.tenant, &found.iccid, req.start_time, req.end_time)?;
            let mut body = json!(report);
            body["device"] = found.used;
            Ok(Json(body))
        }
        (None, Some(cell)) => {
            let report = world
                .net
                .cell_kpi(cell, req.start_time, req.end_time)
                .ok_or_else(ApiError::identifier_not_found)?;
            let mut body = json!(report);
            body["cellId"] = json!(cell);
            Ok(Json(body))
        }
        _ => Err(ApiError::field("device", "give either device or cellId")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WindowQuery {
    cell_id: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

fn query_time(value: &Option<String>, field: &str) -> Result<Option<Timestamp>, ApiError> {
    value
        .as_deref()
        .map(|v| {
            Timestamp::parse_rfc3339(v).ok_or_else(|| {
                ApiError::field(
                    field,
                    format!("`{v}` is not an RFC 3339 date-time with a time zone"),
                )
            })
        })
        .transpose()
}

async fn maintenance_windows(
    State(shared): State<Arc<Shared>>,
    TenantAuth(_actor): TenantAuth,
    Params(q): Params<WindowQuery>,
) -> Result<Json<Value>, ApiError> {
    let cell = q
        .cell_id
        .map(|c| CellId::new(c).map_err(|e| ApiError::field("cellId", e)))
        .transpose()?;
    let from = query_time(&q.start_time, "startTime")?.unwrap_or(Timestamp(0));
    let to = query_time(&q.end_time, "endTime")?.unwrap_or(Timestamp(u64::MAX));
    let windows = shared
        .world()
        .net
        .maintenance_windows(cell.as_ref(), from, to);
    Ok(Json(json!(windows)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlainSubscriptionRequest {
    sink: String,
    sink_credential: Option<AccessToken>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessToken {
    credential_type: String,
    access_token: String,
}

fn bearer_of(cred: Option<&AccessToken>) -> Result<Option<String>, ApiError> {
    match cred {
        None => Ok(None),
        Some(c) if c.credential_type == "ACCESSTOKEN" => Ok(Some(c.access_token.clone())),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_CREDENTIAL",
            "sinkCredential.credentialType: only ACCESSTOKEN is supported",
        )),
    }
}

async fn create_maintenance_subscription(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Body(req): Body<PlainSubscriptionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let url = check_sink(&req.sink, "sink")?;
    let token = bearer_of(req.sink_credential.as_ref())?;
    let mut world = shared.world();
    let id = world.subs.new_id("mws");
    let resource = json!({"id": id, "sink": req.sink, "types": [MAINTENANCE_ANNOUNCED], "startsAt": now(), "status": "ACTIVE"});
    let sink = Sink::start(shared.http.clone(), url, token);
    world.subs.maintenance.insert(
        id,
        MaintenanceSubscription {
            tenant: actor.tenant,
            resource: resource.clone(),
            sink,
        },
    );
    Ok((StatusCode::CREATED, Json(resource)))
}

async fn list_maintenance_subscriptions(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
) -> Json<Value> {
    let world = shared.world();
    Json(Value::Array(
        world
            .subs
            .maintenance
            .values()
            .filter(|s| s.tenant == actor.tenant)
            .map(|s| s.resource.clone())
            .collect(),
    ))
}

async fn delete_maintenance_subscription(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = shared.world();
    match world.subs.maintenance.get(&id) {
        Some(s) if s.tenant == actor.tenant => {
            world.subs.maintenance.remove(&id);
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::not_found()),
    }
}

/// TS 29.122 `MonitoringEventSubscription`, the fields the simulator uses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct T8Request {
    /// Digits only (T8's Msisdn); absent: every SIM of the tenant.
    msisdn: Option<String>,
    monitoring_type: MonitoringType,
    notification_destination: String,
    maximum_number_of_reports: Option<u64>,
    monitor_expire_time: Option<Timestamp>,
}

fn t8_base(scs_as_id: &str) -> Result<String, ApiError> {
    if scs_as_id.is_empty()
        || scs_as_id.len() > 64
        || !scs_as_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::field(
            "scsAsId",
            "1 to 64 letters, digits, '-' or '_'",
        ));
    }
    Ok(format!(
        "/3gpp-monitoring-event/v1/{scs_as_id}/subscriptions"
    ))
}

async fn create_t8(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(scs_as_id): Path<String>,
    Body(req): Body<T8Request>,
) -> Result<impl IntoResponse, ApiError> {
    let base = t8_base(&scs_as_id)?;
    let url = check_sink(&req.notification_destination, "notificationDestination")?;
    if req.maximum_number_of_reports == Some(0) {
        return Err(ApiError::field(
            "maximumNumberOfReports",
            "must be at least 1",
        ));
    }
    let mut world = shared.world();
    let world = &mut *world;
    let device = match &req.msisdn {
        Some(digits) => {
            let msisdn =
                Msisdn::new(format!("+{digits}")).map_err(|e| ApiError::field("msisdn", e.rule))?;
            Some(
                world
                    .net
                    .iccid_by_msisdn(&actor.tenant, &msisdn)
                    .ok_or_else(ApiError::identifier_not_found)?,
            )
        }
        None => None,
    };
    let id = world.subs.new_id("t8");
    let self_link = format!("{}{base}/{id}", shared.base_url);
    let mut resource = json!({
        "self": self_link,
        "monitoringType": req.monitoring_type,
        "notificationDestination": req.notification_destination,
    });
    if let Some(m) = &req.msisdn {
        resource["msisdn"] = json!(m);
    }
    if let Some(n) = req.maximum_number_of_reports {
        resource["maximumNumberOfReports"] = json!(n);
    }
    if let Some(t) = req.monitor_expire_time {
        resource["monitorExpireTime"] = json!(t);
    }
    let sink = Sink::start(shared.http.clone(), url, None);
    world.subs.t8.insert(
        id,
        T8Subscription {
            tenant: actor.tenant,
            scs_as_id,
            device,
            monitoring_type: req.monitoring_type,
            resource: resource.clone(),
            self_link: self_link.clone(),
            expires_at: req.monitor_expire_time,
            max_reports: req.maximum_number_of_reports,
            sent: 0,
            sink,
        },
    );
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, self_link)],
        Json(resource),
    ))
}

async fn list_t8(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(scs_as_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    t8_base(&scs_as_id)?;
    let world = shared.world();
    let list = world
        .subs
        .t8
        .values()
        .filter(|s| s.tenant == actor.tenant && s.scs_as_id == scs_as_id)
        .map(|s| s.resource.clone())
        .collect();
    Ok(Json(Value::Array(list)))
}

async fn read_t8(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path((scs_as_id, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let world = shared.world();
    let sub = world
        .subs
        .t8
        .get(&id)
        .filter(|s| s.tenant == actor.tenant && s.scs_as_id == scs_as_id)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(sub.resource.clone()))
}

async fn delete_t8(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path((scs_as_id, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let mut world = shared.world();
    if !world
        .subs
        .t8
        .get(&id)
        .is_some_and(|s| s.tenant == actor.tenant && s.scs_as_id == scs_as_id)
    {
        return Err(ApiError::not_found());
    }
    world.subs.t8.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}
