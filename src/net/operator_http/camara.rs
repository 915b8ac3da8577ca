//! The CAMARA-shaped exposure: Device Reachability Status (retrieve and subscriptions) and
//! Predictive Connectivity Data.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::TenantAuth;
use super::error::{ApiError, Body};
use super::subscriptions::{DrsSubscription, Termination, DRS_TYPES, DRS_TYPE_PREFIX};
use super::webhooks::{check_sink, Delivery, Sink};
use super::{now, Route, Security, Shared};
use crate::operator::events::Reachability;
use crate::operator::geohash::Point;
use crate::operator::ids::{Iccid, Msisdn, TenantId};
use crate::operator::network::{PcdError, PcdQuery, PcdStatus};
use crate::operator::time::Timestamp;
use crate::operator::Network;

pub const DRS_SUB: &str = "/device-reachability-status-subscriptions/v0";

pub(crate) fn routes() -> Vec<Route> {
    let r = |path, method, summary, success, handler| Route {
        path,
        method,
        tag: "CAMARA",
        summary,
        security: Security::Tenant,
        success,
        handler,
    };
    vec![
        r(
            "/device-reachability-status/v1/retrieve",
            Method::POST,
            "Device Reachability Status: reachable, and by DATA or SMS",
            200,
            post(retrieve_reachability),
        ),
        r(
            "/device-reachability-status-subscriptions/v0/subscriptions",
            Method::POST,
            "Subscribe to reachability changes (CloudEvents to a loopback sink)",
            201,
            post(create_subscription),
        ),
        r(
            "/device-reachability-status-subscriptions/v0/subscriptions",
            Method::GET,
            "List reachability subscriptions",
            200,
            get(list_subscriptions),
        ),
        r(
            "/device-reachability-status-subscriptions/v0/subscriptions/{subscriptionId}",
            Method::GET,
            "Read a reachability subscription",
            200,
            get(read_subscription),
        ),
        r(
            "/device-reachability-status-subscriptions/v0/subscriptions/{subscriptionId}",
            Method::DELETE,
            "Delete a reachability subscription",
            204,
            delete(delete_subscription),
        ),
        r(
            "/predictive-connectivity-data/v0.1/retrieve",
            Method::POST,
            "Predicted connectivity (GC/MC/NC/ND) per geohash cell and hour",
            200,
            post(retrieve_pcd),
        ),
    ]
}

/// CAMARA `Device`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub phone_number: Option<String>,
    pub network_access_identifier: Option<String>,
    pub ipv4_address: Option<DeviceIpv4>,
    pub ipv6_address: Option<String>,
}

/// CAMARA `DeviceIpv4Addr`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIpv4 {
    pub public_address: Ipv4Addr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_address: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
}

/// A resolved device: the SIM, the identifier used (as CAMARA `DeviceResponse`), and whether
/// the request named more than one (then the response says which it used).
pub struct Resolved {
    pub iccid: Iccid,
    pub used: Value,
    pub ambiguous: bool,
}

