//! The fleet's control port: how the operator (or a test) reaches a meter's modem. It delivers
//! wake-up SMSs and sets whether a meter has power and a data session.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::fleet::{wake_up, Fleet, WakeOutcome};
use crate::meter::device::Modem;
use crate::meter::manifest::meter_index;

/// `GET /meters/{id}`, `PUT /meters/{id}/modem`, `POST /meters/{id}/wakeup`.
pub fn router(fleet: Arc<Fleet>) -> Router {
    Router::new()
        .route("/meters/{id}", get(show))
        .route("/meters/{id}/modem", put(set_modem))
        .route("/meters/{id}/wakeup", post(wakeup))
        .with_state(fleet)
}

fn not_found(id: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "status": 404, "code": "NOT_FOUND", "message": format!("no meter {id} in this fleet process") }))).into_response()
}

fn index(fleet: &Fleet, id: &str) -> Option<u32> {
    meter_index(id).filter(|i| fleet.range.contains(i))
}

async fn show(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Response {
    let Some(i) = index(&fleet, &id) else {
        return not_found(&id);
    };
    let modem = fleet
        .device(i)
        .map(|d| d.lock().expect("meter lock").modem());
    Json(json!({ "id": id, "modem": modem, "address": fleet.addressing.address(i).map(|a| a.to_string()) })).into_response()
}

#[derive(Deserialize)]
struct ModemBody {
    modem: Modem,
}

async fn set_modem(
    State(fleet): State<Arc<Fleet>>,
    Path(id): Path<String>,
    body: Result<Json<ModemBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(i) = index(&fleet, &id) else {
        return not_found(&id);
    };
    let Ok(Json(body)) = body else {
        let message =
            "body must be {\"modem\": \"online\" | \"no-data-session\" | \"detached\" | \"powered-off\"}";
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "status": 400, "code": "INVALID_ARGUMENT", "message": message })),
        )
            .into_response();
    };
    match fleet.set_modem(i, body.modem).await {
        Some(Ok(())) => Json(json!({ "id": id, "modem": body.modem })).into_response(),
        Some(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "status": 500, "code": "INTERNAL", "message": format!("the meter cannot listen again: {e}") })),
        )
            .into_response(),
        None => not_found(&id),
    }
}

async fn wakeup(State(fleet): State<Arc<Fleet>>, Path(id): Path<String>) -> Response {
    let Some(i) = index(&fleet, &id) else {
        return not_found(&id);
    };
    match wake_up(&fleet, i).await {
        Ok(WakeOutcome::Calling { headend }) => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": id, "calling": headend })),
        )
            .into_response(),
        Ok(WakeOutcome::Ignored(why)) => (
            StatusCode::CONFLICT,
            Json(json!({ "status": 409, "code": "CONFLICT", "message": why })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "status": 502, "code": "UNREACHABLE", "message": e.to_string() })),
        )
            .into_response(),
    }
}
