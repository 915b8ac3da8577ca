//! Issue #4 §4: meters on the operator, as real processes. The operator carries its SIMs' state to
//! the meter fleet's control port: a SIM without a data session makes its meter refuse
//! connections, a reset brings it back, and a wake-up SMS makes a usually-disconnected meter call
//! its head-end and push its name.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::Duration;

use reanimator::dlms::apdu::Apdu;
use reanimator::dlms::codec::Codec;
use reanimator::dlms::data::Data;
use reanimator::dlms::wrapper::WrapperFrame;

#[path = "support/process.rs"]
mod process;
use process::{http, read_status, start_meters, start_operator, wait_for, Killed};

/// How long a process may take to be ready.
const READY: Duration = Duration::from_secs(20);

/// Starts a fleet of two meters and the operator on its manifest.
fn start(dir: &Path, profile: &str, listen: &str) -> (Killed, Killed, serde_json::Value, String) {
    let manifest = dir.join("fleet.json");
    let fleet_args = ["--profile", profile, "--count", "2", "--listen", listen];
    let meters = start_meters(&fleet_args, &manifest, None, READY);
    let scenario = ["--scenario-token", "scen"];
    let (operator, operator_addr) = start_operator(&scenario, &manifest, None, READY);
    let fleet: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    (meters, operator, fleet, format!("http://{operator_addr}"))
}

#[test]
fn a_sim_without_data_session_makes_its_meter_unreachable_until_reset() {
    let dir = tempfile::tempdir().unwrap();
    let (_meters, _operator, fleet, operator) = start(dir.path(), "basic", "127.31.0.1:4059");
    let meter = &fleet["meters"][0];
    let (address, iccid) = (
        meter["address"].as_str().unwrap(),
        meter["iccid"].as_str().unwrap(),
    );
    wait_for("the meter to be readable", READY, || {
        read_status(address) == Some(0)
    });
    let status = format!("{operator}/sim-management/v0/sims/{iccid}/connectivity-status");
    wait_for("the operator to see the SIM's data session", READY, || {
        http("GET", &status, "secret", "").1.contains("ONLINE")
    });

    let (code, body) = http(
        "POST",
        &format!("{operator}/scenario/v0/inject"),
        "scen",
        &format!(r#"{{"kind":"stuck-session","iccid":"{iccid}","stuck":"no-data-session"}}"#),
    );
    assert!((200..300).contains(&code), "{code} {body}");
    wait_for("the meter to refuse connections", READY, || {
        read_status(address) == Some(3)
    });

    let (code, body) = http(
        "POST",
        &format!("{operator}/sim-management/v0/sims/{iccid}/connectivity-reset"),
        "secret",
        r#"{"deleteDataSession":true,"reason":"test"}"#,
    );
    assert_eq!(code, 202, "{body}");
    wait_for("the reset to bring the meter back", READY, || {
        read_status(address) == Some(0)
    });
}

#[test]
fn a_wake_up_sms_makes_the_meter_call_its_head_end() {
    let dir = tempfile::tempdir().unwrap();
    let head_end = TcpListener::bind("127.0.0.1:0").unwrap();
    let profile_text = reanimator::meter::profile::SHIPPED[2].1.replace(
        "127.0.0.1:4060",
        &head_end.local_addr().unwrap().to_string(),
    );
    let profile = dir.path().join("wakeup.toml");
    std::fs::write(&profile, profile_text).unwrap();
    let (_meters, _operator, fleet, operator) =
        start(dir.path(), profile.to_str().unwrap(), "127.32.0.1:4059");
    let meter = &fleet["meters"][1];
    let iccid = meter["iccid"].as_str().unwrap();

    let (code, body) = http(
        "POST",
        &format!("{operator}/sim-management/v0/sims/{iccid}/sms"),
        "secret",
        r#"{"text":"wake up","reason":"test"}"#,
    );
    assert!((200..300).contains(&code), "{code} {body}");

    head_end.set_nonblocking(false).unwrap();
    let (mut stream, _): (_, SocketAddr) = head_end.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).unwrap();
    let mut apdu = vec![0u8; u16::from_be_bytes([header[6], header[7]]) as usize];
    stream.read_exact(&mut apdu).unwrap();
    let frame = WrapperFrame::from_bytes(&[&header[..], &apdu].concat()).unwrap();
    let Apdu::DataNotification(push) = Apdu::from_bytes(&frame.apdu).unwrap() else {
        panic!("not a push")
    };
    let name = meter["logical_device_name"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    assert_eq!(push.body, Data::Structure(vec![Data::OctetString(name)]));
}
