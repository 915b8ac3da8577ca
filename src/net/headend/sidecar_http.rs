//! The sidecar's HTTP endpoint: another head-end posts its missing-data signals here, and reads
//! the outage log back. Signals are idempotent: the same signal twice counts once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::Signal;
use crate::headend::fleet::MeterRef;
use crate::net::operator_http::error::{ApiError, Body};
use crate::store::{OutageFilter, Store};
use crate::time::Timestamp;

/// What the endpoint shares.
pub struct SidecarState {
    /// Meter ids, ICCIDs and MSISDNs to the meter's index.
    lookup: HashMap<String, usize>,
    store: Arc<Store>,
    signals: mpsc::UnboundedSender<Signal>,
}

impl SidecarState {
    pub fn new(
        meters: &[MeterRef],
        store: Arc<Store>,
        signals: mpsc::UnboundedSender<Signal>,
    ) -> Self {
        let mut lookup = HashMap::new();
        for (i, m) in meters.iter().enumerate() {
            for key in [&m.id, &m.iccid, &m.msisdn] {
                lookup.insert(key.clone(), i);
            }
        }
        SidecarState {
            lookup,
            store,
            signals,
        }
    }
}

/// `POST /sidecar/v0/signals`, `GET /sidecar/v0/outages`, `GET /health`.
pub fn router(state: Arc<SidecarState>) -> Router {
    Router::new()
        .route("/sidecar/v0/signals", post(signal))
        .route("/sidecar/v0/outages", get(outages))
        .route("/health", get(|| async { "ok" }))
        .with_state(state)
}

/// A missing-data signal: which meter (any one of its identities) and which intervals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SignalBody {
    /// The sender's idempotency key; without it the body itself is the key.
    id: Option<String>,
    meter: Option<String>,
    iccid: Option<String>,
    msisdn: Option<String>,
    /// Intervals (capture times, RFC 3339) it could not read; empty: data flows again.
    #[serde(default)]
    missed: Vec<String>,
    /// With an empty `missed`: how many of the missed readings it recovered.
    #[serde(default)]
    recovered: u32,
}

async fn signal(
    State(state): State<Arc<SidecarState>>,
    Body(body): Body<SignalBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = body
        .meter
        .as_ref()
        .or(body.iccid.as_ref())
        .or(body.msisdn.as_ref());
    let who = who.ok_or_else(|| ApiError::invalid("meter, iccid or msisdn: one is required"))?;
    let meter = *state.lookup.get(who).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no meter {who}"),
        )
    })?;
    let missed = body
        .missed
        .iter()
        .map(|t| {
            Timestamp::parse_rfc3339(t)
                .ok_or_else(|| ApiError::field("missed", format!("`{t}` is not an RFC 3339 time")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let key = body
        .id
        .clone()
        .unwrap_or_else(|| format!("{who}|{}|{}", body.missed.join(","), body.recovered));
    let fresh = state
        .store
        .claim_signal(&key, crate::net::headend::now())
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string()))?;
    if fresh {
        let signal = Signal {
            meter,
            missed,
            recovered: body.recovered,
        };
        state.signals.send(signal).map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the orchestrator has stopped",
            )
        })?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "accepted": true, "duplicate": !fresh })),
    ))
}

#[derive(Debug, Deserialize)]
struct OutagesQuery {
    #[serde(default)]
    open: bool,
    meter: Option<String>,
}

async fn outages(
    State(state): State<Arc<SidecarState>>,
    Query(q): Query<OutagesQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = OutageFilter {
        open_only: q.open,
        meter: q.meter,
        ..OutageFilter::default()
    };
    let list =
        state.store.outages(&filter).await.map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string())
        })?;
    Ok(Json(json!({ "outages": list })))
}
