//! The operator's RADIUS step on the wire: against FreeRADIUS 3.2, against reanimator's embedded
//! utility server over UDP, and against a dead server.

#[path = "operator/harness.rs"]
mod harness;
mod radius_common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use harness::*;
use radius_common::{FreeRadius, SECRET};
use reanimator::net::operator_aaa::RadiusBackend;
use reanimator::net::radius_udp::RadiusUdpServer;
use reanimator::operator::{FleetManifest, OperatorConfig};
use reanimator::radius::{
    ClientConfig, Credentials, Logbook, RadiusServer, ServerConfig, UtilityServer,
};
use serde_json::{json, Value};

/// Two meters in one cell; their modems present `creds`.
fn fleet_with(creds: [(&str, &str); 2]) -> FleetManifest {
    let mut f = FleetManifest::generate(1, 2);
    for (m, (user, password)) in f.meters.iter_mut().zip(creds) {
        m.radius_user = Some(user.into());
        m.radius_password = Some(password.into());
    }
    f
}

fn client_config(secret: &str) -> ClientConfig {
    let mut c = ClientConfig::new(secret.as_bytes());
    c.tries = 2;
    c.interval = Duration::from_millis(300);
    c
}

fn fast() -> OperatorConfig {
    OperatorConfig::default().time_scaled(0.01)
}

async fn session(op: &Operator, n: usize) -> Value {
    op.get(
        UTILITY,
        &format!("/sim-management/v0/sims/{}/session-info", iccid(n)),
    )
    .await
    .1
}

async fn records(op: &Operator, n: usize) -> Vec<Value> {
    let (_, v) = op
        .post(
            UTILITY,
            "/aaa-records/v0/retrieve",
            json!({"device": {"phoneNumber": phone(n)}, "maxRecords": 100}),
        )
        .await;
    v["records"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_authorised_and_accounted_by_freeradius() {
    let server = FreeRadius::start();
    let backend = RadiusBackend::start(server.auth, Some(server.acct), client_config(SECRET), 1)
        .await
        .unwrap();
    let fleet = fleet_with([
        ("meter-0001@dso.example", "s3cret"),
        ("meter-0001@dso.example", "wrong"),
    ]);
    let op = start_custom(&fleet, fast(), Arc::new(backend)).await;
    op.wait_for("meter 0 admitted by FreeRADIUS", || async {
        session(&op, 0).await["state"] == "SESSION_UP"
    })
    .await;
    assert_eq!(
        session(&op, 0).await["ipAddress"],
        "10.20.0.11",
        "the Framed-IP-Address FreeRADIUS assigned"
    );
    op.wait_for("meter 1 refused by FreeRADIUS", || async {
        session(&op, 1).await["lastSetupFailure"] == "AAA_REJECT"
    })
    .await;
    let kinds: Vec<String> = records(&op, 1)
        .await
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(&kinds[..2], ["ACCESS_REQUEST", "ACCESS_REJECT"]);
    let log = server.wait_for_output("Accounting-Request");
    assert!(
        log.contains("Acct-Status-Type = Start"),
        "FreeRADIUS saw no Accounting Start:\n{log}"
    );

    // A reset ends the session with Admin-Reset; FreeRADIUS gets the Stop.
    let (s, _) = op
        .post(
            UTILITY,
            &format!("/sim-management/v0/sims/{}/connectivity-reset", iccid(0)),
            json!({"deleteDataSession": true}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let log = server.wait_for_output("Acct-Terminate-Cause = Admin-Reset");
    assert!(log.contains("Acct-Status-Type = Stop"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_radius_server_is_recorded_as_unreachable() {
    let dead: SocketAddr = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let backend = RadiusBackend::start(dead, None, client_config(SECRET), 1)
        .await
        .unwrap();
    let fleet = fleet_with([("a", "b"), ("c", "d")]);
    let op = start_custom(&fleet, fast(), Arc::new(backend)).await;
    op.wait_for("a set-up failing on the dead server", || async {
        session(&op, 0).await["lastSetupFailure"] == "AAA_UNREACHABLE"
    })
    .await;
    let recs = records(&op, 0).await;
    let timeout = recs
        .iter()
        .find(|r| r["kind"] == "ACCESS_TIMEOUT")
        .expect("a timeout record");
    assert!(
        timeout["line"].as_str().unwrap().contains("did not answer"),
        "{timeout}"
    );
    assert!(
        !recs.iter().any(|r| r["kind"] == "ACCESS_REJECT"),
        "a dead server is never a reject"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_changed_on_the_embedded_server_is_rejected() {
    let fleet = fleet_with([("meter-a", "pw-a"), ("meter-b", "pw-b")]);
    let toml = format!(
        "[[sim]]\niccid = \"{}\"\nuser = \"meter-a\"\npassword = \"pw-a\"\n\n[[sim]]\niccid = \"{}\"\nuser = \"meter-b\"\npassword = \"pw-b\"\n",
        iccid(0),
        iccid(1)
    );
    let utility =
        UtilityServer::new(Credentials::from_toml(&toml).unwrap(), Logbook::new()).unwrap();
    let core = Arc::new(Mutex::new(RadiusServer::new(
        ServerConfig::new("embedded-secret"),
        utility,
    )));
    let (server, _events) = RadiusUdpServer::bind(&["127.0.0.1:0".parse().unwrap()], core.clone())
        .await
        .unwrap();
    let backend = RadiusBackend::start(
        server.local_addrs()[0],
        None,
        client_config("embedded-secret"),
        1,
    )
    .await
    .unwrap();
    let op = start_custom(&fleet, fast(), Arc::new(backend)).await;
    op.wait_for("both meters up", || async {
        session(&op, 0).await["state"] == "SESSION_UP"
            && session(&op, 1).await["state"] == "SESSION_UP"
    })
    .await;

    core.lock()
        .unwrap()
        .utility_mut()
        .set_password(&iccid(0), "rotated", "alice", jiff::Timestamp::now(), None)
        .unwrap();
    let (s, _) = op
        .post(
            UTILITY,
            &format!("/sim-management/v0/sims/{}/connectivity-reset", iccid(0)),
            json!({"deleteDataSession": true, "reason": "test"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    op.wait_for("the rejected password", || async {
        session(&op, 0).await["lastSetupFailure"] == "AAA_REJECT"
    })
    .await;
    assert_eq!(
        session(&op, 1).await["state"],
        "SESSION_UP",
        "the other SIM is untouched"
    );

    // With a server on the wire, the scenario cannot change its credentials and says how to.
    let (s, v) = op
        .post(
            SCENARIO,
            "/scenario/v0/inject",
            json!({"kind": "credential-change", "iccid": iccid(1), "side": "server", "by": "bob"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("reanimator radius set-password"),
        "{v}"
    );
}