/// Finds the tenant's SIM a CAMARA `device` names. Another tenant's device is not found.
pub fn resolve(
    net: &Network,
    tenant: &TenantId,
    device: Option<&Device>,
    field: &str,
) -> Result<Resolved, ApiError> {
    let Some(d) = device else {
        return Err(ApiError::unprocessable(
            "MISSING_IDENTIFIER",
            "The device cannot be identified.",
        ));
    };
    let given = [
        d.phone_number.is_some(),
        d.network_access_identifier.is_some(),
        d.ipv4_address.is_some(),
        d.ipv6_address.is_some(),
    ];
    let count = given.iter().filter(|g| **g).count();
    if count == 0 {
        return Err(ApiError::field(
            field,
            "name at least one identifier (phoneNumber or ipv4Address)",
        ));
    }
    if let Some(phone) = &d.phone_number {
        let msisdn = Msisdn::new(phone.clone())
            .map_err(|e| ApiError::field(&format!("{field}.phoneNumber"), e.rule))?;
        let iccid = net
            .iccid_by_msisdn(tenant, &msisdn)
            .ok_or_else(ApiError::identifier_not_found)?;
        return Ok(Resolved {
            iccid,
            used: json!({"phoneNumber": phone}),
            ambiguous: count > 1,
        });
    }
    if let Some(v4) = &d.ipv4_address {
        if v4.private_address.is_none() && v4.public_port.is_none() {
            return Err(ApiError::field(
                &format!("{field}.ipv4Address"),
                "give privateAddress or publicPort with publicAddress",
            ));
        }
        let ip = v4.private_address.unwrap_or(v4.public_address);
        let iccid = net
            .iccid_by_ip(tenant, ip)
            .ok_or_else(ApiError::identifier_not_found)?;
        return Ok(Resolved {
            iccid,
            used: json!({"ipv4Address": v4}),
            ambiguous: count > 1,
        });
    }
    Err(ApiError::unprocessable(
        "UNSUPPORTED_IDENTIFIER",
        "The identifier provided is not supported: use phoneNumber or ipv4Address.",
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReachabilityRequest {
    device: Option<Device>,
}

/// The CAMARA `ReachabilityStatusResponse` for a SIM.
pub fn reachability_body(reachability: Reachability, since: Timestamp) -> Value {
    match reachability {
        Reachability::Data => {
            json!({"lastStatusTime": since, "reachable": true, "connectivity": ["DATA", "SMS"]})
        }
        Reachability::Sms => {
            json!({"lastStatusTime": since, "reachable": true, "connectivity": ["SMS"]})
        }
        Reachability::Disconnected => json!({"lastStatusTime": since, "reachable": false}),
    }
}

async fn retrieve_reachability(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Body(req): Body<ReachabilityRequest>,
) -> Result<Json<Value>, ApiError> {
    let world = shared.world();
    let found = resolve(&world.net, &actor.tenant, req.device.as_ref(), "device")?;
    let (reachability, since) = world.net.reachability(&actor.tenant, &found.iccid)?;
    let mut body = reachability_body(reachability, since);
    if found.ambiguous {
        body["device"] = found.used;
    }
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SinkCredential {
    credential_type: String,
    access_token: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // accepted as CAMARA requires; the token is used until deleted
    access_token_expires_utc: Option<Timestamp>,
    access_token_type: Option<String>,
}

/// The bearer token to send to a sink, from a CAMARA `sinkCredential`.
fn sink_token(cred: Option<&SinkCredential>, field: &str) -> Result<Option<String>, ApiError> {
    let Some(c) = cred else { return Ok(None) };
    if c.credential_type != "ACCESSTOKEN" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_CREDENTIAL",
            format!("{field}.credentialType: only ACCESSTOKEN is supported"),
        ));
    }
    if c.access_token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_TOKEN",
            format!("{field}.accessTokenType: only bearer is supported"),
        ));
    }
    let token = c.access_token.clone().ok_or_else(|| {
        ApiError::field(&format!("{field}.accessToken"), "required with ACCESSTOKEN")
    })?;
    Ok(Some(token))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionRequest {
    protocol: String,
    sink: String,
    sink_credential: Option<SinkCredential>,
    types: Vec<String>,
    config: SubscriptionConfig,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionConfig {
    subscription_detail: SubscriptionDetail,
    subscription_expire_time: Option<Timestamp>,
    subscription_max_events: Option<u64>,
    #[serde(default)]
    initial_event: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionDetail {
    device: Option<Device>,
}

async fn create_subscription(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Body(req): Body<SubscriptionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    if req.protocol != "HTTP" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_PROTOCOL",
            "protocol: only HTTP is supported",
        ));
    }
    let url = check_sink(&req.sink, "sink")?;
    let token = sink_token(req.sink_credential.as_ref(), "sinkCredential")?;
    let [kind] = req.types.as_slice() else {
        return Err(ApiError::field("types", "give exactly one event type"));
    };
    let event = kind
        .strip_prefix(DRS_TYPE_PREFIX)
        .and_then(|short| DRS_TYPES.iter().copied().find(|t| *t == short))
        .ok_or_else(|| {
            ApiError::field(
                "types[0]",
                format!(
                    "`{kind}` is not one of {DRS_TYPE_PREFIX}{{{}}}",
                    DRS_TYPES.join(", ")
                ),
            )
        })?;
    if req.config.subscription_max_events == Some(0) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "OUT_OF_RANGE",
            "config.subscriptionMaxEvents: must be at least 1",
        ));
    }
    let t = now();
    if req.config.subscription_expire_time.is_some_and(|e| e <= t) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "OUT_OF_RANGE",
            "config.subscriptionExpireTime: must be in the future",
        ));
    }
    let mut world = shared.world();
    let world = &mut *world;
    let device = match &req.config.subscription_detail.device {
        Some(d) => Some(resolve(
            &world.net,
            &actor.tenant,
            Some(d),
            "config.subscriptionDetail.device",
        )?),
        None => None,
    };
    let id = world.subs.new_id("drs");
    let mut config = json!({"subscriptionDetail": {}, "initialEvent": req.config.initial_event});
    if let Some(d) = &device {
        config["subscriptionDetail"]["device"] = d.used.clone();
    }
    if let Some(e) = req.config.subscription_expire_time {
        config["subscriptionExpireTime"] = json!(e);
    }
    if let Some(m) = req.config.subscription_max_events {
        config["subscriptionMaxEvents"] = json!(m);
    }
    let mut resource = json!({
        "id": id, "protocol": "HTTP", "sink": req.sink, "types": [kind], "config": config,
        "startsAt": t, "status": "ACTIVE",
    });
    if let Some(e) = req.config.subscription_expire_time {
        resource["expiresAt"] = json!(e);
    }
    let sink = Sink::start(shared.http.clone(), url, token);
    let iccid = device.map(|d| d.iccid);
    let sub = DrsSubscription {
        tenant: actor.tenant.clone(),
        device: iccid.clone(),
        resource: resource.clone(),
        event,
        expires_at: req.config.subscription_expire_time,
        max_events: req.config.subscription_max_events,
        sent: 0,
        sink,
    };
    world.subs.drs.insert(id.clone(), sub);
    if req.config.initial_event {
        if let Some(iccid) = &iccid {
            let (reach, since) = world.net.reachability(&actor.tenant, iccid)?;
            let current = match reach {
                Reachability::Data => "reachability-data",
                Reachability::Sms => "reachability-sms",
                Reachability::Disconnected => "reachability-disconnected",
            };
            if current == event {
                let phone = world
                    .net
                    .msisdn_of(iccid)
                    .map(|m| m.to_string())
                    .unwrap_or_default();
                let delivery: Delivery =
                    world
                        .subs
                        .reachability_event(&id, event, &phone, since.max(t));
                let sub = world.subs.drs.get_mut(&id).expect("inserted");
                sub.sink.send(delivery);
                sub.sent += 1;
                if sub.max_events.is_some_and(|m| sub.sent >= m) {
                    world.subs.end_drs(&id, Termination::MaxEventsReached, t);
                }
            }
        }
    }
    Ok((
        StatusCode::CREATED,
        [(
            axum::http::header::LOCATION,
            format!("{DRS_SUB}/subscriptions/{id}"),
        )],
        Json(resource),
    ))
}

