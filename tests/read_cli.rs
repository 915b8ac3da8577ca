//! `reanimator read` end to end: the real binary against an in-process lab meter on loopback.

mod common;

use std::process::{Command, Output};

use common::{start_lab_meter, AK, EK};

fn read(addr: std::net::SocketAddr, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reanimator"))
        .arg("read")
        .arg(addr.to_string())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn reads_a_register_with_its_scaler_applied() {
    let meter = start_lab_meter(1024);
    let out = read(
        meter,
        &["--obis", "1-0:1.8.0.255", "--class", "3", "--attr", "2"],
    );
    assert_eq!(stdout(&out).trim(), "5009 Wh");
}

#[test]
fn reads_the_clock_and_a_value_as_json() {
    let meter = start_lab_meter(1024);
    let out = read(meter, &["--obis", "0.0.1.0.0.255", "--class", "8"]);
    assert_eq!(stdout(&out).trim(), "2026-11-26T13:00:00+01:00");
    let out = read(
        meter,
        &["--obis", "1-0:1.8.0.255", "--class", "3", "--json"],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["scaled"], 5009.0);
    assert_eq!(json["unit"], "Wh");
    assert_eq!(json["value"]["value"], 50090);
}

#[test]
fn reads_a_profile_by_range_as_csv_through_block_transfer() {
    let meter = start_lab_meter(1024);
    let out = read(
        meter,
        &[
            "--profile",
            "1-0:99.1.0.255",
            "--from",
            "2026-11-26T01:00:00+01:00",
            "--to",
            "2026-11-26T02:00:00+01:00",
            "--max-pdu",
            "128",
        ],
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.trim().lines().collect();
    assert_eq!(
        lines[0],
        "0-0:1.0.0.255/2,0-0:96.10.1.255/2,1-0:1.8.0.255/2,1-0:2.8.0.255/2"
    );
    assert_eq!(lines.len(), 1 + 5, "{text}");
    assert_eq!(lines[1], "2026-11-26T01:00:00+01:00,0,10100,4");
    assert_eq!(lines[5], "2026-11-26T02:00:00+01:00,0,10200,8");
}

#[test]
fn reads_the_whole_profile_as_json() {
    let meter = start_lab_meter(1024);
    let out = read(meter, &["--profile", "1.0.99.1.0.255", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 96);
    assert_eq!(json["rows"][95][2], "12375");
}

#[test]
fn lists_the_objects() {
    let meter = start_lab_meter(1024);
    let text = stdout(&read(meter, &["--objects"]));
    assert!(text.contains("    7       1 1-0:99.1.0.255"), "{text}");
}

#[test]
fn reads_with_lls_and_with_hls_gmac_and_ciphering() {
    let meter = start_lab_meter(256);
    let out = read(
        meter,
        &[
            "--client-sap",
            "32",
            "--auth",
            "lls",
            "--password",
            "12345678",
            "--obis",
            "0-0:42.0.0.255",
        ],
    );
    assert_eq!(stdout(&out).trim(), "4D4D4D30303030303030303031");
    let out = read(
        meter,
        &[
            "--client-sap",
            "1",
            "--auth",
            "hls-gmac",
            "--ek",
            EK,
            "--ak",
            AK,
            "--profile",
            "1-0:99.1.0.255",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 96);
}

#[test]
fn a_wrong_password_is_refused_with_status_4() {
    let meter = start_lab_meter(1024);
    let out = read(
        meter,
        &[
            "--client-sap",
            "32",
            "--auth",
            "lls",
            "--password",
            "wrong",
            "--obis",
            "0-0:42.0.0.255",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("association refused") && err.contains("authentication"),
        "{err}"
    );
}

#[test]
fn wrong_hls_keys_are_refused_with_status_4() {
    let meter = start_lab_meter(1024);
    let out = read(
        meter,
        &[
            "--client-sap",
            "1",
            "--auth",
            "hls-gmac",
            "--ek",
            EK,
            "--ak",
            EK,
            "--obis",
            "0-0:42.0.0.255",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_access_error_gives_status_5() {
    let meter = start_lab_meter(1024);
    let out = read(meter, &["--obis", "0-0:43.1.0.255"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-write-denied"));
}

#[test]
fn no_meter_gives_status_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = read(port, &["--obis", "0-0:42.0.0.255", "--timeout", "2"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}

#[test]
fn bad_arguments_give_status_2() {
    let meter = start_lab_meter(1024);
    let out = read(meter, &["--obis", "1.2.3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("OBIS"));
}
