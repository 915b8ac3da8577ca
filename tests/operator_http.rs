//! `reanimator operator` over real loopback HTTP: every endpoint, its errors, the CAMARA schemas,
//! and webhook delivery.

#[path = "operator/harness.rs"]
mod harness;

use std::time::Duration;

use axum::http::StatusCode;
use harness::*;
use reanimator::operator::ratelimit::Rate;
use reanimator::operator::OperatorConfig;
use reqwest::Method;
use serde_json::{json, Value};

const DRS: &str = "/device-reachability-status/v1/retrieve";
const SUBS: &str = "/device-reachability-status-subscriptions/v0/subscriptions";
const PCD: &str = "/predictive-connectivity-data/v0.1/retrieve";
const TYPE: &str = "org.camaraproject.device-reachability-status-subscriptions.v0.";

fn device(n: usize) -> Value {
    json!({"device": {"phoneNumber": phone(n)}})
}

fn sim(n: usize, rest: &str) -> String {
    format!("/sim-management/v0/sims/{}{rest}", iccid(n))
}

#[test]
fn the_schemas_reject_what_camara_rejects() {
    let v = schema("drs", "/components/schemas/ReachabilityStatusResponse");
    assert!(
        !v.is_valid(&json!({"reachable": true})),
        "lastStatusTime is required"
    );
    assert!(
        !v.is_valid(&json!({"lastStatusTime": "x", "reachable": true, "connectivity": ["WIFI"]}))
    );
    assert!(v.is_valid(&json!({"lastStatusTime": "2024-02-20T10:41:38.657Z", "reachable": false})));
    let e = error_schema("drs", "Generic401");
    assert!(!e.is_valid(&json!({"status": 401, "code": "NOT_FOUND", "message": "x"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_requires_its_token() {
    let op = start().await;
    let (status, doc) = op.get(UTILITY, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let unauthenticated = error_schema("drs", "Generic401");
    let forbidden = error_schema("drs", "Generic403");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op_doc) in item.as_object().unwrap() {
            let security = op_doc["security"].to_string();
            if security == "[]" {
                continue;
            }
            let concrete = path.replace("{iccid}", &iccid(0)).replace(['{', '}'], "");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = matches!(m, Method::POST | Method::PUT).then(|| json!({}));
            for token in [None, Some("wrong-token")] {
                let (s, v, _) = op.send(m.clone(), token, &concrete, body.clone()).await;
                assert_eq!(
                    s,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} with {token:?}: {v}"
                );
                assert_valid(&unauthenticated, &v, &format!("401 of {method} {path}"));
            }
            if security.contains("scenarioToken") {
                let (s, v, _) = op
                    .send(m.clone(), Some(UTILITY), &concrete, body.clone())
                    .await;
                assert_eq!(
                    s,
                    StatusCode::FORBIDDEN,
                    "{method} {path}: a tenant token is not the scenario token"
                );
                assert_valid(&forbidden, &v, "403");
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} operations were checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route() {
    let op = start().await;
    let (_, doc) = op.get(UTILITY, "/openapi.json").await;
    assert_eq!(doc["openapi"], "3.0.3");
    for path in [
        DRS,
        SUBS,
        PCD,
        "/aaa-records/v0/retrieve",
        "/session-status/v0/retrieve",
        "/session-kpis/v0/retrieve",
        "/maintenance-windows/v0/windows",
        "/maintenance-windows/v0/subscriptions",
        "/3gpp-monitoring-event/v1/{scsAsId}/subscriptions",
        "/sim-management/v0/sims/{iccid}/connectivity-reset",
        "/sim-management/v0/sims/{iccid}/sms",
        "/scenario/v0/inject",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let (s, v) = op.get(UTILITY, "/no/such/path").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reachability_is_camara_shaped_and_isolated() {
    let op = start().await;
    let ok = schema("drs", "/components/schemas/ReachabilityStatusResponse");
    let (s, v) = op.post(UTILITY, DRS, device(0)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_valid(&ok, &v, "reachability");
    assert_eq!(
        (
            v["reachable"].as_bool(),
            v["connectivity"][0].as_str(),
            v.get("device")
        ),
        (Some(true), Some("DATA"), None)
    );

    // By IP address, and with two identifiers the response names the one used.
    let (_, info) = op.get(UTILITY, &sim(1, "/session-info")).await;
    let ip = info["ipAddress"].as_str().unwrap();
    let (s, v) = op.post(UTILITY, DRS, json!({"device": {"ipv4Address": {"publicAddress": ip, "publicPort": 4059}, "phoneNumber": phone(1)}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_valid(&ok, &v, "reachability with device");
    assert_eq!(v["device"], json!({"phoneNumber": phone(1)}));
    let (s, v) = op
        .post(
            UTILITY,
            DRS,
            json!({"device": {"ipv4Address": {"publicAddress": ip, "publicPort": 4059}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    op.inject(json!({"kind": "power-loss", "iccid": iccid(0)}))
        .await;
    let (_, v) = op.post(UTILITY, DRS, device(0)).await;
    assert_valid(&ok, &v, "unreachable");
    assert_eq!(
        (v["reachable"].as_bool(), v.get("connectivity")),
        (Some(false), None)
    );

    // Another tenant's phone number looks exactly like an unknown one.
    let not_found = error_schema("drs", "Generic404");
    let (s1, theirs) = op.post(UTILITY, DRS, device(5)).await;
    let (s2, unknown) = op
        .post(
            UTILITY,
            DRS,
            json!({"device": {"phoneNumber": "+4599999999"}}),
        )
        .await;
    assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(theirs, unknown);
    assert_valid(&not_found, &theirs, "404");
    let (s, _) = op.post(OTHER, DRS, device(5)).await;
    assert_eq!(s, StatusCode::OK, "the owner sees it");

    let bad = error_schema("drs", "Generic400");
    let (s, v) = op
        .post(
            UTILITY,
            DRS,
            json!({"device": {"phoneNumber": "4520000001"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_valid(&bad, &v, "400");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("device.phoneNumber"),
        "{v}"
    );
    let (s, v) = op
        .post(
            UTILITY,
            DRS,
            json!({"device": {"ipv4Address": {"publicAddress": "10.0.0.300"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("device.ipv4Address.publicAddress"),
        "{v}"
    );
    let (s, v) = op
        .post_raw(UTILITY, DRS, r#"{"device": {"phoneNumber": "#)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_ARGUMENT"))
    );
    let unprocessable = error_schema("drs", "Generic422");
    let (s, v) = op.post(UTILITY, DRS, json!({})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("MISSING_IDENTIFIER"))
    );
    assert_valid(&unprocessable, &v, "422");
    let (s, v) = op
        .post(
            UTILITY,
            DRS,
            json!({"device": {"networkAccessIdentifier": "a@b"}}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("UNSUPPORTED_IDENTIFIER")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reachability_subscriptions_send_cloud_events() {
    let op = start().await;
    let sink = SinkServer::start(&[]).await;
    let request = json!({
        "protocol": "HTTP", "sink": sink.url, "types": [format!("{TYPE}reachability-disconnected")],
        "sinkCredential": {"credentialType": "ACCESSTOKEN", "accessToken": "sink-secret", "accessTokenExpiresUtc": "2099-01-01T00:00:00Z", "accessTokenType": "bearer"},
        "config": {"subscriptionDetail": {"device": {"phoneNumber": phone(0)}}, "subscriptionMaxEvents": 1},
    });
    let (s, sub) = op.post(UTILITY, SUBS, request.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    // The one deviation from CAMARA: a plain-HTTP loopback sink (see tests/camara/README.md).
    let mut relaxed = sub.clone();
    relaxed["sink"] = json!("https://sink.invalid/hook");
    assert_valid(
        &schema("drs-sub", "/components/schemas/Subscription"),
        &relaxed,
        "subscription",
    );
    let id = sub["id"].as_str().unwrap().to_string();
    let (s, list) = op.get(UTILITY, SUBS).await;
    assert_eq!((s, list.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (s, _) = op.get(OTHER, &format!("{SUBS}/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant does not see it");

    op.inject(json!({"kind": "power-loss", "iccid": iccid(0)}))
        .await;
    let got = sink.wait(2).await;
    assert_eq!(got[0].content_type, "application/cloudevents+json");
    assert_eq!(got[0].authorization.as_deref(), Some("Bearer sink-secret"));
    assert_valid(
        &schema(
            "drs-sub",
            "/components/schemas/EventReachabilityDisconnected",
        ),
        &got[0].body,
        "event",
    );
    assert_eq!(
        got[0].body["type"],
        format!("{TYPE}reachability-disconnected")
    );
    assert_eq!(
        got[0].body["data"],
        json!({"device": {"phoneNumber": phone(0)}, "subscriptionId": id})
    );
    assert_valid(
        &schema("drs-sub", "/components/schemas/EventSubscriptionEnded"),
        &got[1].body,
        "ended",
    );
    assert_eq!(
        got[1].body["data"]["terminationReason"],
        "MAX_EVENTS_REACHED"
    );
    let (s, _) = op.get(UTILITY, &format!("{SUBS}/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an ended subscription is gone");

    // Validation names the field.
    for (patch, code, starts) in [
        (json!({"protocol": "MQTT3"}), "INVALID_PROTOCOL", "protocol"),
        (
            json!({"sink": "http://192.0.2.1/hook"}),
            "INVALID_SINK",
            "sink",
        ),
        (json!({"types": ["nope"]}), "INVALID_ARGUMENT", "types[0]"),
        (
            json!({"config": {"subscriptionDetail": {"device": {"phoneNumber": "+x"}}}}),
            "INVALID_ARGUMENT",
            "config.subscriptionDetail.device.phoneNumber",
        ),
    ] {
        let mut r = request.clone();
        for (k, v) in patch.as_object().unwrap() {
            r[k] = v.clone();
        }
        let (s, v) = op.post(UTILITY, SUBS, r).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{v}"
        );
        assert!(v["message"].as_str().unwrap().starts_with(starts), "{v}");
    }
    let mut r = request.clone();
    r["config"]["subscriptionDetail"]["device"]["phoneNumber"] = json!(phone(5));
    let (s, _) = op.post(UTILITY, SUBS, r).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's device");

    // Delete sends subscription-ended.
    let mut r = request.clone();
    r["config"] = json!({"subscriptionDetail": {}});
    let (_, sub) = op.post(UTILITY, SUBS, r).await;
    let path = format!("{SUBS}/{}", sub["id"].as_str().unwrap());
    let (s, _, _) = op.send(Method::DELETE, Some(OTHER), &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = op.send(Method::DELETE, Some(UTILITY), &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let got = sink.wait(3).await;
    assert_eq!(
        got[2].body["data"]["terminationReason"],
        "SUBSCRIPTION_DELETED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_retry_until_204_and_stop_on_410() {
    let op = start().await;
    let flaky = SinkServer::start(&[500, 503]).await;
    let gone = SinkServer::start(&[410]).await;
    for (n, sink) in [(1, &flaky), (2, &gone)] {
        let r = json!({"protocol": "HTTP", "sink": sink.url, "types": [format!("{TYPE}reachability-disconnected")],
            "config": {"subscriptionDetail": {"device": {"phoneNumber": phone(n)}}}});
        let (s, v) = op.post(UTILITY, SUBS, r).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    op.inject(json!({"kind": "power-loss", "iccid": iccid(1)}))
        .await;
    op.inject(json!({"kind": "power-loss", "iccid": iccid(2)}))
        .await;
    let got = flaky.wait(3).await;
    assert_eq!(got[0].body, got[2].body, "the same event until it is taken");
    let got = gone.wait(1).await;
    assert_eq!(got.len(), 1);
    op.wait_for("the 410 subscription to end", || async {
        op.get(UTILITY, SUBS).await.1.as_array().unwrap().len() == 1
    })
    .await;
    op.inject(json!({"kind": "power-restore", "iccid": iccid(2)}))
        .await;
    op.wait_for("meter 2 back", || async {
        op.get(UTILITY, &sim(2, "/session-info")).await.1["state"] == "SESSION_UP"
    })
    .await;
    op.inject(json!({"kind": "power-loss", "iccid": iccid(2)}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gone.received().len(), 1, "nothing more after 410");
}

fn cell_polygon(geohash_bounds: (f64, f64, f64, f64)) -> Value {
    let (min_lat, max_lat, min_lon, max_lon) = geohash_bounds;
    json!([
        {"latitude": min_lat, "longitude": min_lon}, {"latitude": max_lat, "longitude": min_lon},
        {"latitude": max_lat, "longitude": max_lon}, {"latitude": min_lat, "longitude": max_lon},
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictive_connectivity_is_camara_shaped_and_shows_maintenance() {
    let op = start().await;
    let (_, cells) = op.get(SCENARIO, "/scenario/v0/cells").await;
    let geohash = cells[0]["geohash"].as_str().unwrap();
    let b = reanimator::operator::geohash::bounds(geohash).unwrap();
    let polygon = cell_polygon((b.min_lat, b.max_lat, b.min_lon, b.max_lon));
    let now = reanimator::net::operator_http::now();
    let hour = |h: u64| {
        (now.floor(Duration::from_secs(3600)) + Duration::from_secs(3600 * h)).to_rfc3339()
    };
    op.inject(json!({"kind": "maintenance-window", "cells": ["cell-0001"], "startTime": hour(2), "endTime": hour(3), "noticeSeconds": 86400})).await;
    let request = json!({"serviceLevel": "C2", "area": {"areaType": "POLYGON", "boundary": polygon}, "startTime": hour(0), "endTime": hour(4), "precision": 6});
    let (s, v) = op.post(UTILITY, PCD, request.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_valid(
        &schema("pcd", "/components/schemas/ConnectivityDataResponse"),
        &v,
        "pcd",
    );
    assert_eq!(v["status"], "SUPPORTED_AREA");
    let slots = v["timedConnectivityData"].as_array().unwrap();
    assert_eq!(slots.len(), 4);
    assert_eq!(
        slots[0]["cellConnectivityData"][0],
        json!({"geohash": geohash, "layerConnectivities": ["GC"]})
    );
    assert_eq!(
        slots[2]["cellConnectivityData"][0]["layerConnectivities"],
        json!(["NC"])
    );

    let bad = schema(
        "pcd",
        "/components/responses/RetrieveConnectivityBadRequest400/content/application~1json/schema",
    );
    for (patch, code) in [
        (
            json!({"endTime": hour(0), "startTime": hour(1)}),
            "PREDICTIVE_CONNECTIVITY_DATA.INVALID_END_TIME",
        ),
        (
            json!({"area": {"areaType": "POLYGON", "boundary": [{"latitude": 1, "longitude": 1}]}}),
            "PREDICTIVE_CONNECTIVITY_DATA.INVALID_AREA",
        ),
        (
            json!({"endTime": hour(200)}),
            "PREDICTIVE_CONNECTIVITY_DATA.MAX_TIME_PERIOD_EXCEEDED",
        ),
        (json!({"precision": 13}), "INVALID_ARGUMENT"),
        (json!({"serviceLevel": "GOLD"}), "INVALID_ARGUMENT"),
    ] {
        let mut r = request.clone();
        for (k, val) in patch.as_object().unwrap() {
            r[k] = val.clone();
        }
        let (s, v) = op.post(UTILITY, PCD, r).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{patch}: {v}"
        );
        assert_valid(&bad, &v, code);
    }
    let (_, v) = op.post(UTILITY, PCD, json!({"serviceLevel": "GOLD", "area": request["area"], "startTime": hour(0), "endTime": hour(1)})).await;
    assert!(
        v["message"].as_str().unwrap().starts_with("serviceLevel"),
        "{v}"
    );
    let mut r = request.clone();
    r["precision"] = json!(12);
    let (s, v) = op.post(UTILITY, PCD, r).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("PREDICTIVE_CONNECTIVITY_DATA.UNSUPPORTED_REQUEST")
        )
    );

    // Far away: no coverage at all.
    let mut r = request.clone();
    r["area"]["boundary"] = cell_polygon((10.0, 10.01, 10.0, 10.01));
    let (_, v) = op.post(UTILITY, PCD, r).await;
    assert_eq!(v["status"], "AREA_NOT_SUPPORTED");
    assert_valid(
        &schema("pcd", "/components/schemas/ConnectivityDataResponse"),
        &v,
        "pcd outside",
    );

    // Asynchronous: 202 with an operation id, the result posted to the sink.
    let sink = SinkServer::start(&[]).await;
    let mut r = request.clone();
    r["sink"] = json!(sink.url);
    let (s, v) = op.post(UTILITY, PCD, r).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_valid(
        &schema("pcd", "/components/schemas/AcceptedAsyncResponse"),
        &v,
        "202",
    );
    let got = sink.wait(1).await;
    assert_valid(
        &schema("pcd", "/components/schemas/ConnectivityDataAsyncResponse"),
        &got[0].body,
        "async result",
    );
    assert_eq!(got[0].body["operationId"], v["operationId"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_give_aaa_records_session_status_and_kpis() {
    let op = start().await;
    let (s, v) = op
        .post(UTILITY, "/aaa-records/v0/retrieve", device(0))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let records = v["records"].as_array().unwrap();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["ACCESS_REQUEST", "ACCESS_ACCEPT", "ACCOUNTING_START"]
    );
    assert!(records
        .iter()
        .all(|r| r["line"].as_str().is_some_and(|l| l.ends_with('.'))));

    // The use case: the utility changes a password; the next setup is rejected.
    op.inject(
        json!({"kind": "credential-change", "iccid": iccid(0), "side": "server", "by": "alice"}),
    )
    .await;
    let (s, _) = op
        .post(
            UTILITY,
            &sim(0, "/connectivity-reset"),
            json!({"deleteDataSession": true, "reason": "test"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    op.wait_for("an Access-Reject", || async {
        let (_, v) = op
            .post(
                UTILITY,
                "/aaa-records/v0/retrieve",
                json!({"device": {"phoneNumber": phone(0)}, "maxRecords": 100}),
            )
            .await;
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "ACCESS_REJECT")
    })
    .await;
    let (_, log) = op.get(SCENARIO, "/scenario/v0/credential-changes").await;
    assert_eq!(log[0]["by"], "alice");

    let (s, v) = op
        .post(UTILITY, "/session-status/v0/retrieve", device(0))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["lastSetupFailure"], "AAA_REJECT");
    assert_eq!(v["lastTerminateCause"], "ADMIN_RESET");

    let now = reanimator::net::operator_http::now().floor(Duration::from_secs(900));
    let window = |extra: Value| {
        let mut b = json!({"startTime": (now - Duration::from_secs(3600)).to_rfc3339(), "endTime": (now + Duration::from_secs(900)).to_rfc3339()});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let (s, v) = op
        .post(
            UTILITY,
            "/session-kpis/v0/retrieve",
            window(json!({"device": {"phoneNumber": phone(0)}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["granularitySeconds"].as_u64(),
            v["buckets"].as_array().unwrap().len()
        ),
        (Some(900), 5)
    );
    assert!(
        v["attempts"].as_u64().unwrap() >= 2 && v["successRate"].as_f64().unwrap() < 1.0,
        "{v}"
    );
    let (s, v) = op
        .post(
            UTILITY,
            "/session-kpis/v0/retrieve",
            window(json!({"cellId": "cell-0002"})),
        )
        .await;
    assert_eq!(
        (s, v["attempts"].as_u64(), v["successRate"].as_f64()),
        (StatusCode::OK, Some(3), Some(1.0)),
        "{v}"
    );

    for (path, body, starts) in [
        (
            "/session-kpis/v0/retrieve",
            window(json!({"cellId": "cell-0002", "device": {"phoneNumber": phone(0)}})),
            "device",
        ),
        (
            "/session-kpis/v0/retrieve",
            json!({"cellId": "cell-0002", "startTime": "yesterday", "endTime": now.to_rfc3339()}),
            "startTime",
        ),
        (
            "/aaa-records/v0/retrieve",
            json!({"device": {"phoneNumber": phone(0)}, "maxRecords": 0}),
            "maxRecords",
        ),
    ] {
        let (s, v) = op.post(UTILITY, path, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["message"].as_str().unwrap().starts_with(starts), "{v}");
    }
    for path in ["/aaa-records/v0/retrieve", "/session-status/v0/retrieve"] {
        let (s, _) = op.post(UTILITY, path, device(5)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: another tenant's SIM");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_is_listed_and_announced_with_impacted_devices() {
    let op = start().await;
    let sink = SinkServer::start(&[]).await;
    let (s, sub) = op
        .post(
            UTILITY,
            "/maintenance-windows/v0/subscriptions",
            json!({"sink": sink.url}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    let (_, other_sub) = op
        .post(
            OTHER,
            "/maintenance-windows/v0/subscriptions",
            json!({"sink": sink.url}),
        )
        .await;
    let now = reanimator::net::operator_http::now();
    let start = now + Duration::from_secs(7200);
    op.inject(json!({"kind": "maintenance-window", "cells": ["cell-0001"], "startTime": start, "endTime": start + Duration::from_secs(3600), "noticeSeconds": 86400, "description": "antenna swap"})).await;
    let got = sink.wait(1).await;
    assert_eq!(got[0].content_type, "application/cloudevents+json");
    let data = &got[0].body["data"];
    assert_eq!(data["subscriptionId"], sub["id"]);
    assert_eq!(data["impactedCells"][0]["cellId"], "cell-0001");
    assert_eq!(data["impactedDevices"].as_array().unwrap().len(), 3);
    assert_eq!(data["maintenanceWindow"]["description"], "antenna swap");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sink.received().len(),
        1,
        "tenant other has no SIM in cell-0001: no notification ({other_sub})"
    );

    let (s, v) = op
        .get(UTILITY, "/maintenance-windows/v0/windows?cellId=cell-0001")
        .await;
    assert_eq!((s, v.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (_, v) = op
        .get(UTILITY, "/maintenance-windows/v0/windows?cellId=cell-0002")
        .await;
    assert_eq!(v.as_array().unwrap().len(), 0);
    let (s, v) = op
        .get(UTILITY, "/maintenance-windows/v0/windows?startTime=soon")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["message"].as_str().unwrap().starts_with("startTime"),
        "{v}"
    );
    let (_, list) = op
        .get(UTILITY, "/maintenance-windows/v0/subscriptions")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let path = format!(
        "/maintenance-windows/v0/subscriptions/{}",
        sub["id"].as_str().unwrap()
    );
    assert_eq!(
        op.send(Method::DELETE, Some(OTHER), &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        op.send(Method::DELETE, Some(UTILITY), &path, None).await.0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t8_subscriptions_report_loss_of_connectivity() {
    let op = start().await;
    let sink = SinkServer::start(&[]).await;
    let base = "/3gpp-monitoring-event/v1/headend/subscriptions";
    let digits = phone(0).trim_start_matches('+').to_string();
    let (s, sub, headers) = op
        .send(Method::POST, Some(UTILITY), base, Some(json!({"msisdn": digits, "monitoringType": "LOSS_OF_CONNECTIVITY", "notificationDestination": sink.url, "maximumNumberOfReports": 5})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    let self_link = sub["self"].as_str().unwrap();
    assert_eq!(headers["location"].to_str().unwrap(), self_link);
    op.inject(json!({"kind": "cell-outage", "cellId": "cell-0001"}))
        .await;
    let got = sink.wait(1).await;
    let report = &got[0].body["monitoringEventReports"][0];
    assert_eq!(got[0].body["subscription"], self_link);
    assert_eq!(
        (
            report["monitoringType"].as_str(),
            report["lossOfConnectReason"].as_u64()
        ),
        (Some("LOSS_OF_CONNECTIVITY"), Some(2))
    );
    assert_eq!(report["msisdn"], digits);
    assert_eq!(report["locationInfo"]["cellId"], "cell-0001");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.received().len(), 1, "only the subscribed SIM");
    op.inject(json!({"kind": "cell-restore", "cellId": "cell-0001"}))
        .await;

    let path = self_link.trim_start_matches(&op.base).to_string();
    assert_eq!(op.get(UTILITY, &path).await.0, StatusCode::OK);
    assert_eq!(op.get(OTHER, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(op.get(UTILITY, base).await.1.as_array().unwrap().len(), 1);
    for (body, starts) in [
        (
            json!({"monitoringType": "SOMETHING", "notificationDestination": sink.url}),
            "monitoringType",
        ),
        (
            json!({"monitoringType": "UE_REACHABILITY", "notificationDestination": "http://198.51.100.1/x"}),
            "notificationDestination",
        ),
        (
            json!({"msisdn": "+45", "monitoringType": "UE_REACHABILITY", "notificationDestination": sink.url}),
            "msisdn",
        ),
    ] {
        let (s, v) = op.post(UTILITY, base, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["message"].as_str().unwrap().starts_with(starts), "{v}");
    }
    assert_eq!(
        op.send(Method::DELETE, Some(UTILITY), &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(op.get(UTILITY, &path).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sim_api_resets_changes_status_and_wakes_by_sms() {
    let op = start().await;
    let (s, list) = op.get(UTILITY, "/sim-management/v0/sims?limit=10").await;
    assert_eq!(
        (s, list.as_array().unwrap().len()),
        (StatusCode::OK, 5),
        "tenant utility has five SIMs"
    );
    let (_, d) = op.get(UTILITY, &sim(0, "")).await;
    assert_eq!(
        (d["status"].as_str(), d["msisdn"].as_str()),
        (Some("ACTIVATED"), Some(phone(0).as_str()))
    );
    let (_, c) = op.get(UTILITY, &sim(0, "/connectivity-status")).await;
    assert_eq!(c["connectivity"], "ONLINE");

    op.inject(json!({"kind": "stuck-session", "iccid": iccid(0), "stuck": "no-data-session"}))
        .await;
    let (_, c) = op.get(UTILITY, &sim(0, "/connectivity-status")).await;
    assert_eq!(c["connectivity"], "ATTACHED");
    let (s, body, headers) = op
        .send(
            Method::POST,
            Some(UTILITY),
            &sim(0, "/connectivity-reset"),
            Some(json!({"deleteDataSession": true, "reason": "stuck"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let op_path = headers["location"].to_str().unwrap().to_string();
    assert_eq!(body["status"], "PENDING");
    op.wait_for("the reset to complete", || async {
        op.get(UTILITY, &op_path).await.1["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(op.get(OTHER, &op_path).await.0, StatusCode::NOT_FOUND);
    op.wait_for("the session to come back", || async {
        op.get(UTILITY, &sim(0, "/session-info")).await.1["state"] == "SESSION_UP"
    })
    .await;
    let (_, events) = op.get(UTILITY, &sim(0, "/events?limit=50")).await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "CONNECTIVITY_RESET_COMPLETED"
                && e["operationId"] == body["operationId"]),
        "{events}"
    );

    let (s, v) = op
        .send(
            Method::PUT,
            Some(UTILITY),
            &sim(1, "/status"),
            Some(json!({"status": "DEACTIVATED", "reason": "test"})),
        )
        .await
        .into_two();
    assert_eq!(
        (s, v["previousStatus"].as_str()),
        (StatusCode::OK, Some("ACTIVATED")),
        "{v}"
    );
    assert_eq!(
        op.get(UTILITY, &sim(1, "/connectivity-status")).await.1["connectivity"],
        "BLOCKED"
    );
    let (s, v) = op
        .send(
            Method::PUT,
            Some(UTILITY),
            &sim(1, "/status"),
            Some(json!({"status": "DEACTIVATED"})),
        )
        .await
        .into_two();
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFLICT"))
    );

    // A wake-up SMS to a detached meter waits; when the meter is back, it is delivered.
    op.inject(json!({"kind": "power-loss", "iccid": iccid(2)}))
        .await;
    let (s, sms, headers) = op
        .send(
            Method::POST,
            Some(UTILITY),
            &sim(2, "/sms"),
            Some(json!({"text": "WAKEUP", "validitySeconds": 600, "reason": "read"})),
        )
        .await;
    assert_eq!(
        (s, sms["status"].as_str()),
        (StatusCode::ACCEPTED, Some("QUEUED")),
        "{sms}"
    );
    let receipt = headers["location"].to_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(op.get(UTILITY, &receipt).await.1["status"], "QUEUED");
    op.inject(json!({"kind": "power-restore", "iccid": iccid(2)}))
        .await;
    op.wait_for("the SMS receipt", || async {
        op.get(UTILITY, &receipt).await.1["status"] == "DELIVERED"
    })
    .await;

    let (_, audit) = op.get(UTILITY, "/sim-management/v0/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "CONNECTIVITY_RESET",
            "STATUS_CHANGE",
            "STATUS_CHANGE",
            "SEND_SMS"
        ]
    );
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["who"] == "headend"));
    assert_eq!(op.get(OTHER, "/sim-management/v0/audit").await.1, json!([]));

    for (method, path, body, starts) in [
        (
            Method::POST,
            sim(0, "/connectivity-reset"),
            json!({"reason": "x"}),
            "deleteDataSession",
        ),
        (
            Method::POST,
            sim(0, "/connectivity-reset"),
            json!({"deleteDataSession": "yes"}),
            "deleteDataSession",
        ),
        (
            Method::POST,
            sim(0, "/connectivity-reset"),
            json!({"deleteDataSesion": true}),
            "deleteDataSesion: unknown field",
        ),
        (
            Method::PUT,
            sim(0, "/status"),
            json!({"status": "ASLEEP"}),
            "status",
        ),
        (
            Method::POST,
            sim(0, "/sms"),
            json!({"text": "x".repeat(161)}),
            "text",
        ),
        (
            Method::POST,
            sim(0, "/sms"),
            json!({"text": "x", "validitySeconds": -1}),
            "validitySeconds",
        ),
        (
            Method::GET,
            "/sim-management/v0/sims/123/session-info".to_string(),
            Value::Null,
            "iccid",
        ),
        (
            Method::GET,
            sim(0, "/events?since=yesterday"),
            Value::Null,
            "since",
        ),
        (
            Method::GET,
            "/sim-management/v0/sims?limit=many".to_string(),
            Value::Null,
            "limit",
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (s, v, _) = op.send(method.clone(), Some(UTILITY), &path, body).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("INVALID_ARGUMENT")),
            "{method} {path}: {v}"
        );
        assert!(
            v["message"].as_str().unwrap().starts_with(starts),
            "{method} {path}: {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_sim_is_not_found_like_a_missing_one() {
    let op = start().await;
    let theirs = iccid(5);
    let missing = "8945000000000099999";
    for (method, rest, body) in [
        (Method::GET, "", None),
        (Method::GET, "/session-info", None),
        (Method::GET, "/connectivity-status", None),
        (Method::GET, "/events", None),
        (Method::GET, "/sms/sms-000001", None),
        (
            Method::POST,
            "/connectivity-reset",
            Some(json!({"deleteDataSession": true})),
        ),
        (
            Method::PUT,
            "/status",
            Some(json!({"status": "DEACTIVATED"})),
        ),
        (Method::POST, "/sms", Some(json!({"text": "hi"}))),
    ] {
        let (s1, a, _) = op
            .send(
                method.clone(),
                Some(UTILITY),
                &format!("/sim-management/v0/sims/{theirs}{rest}"),
                body.clone(),
            )
            .await;
        let (s2, b, _) = op
            .send(
                method.clone(),
                Some(UTILITY),
                &format!("/sim-management/v0/sims/{missing}{rest}"),
                body.clone(),
            )
            .await;
        assert_eq!(
            (s1, s2),
            (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
            "{method} {rest}"
        );
        assert_eq!(
            a, b,
            "{method} {rest}: the answers must not tell the two apart"
        );
        assert_valid(&error_schema("drs", "Generic404"), &a, "404");
    }
    let (s, v) = op
        .get(OTHER, &format!("/sim-management/v0/sims/{theirs}"))
        .await;
    assert_eq!(
        (s, v["iccid"].as_str()),
        (StatusCode::OK, Some(theirs.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_beyond_the_platform_limit_get_429_with_retry_after() {
    let op = start().await;
    let too_many = error_schema("drs", "Generic429");
    let mut limited = None;
    'outer: for _ in 0..5 {
        for n in 0..5 {
            let (s, v, h) = op
                .send(
                    Method::POST,
                    Some(UTILITY),
                    &sim(n, "/connectivity-reset"),
                    Some(json!({"deleteDataSession": true, "reason": "burst"})),
                )
                .await;
            match s {
                StatusCode::ACCEPTED | StatusCode::CONFLICT => {}
                StatusCode::TOO_MANY_REQUESTS => {
                    limited = Some((v, h));
                    break 'outer;
                }
                other => panic!("{other}: {v}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (v, h) = limited.expect("a burst of resets beyond the limit is refused");
    assert_valid(&too_many, &v, "429");
    assert_eq!(v["code"], "TOO_MANY_REQUESTS");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry), "Retry-After {retry}");
    let (_, audit) = op.get(UTILITY, "/sim-management/v0/audit").await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["outcome"] == "RATE_LIMITED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_requests_beyond_the_tenant_limit_get_429() {
    let mut config = OperatorConfig::default().time_scaled(0.01);
    config.limits.api = Rate::new(40, 2.0);
    let op = start_with(config).await;
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(op.get(OTHER, "/sim-management/v0/sims").await.0);
    }
    let first_limited = statuses
        .iter()
        .position(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("limited");
    assert!(first_limited <= 45, "{first_limited}");
    let (s, _, h) = op
        .send(Method::GET, Some(OTHER), "/sim-management/v0/sims", None)
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.contains_key("retry-after"));
    // The limit is per tenant: utility (whose startup polling used its own bucket) is unaffected.
    assert_eq!(
        op.get(SCENARIO, "/scenario/v0/cells").await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_control_injects_every_fault() {
    let op = start().await;
    let now = reanimator::net::operator_http::now();
    let state = |n: usize| {
        let op = &op;
        async move {
            op.get(UTILITY, &sim(n, "/session-info")).await.1["state"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    op.inject(json!({"kind": "data-barred", "iccid": iccid(0), "barred": true}))
        .await;
    op.wait_for("a barred setup failure", || async {
        op.get(UTILITY, &sim(0, "/session-info")).await.1["lastSetupFailure"]
            == "DATA_SERVICE_BARRED"
    })
    .await;
    op.inject(json!({"kind": "data-barred", "iccid": iccid(0), "barred": false}))
        .await;
    op.inject(json!({"kind": "sim-deactivation", "iccid": iccid(1)}))
        .await;
    assert_eq!(state(1).await, "DETACHED");
    op.inject(json!({"kind": "sim-status", "iccid": iccid(1), "status": "ACTIVATED"}))
        .await;
    op.inject(json!({"kind": "stuck-session", "iccid": iccid(2), "stuck": "stale"}))
        .await;
    assert_eq!(state(2).await, "SESSION_UP");
    op.inject(json!({"kind": "credential-change", "iccid": iccid(4), "side": "device", "password": "oops", "by": "installer"})).await;
    op.inject(json!({"kind": "power-loss", "iccid": iccid(4)}))
        .await;
    op.inject(json!({"kind": "power-restore", "iccid": iccid(4)}))
        .await;
    op.wait_for("meter 4's wrong password to be refused", || async {
        op.get(UTILITY, &sim(4, "/session-info")).await.1["lastSetupFailure"] == "AAA_REJECT"
    })
    .await;
    op.inject(json!({"kind": "cell-outage", "cellId": "cell-0002", "durationSeconds": 3600}))
        .await;
    assert_eq!(state(3).await, "DETACHED");
    let v = op
        .inject(json!({"kind": "cell-restore", "cellId": "cell-0002"}))
        .await;
    assert_eq!(v["outagesEnded"], 1);
    let (_, cells) = op.get(SCENARIO, "/scenario/v0/cells").await;
    let gh = cells[1]["geohash"].as_str().unwrap();
    op.inject(json!({"kind": "forecast", "geohash": gh, "startTime": now, "endTime": now + Duration::from_secs(3600), "level": "NC"})).await;
    op.wait_for("the forecast to take cell-0002 down", || async {
        state(3).await == "DETACHED"
    })
    .await;
    op.inject(json!({"kind": "maintenance-window", "cells": ["cell-0001"], "startTime": now, "endTime": now + Duration::from_secs(60), "noticeSeconds": 0})).await;
    op.wait_for("maintenance to take cell-0001 down", || async {
        state(0).await == "DETACHED"
    })
    .await;
    op.wait_for("meter 1 reactivated, then in maintenance", || async {
        state(1).await == "DETACHED"
    })
    .await;

    for (fault, starts) in [
        (json!({"kind": "earthquake"}), "kind"),
        (json!({"kind": "power-loss"}), "body"),
        (
            json!({"kind": "power-loss", "iccid": "8945000000000099999"}),
            "iccid",
        ),
        (
            json!({"kind": "cell-outage", "cellId": "cell-9999"}),
            "cell",
        ),
        (
            json!({"kind": "forecast", "geohash": "aaaa", "startTime": now, "endTime": now, "level": "NC"}),
            "geohash",
        ),
        (
            json!({"kind": "maintenance-window", "cells": ["cell-0001"], "startTime": now, "endTime": "tomorrow"}),
            "endTime",
        ),
    ] {
        let (s, v) = op
            .post(SCENARIO, "/scenario/v0/inject", fault.clone())
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{fault}: {v}");
        assert!(
            v["message"].as_str().unwrap().starts_with(starts),
            "{fault}: {v}"
        );
    }
    let (s, v) = op
        .post(
            SCENARIO,
            "/scenario/v0/inject",
            json!({"kind": "stuck-session", "iccid": iccid(0), "stuck": "stale"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFLICT")),
        "no session to make stale: {v}"
    );
}

trait IntoTwo {
    fn into_two(self) -> (StatusCode, Value);
}

impl IntoTwo for (StatusCode, Value, axum::http::HeaderMap) {
    fn into_two(self) -> (StatusCode, Value) {
        (self.0, self.1)
    }
}