async fn list_subscriptions(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
) -> Json<Value> {
    let mut world = shared.world();
    world.subs.sweep(now());
    let list: Vec<Value> = world
        .subs
        .drs
        .values()
        .filter(|s| s.tenant == actor.tenant)
        .map(|s| s.resource.clone())
        .collect();
    Json(Value::Array(list))
}

async fn read_subscription(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut world = shared.world();
    world.subs.sweep(now());
    let sub = world
        .subs
        .drs
        .get(&id)
        .filter(|s| s.tenant == actor.tenant)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(sub.resource.clone()))
}

async fn delete_subscription(
    State(shared): State<Arc<Shared>>,
    TenantAuth(actor): TenantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = shared.world();
    if world
        .subs
        .drs
        .get(&id)
        .is_none_or(|s| s.tenant != actor.tenant)
    {
        return Err(ApiError::not_found());
    }
    world
        .subs
        .end_drs(&id, Termination::SubscriptionDeleted, now());
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PcdRequest {
    #[allow(dead_code)] // validated; one forecast serves every service level here
    service_level: ServiceLevel,
    area: Area,
    start_time: Timestamp,
    end_time: Timestamp,
    #[serde(default)]
    #[allow(dead_code)] // one network: 4G and 5G are predicted alike
    network_type: Option<NetworkType>,
    precision: Option<u8>,
    height: Option<u16>,
    #[serde(default)]
    #[allow(dead_code)] // not supported; CAMARA says to ignore it then
    include_signal_strength: bool,
    sink: Option<String>,
    sink_credential: Option<SinkCredential>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum ServiceLevel {
    C2,
    #[serde(rename = "STREAM_4K")]
    Stream4k,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum NetworkType {
    #[serde(rename = "4G")]
    FourG,
    #[serde(rename = "5G")]
    FiveG,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Area {
    area_type: String,
    boundary: Vec<LatLon>,
}

#[derive(Debug, Deserialize)]
struct LatLon {
    latitude: f64,
    longitude: f64,
}

/// The thickness reported for the one ground layer (meters live at ground level).
const LAYER_THICKNESS: u32 = 30;

fn pcd_invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

async fn retrieve_pcd(
    State(shared): State<Arc<Shared>>,
    TenantAuth(_actor): TenantAuth,
    Body(req): Body<PcdRequest>,
) -> Result<axum::response::Response, ApiError> {
    if req.area.area_type != "POLYGON" {
        return Err(pcd_invalid(
            "PREDICTIVE_CONNECTIVITY_DATA.INVALID_AREA",
            "area.areaType: only POLYGON is supported",
        ));
    }
    if !(3..=15).contains(&req.area.boundary.len()) {
        return Err(pcd_invalid(
            "PREDICTIVE_CONNECTIVITY_DATA.INVALID_AREA",
            "area.boundary: a polygon has 3 to 15 points",
        ));
    }
    for (i, p) in req.area.boundary.iter().enumerate() {
        if !(-90.0..=90.0).contains(&p.latitude) || !(-180.0..=180.0).contains(&p.longitude) {
            return Err(ApiError::field(
                &format!("area.boundary[{i}]"),
                "latitude must be within ±90 and longitude within ±180",
            ));
        }
    }
    let precision = req.precision.unwrap_or(7);
    if !(1..=12).contains(&precision) {
        return Err(ApiError::field("precision", "must be 1 to 12"));
    }
    if req.height.is_some_and(|h| h > 250) {
        return Err(ApiError::field("height", "must be 0 to 250"));
    }
    let sink = match &req.sink {
        Some(s) => Some((
            check_sink(s, "sink")?,
            sink_token(req.sink_credential.as_ref(), "sinkCredential")?,
        )),
        None => None,
    };
    let query = PcdQuery {
        polygon: req
            .area
            .boundary
            .iter()
            .map(|p| Point {
                latitude: p.latitude,
                longitude: p.longitude,
            })
            .collect(),
        precision: precision as usize,
        start: req.start_time,
        end: req.end_time,
    };
    let result = shared.world().net.predict(&query).map_err(|e| match e {
        PcdError::EmptyWindow => pcd_invalid(
            "PREDICTIVE_CONNECTIVITY_DATA.INVALID_END_TIME",
            "Indicated endTime is earlier than the startTime",
        ),
        PcdError::WindowTooLong => pcd_invalid(
            "PREDICTIVE_CONNECTIVITY_DATA.MAX_TIME_PERIOD_EXCEEDED",
            e.to_string(),
        ),
        PcdError::AreaTooLarge => ApiError::unprocessable(
            "PREDICTIVE_CONNECTIVITY_DATA.UNSUPPORTED_REQUEST",
            e.to_string(),
        ),
    })?;
    let status = match result.status {
        PcdStatus::SupportedArea => "SUPPORTED_AREA",
        PcdStatus::PartOfAreaNotSupported => "PART_OF_AREA_NOT_SUPPORTED",
        PcdStatus::AreaNotSupported => "AREA_NOT_SUPPORTED",
    };
    let timed: Vec<Value> = result
        .slots
        .iter()
        .map(|s| {
            let cells: Vec<Value> = s
                .cells
                .iter()
                .map(|(g, l)| json!({"geohash": g, "layerConnectivities": [l]}))
                .collect();
            json!({"startTime": s.start, "endTime": s.end, "cellConnectivityData": cells})
        })
        .collect();
    let mut body = json!({"layerThickness": LAYER_THICKNESS, "timedConnectivityData": timed, "status": status});
    if let Some(h) = req.height {
        body["requestedHeight"] = json!(h);
    }
    match sink {
        None => Ok(Json(body).into_response()),
        Some((url, token)) => {
            let operation_id = shared.world().subs.new_id("pcd");
            body["operationId"] = json!(operation_id);
            Sink::start(shared.http.clone(), url, token).send(Delivery {
                body,
                content_type: "application/json",
            });
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"operationId": operation_id})),
            )
                .into_response())
        }
    }
}
