//! The OpenAPI 3.0 document at `/openapi.json`, built from the same route table as the router.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Map, Value};

use super::{routes as all_routes, Route, Security, Shared};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route {
            path: "/openapi.json",
            method: Method::GET,
            tag: "Meta",
            summary: "This document",
            security: Security::None,
            success: 200,
            handler: get(document),
        },
        Route {
            path: "/health",
            method: Method::GET,
            tag: "Meta",
            summary: "Liveness",
            security: Security::None,
            success: 200,
            handler: get(|| async { Json(json!({"status": "UP"})) }),
        },
    ]
}

async fn document(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(build(&shared.base_url))
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorInfo"}}}})
}

/// The document for a server at `base_url`.
pub fn build(base_url: &str) -> Value {
    let mut paths = Map::new();
    for r in all_routes() {
        let mut responses = Map::new();
        responses.insert(
            r.success.to_string(),
            json!({"description": "Success", "content": {"application/json": {}}}),
        );
        let mut op =
            json!({"tags": [r.tag], "summary": r.summary, "operationId": operation_id(&r)});
        let params: Vec<Value> = path_params(r.path).into_iter().map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}})).collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if matches!(r.method, Method::POST | Method::PUT) {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
            responses.insert(
                "400".into(),
                error_response("INVALID_ARGUMENT: the message names the field"),
            );
        }
        match r.security {
            Security::None => op["security"] = json!([]),
            Security::Tenant => {
                op["security"] = json!([{"tenantToken": []}]);
                responses.insert(
                    "401".into(),
                    error_response("UNAUTHENTICATED: missing or wrong bearer token"),
                );
                responses.insert(
                    "429".into(),
                    error_response("TOO_MANY_REQUESTS, with Retry-After"),
                );
                if r.path.contains('{') || r.method == Method::POST {
                    responses.insert(
                        "404".into(),
                        error_response(
                            "NOT_FOUND / IDENTIFIER_NOT_FOUND (also for another tenant's SIM)",
                        ),
                    );
                }
            }
            Security::Scenario => {
                op["security"] = json!([{"scenarioToken": []}]);
                responses.insert("401".into(), error_response("UNAUTHENTICATED"));
                responses.insert(
                    "403".into(),
                    error_response("PERMISSION_DENIED: a tenant token was used"),
                );
            }
        }
        op["responses"] = Value::Object(responses);
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "reanimator simulated mobile operator",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CAMARA-shaped exposure (Device Reachability Status, its subscriptions, Predictive Connectivity Data), network insights of our own following CAMARA conventions, 3GPP T8-style monitoring subscriptions, a SIM management API, and scenario control. Errors are CAMARA ErrorInfo bodies. Webhook sinks must be plain HTTP on loopback.",
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "tenantToken": {"type": "http", "scheme": "bearer", "description": "One token per tenant principal (--token TENANT[:PRINCIPAL]=SECRET)."},
                "scenarioToken": {"type": "http", "scheme": "bearer", "description": "The scenario-control token (--scenario-token)."},
            },
            "schemas": {
                "ErrorInfo": {
                    "type": "object",
                    "required": ["status", "code", "message"],
                    "properties": {"status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    })
}

fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn operation_id(r: &Route) -> String {
    let words: String = r
        .path
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .map(|s| s.replace(['-', '.'], "_"))
        .collect::<Vec<_>>()
        .join("_");
    format!("{}_{words}", r.method.as_str().to_ascii_lowercase())
}
