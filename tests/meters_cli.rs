//! `reanimator meters` end to end, as a real process on loopback: read by `reanimator read`,
//! driven through its control port, woken up to call a head-end, sharded, stopped.

mod meters_common;

use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

use meters_common::*;
use reanimator::cosem::LoadModel;
use reanimator::dlms::codec::Codec;
use reanimator::dlms::data::Data;
use reanimator::dlms::datetime::{DateTime, DeviationConvention};
use reanimator::dlms::obis::Obis;
use reanimator::dlms::wrapper::{WrapperFrame, HEADER_LEN};
use reanimator::dlms::xdlms::{AttributeDescriptor, DataNotification, GetDataResult};
use reanimator::meter::manifest::ManifestMeter;
use reanimator::net::DlmsClient;
use reanimator::session::{ClientConfig, Response};

/// The shipped profiles' local time: UTC+1, Blue Book deviation.
const UTC_OFFSET_MINUTES: i16 = 60;
const SEED: u64 = 9;

fn control_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn rfc3339(t: i64) -> String {
    jiff::Timestamp::from_second(t).unwrap().to_string()
}

fn model(meter: &ManifestMeter) -> LoadModel {
    LoadModel::new(SEED, meter.serial, UTC_OFFSET_MINUTES)
}

#[test]
fn reads_registers_that_match_the_load_model() {
    let dir = temp_dir();
    let manifest = dir.path().join("fleet.json");
    let base = meter_base(1);
    let control = free_ports(1);
    let fleet = Fleet::start(
        &[
            "--count",
            "50",
            "--listen",
            &base.to_string(),
            "--seed",
            &SEED.to_string(),
            "--manifest",
            &path_str(&manifest),
            "--control",
            &control_addr(control).to_string(),
        ],
        Some(&manifest),
    );
    let manifest = fleet.manifest.as_ref().unwrap();
    assert_eq!(manifest.meters.len(), 50);
    assert_eq!(manifest.seed, SEED);
    for index in [0usize, 17, 49] {
        let meter = &manifest.meters[index];
        assert_eq!(meter.address, meter_addr(base, index as u32).to_string());
        assert_eq!(
            meter.control.as_deref(),
            Some(format!("http://127.0.0.1:{control}").as_str())
        );
        let before = unix_now();
        let out = read(
            meter.address.parse().unwrap(),
            &["--obis", "1-0:1.8.0.255", "--class", "3", "--json"],
        );
        let after = unix_now() + 1;
        let json: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
        let value = json["value"]["value"].as_u64().unwrap();
        let (low, high) = (
            model(meter).energy_at(before).import_wh,
            model(meter).energy_at(after).import_wh,
        );
        assert!(
            (low..=high).contains(&value),
            "meter {index}: read {value} Wh, the model says {low}..={high}"
        );
        assert_eq!(json["unit"], "Wh");
    }
    // Distinct meters read distinct values: the serial is part of the model.
    let a = model(&manifest.meters[0]).energy_at(unix_now()).import_wh;
    let b = model(&manifest.meters[1]).energy_at(unix_now()).import_wh;
    assert_ne!(a, b);
}

#[test]
fn reads_the_secure_profile_through_block_transfer_with_per_meter_keys() {
    let dir = temp_dir();
    let manifest = dir.path().join("fleet.json");
    let base = meter_base(2);
    let fleet = Fleet::start(
        &[
            "--profile",
            "secure",
            "--count",
            "3",
            "--listen",
            &base.to_string(),
            "--seed",
            &SEED.to_string(),
            "--manifest",
            &path_str(&manifest),
        ],
        Some(&manifest),
    );
    let meters = &fleet.manifest.as_ref().unwrap().meters;
    let meter = &meters[2];
    assert_eq!(meter.authentication, "hls-gmac");
    assert!(meter.ciphered);
    // Six hours of 15-minute rows, ending at least an interval ago: far more than 256 bytes.
    let to = (unix_now() / 900 - 2) * 900;
    let from = to - 6 * 3600;
    let secure_read = |keys_of: &ManifestMeter| {
        read(
            meter.address.parse().unwrap(),
            &[
                "--client-sap",
                "1",
                "--auth",
                "hls-gmac",
                "--ek",
                &keys_of.ek,
                "--ak",
                &keys_of.ak,
                "--max-pdu",
                "256",
                "--profile",
                "1-0:99.1.0.255",
                "--from",
                &rfc3339(from),
                "--to",
                &rfc3339(to),
                "--json",
            ],
        )
    };
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&secure_read(meter))).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 25, "{json}");
    for (i, row) in rows.iter().enumerate() {
        let t = from + i as i64 * 900;
        let at: jiff::Timestamp = row[0].as_str().unwrap().parse().unwrap();
        assert_eq!(at.as_second(), t, "row {i}");
        let energy = model(meter).energy_at(t);
        assert_eq!(row[2], energy.import_wh.to_string(), "A+ of row {i}");
        assert_eq!(row[3], energy.export_wh.to_string(), "A- of row {i}");
    }
    // Another meter's keys do not open this one: keys are per meter.
    let wrong = secure_read(&meters[1]);
    assert_eq!(
        wrong.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
}

#[test]
fn a_modem_without_data_session_refuses_connections_until_online() {
    let base = meter_base(3);
    let control = control_addr(free_ports(1));
    let _fleet = Fleet::start(
        &[
            "--count",
            "5",
            "--listen",
            &base.to_string(),
            "--control",
            &control.to_string(),
        ],
        None,
    );
    let meter = meter_addr(base, 3);
    let clock = ["--obis", "0.0.1.0.0.255", "--class", "8", "--timeout", "2"];
    stdout_of(&read(meter, &clock));

    for state in ["no-data-session", "detached", "powered-off"] {
        let (status, body) = http(
            control,
            "PUT",
            "/meters/m000004/modem",
            Some(&format!(r#"{{"modem":"{state}"}}"#)),
        );
        assert_eq!(status, 200, "{state}: {body}");
        let (_, shown) = http(control, "GET", "/meters/m000004", None);
        assert!(shown.contains(state), "{shown}");
        let out = read(meter, &clock);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{state}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
        // Its neighbours are not affected.
        stdout_of(&read(meter_addr(base, 2), &clock));

        let (status, _) = http(
            control,
            "PUT",
            "/meters/m000004/modem",
            Some(r#"{"modem":"online"}"#),
        );
        assert_eq!(status, 200);
        stdout_of(&read(meter, &clock));
    }

    let (status, body) = http(
        control,
        "PUT",
        "/meters/m000004/modem",
        Some(r#"{"modem":"asleep"}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        http(
            control,
            "PUT",
            "/meters/m000099/modem",
            Some(r#"{"modem":"online"}"#)
        )
        .0,
        404
    );
}

#[tokio::test]
async fn a_woken_meter_calls_the_head_end_and_pushes_its_name() {
    let headend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let headend_addr = headend.local_addr().unwrap();
    let dir = temp_dir();
    let profile = write_file(
        dir.path(),
        "wakeup.toml",
        &profile_with("wakeup", &[("headend", &format!("\"{headend_addr}\""))]),
    );
    let manifest = dir.path().join("fleet.json");
    let base = meter_base(4);
    let control = control_addr(free_ports(1));
    let fleet = Fleet::start(
        &[
            "--profile",
            &path_str(&profile),
            "--count",
            "3",
            "--listen",
            &base.to_string(),
            "--manifest",
            &path_str(&manifest),
            "--control",
            &control.to_string(),
        ],
        Some(&manifest),
    );
    let meter = fleet.manifest.as_ref().unwrap().meters[1].clone();
    assert_eq!(meter.wakeup, "usually-disconnected");

    // Without a data session nobody reaches it; an SMS still does, and it opens one.
    let listening = meter_addr(base, 1);
    let (status, _) = tokio::task::spawn_blocking(move || {
        http(
            control,
            "PUT",
            "/meters/m000002/modem",
            Some(r#"{"modem":"no-data-session"}"#),
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(tokio::net::TcpStream::connect(listening).await.is_err());
    let (status, body) =
        tokio::task::spawn_blocking(move || http(control, "POST", "/meters/m000002/wakeup", None))
            .await
            .unwrap();
    assert_eq!(status, 202, "{body}");
    assert!(body.contains(&headend_addr.to_string()), "{body}");
    let (stream, _) = tokio::time::timeout(Duration::from_secs(10), headend.accept())
        .await
        .expect("the woken meter did not call")
        .unwrap();

    // The first frame is the push, decoded with the crate's codec.
    let mut std_stream = stream.into_std().unwrap();
    std_stream.set_nonblocking(false).unwrap();
    std_stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut header = [0u8; HEADER_LEN];
    std_stream.read_exact(&mut header).unwrap();
    let length = u16::from_be_bytes([header[6], header[7]]) as usize;
    let mut bytes = header.to_vec();
    bytes.resize(HEADER_LEN + length, 0);
    std_stream.read_exact(&mut bytes[HEADER_LEN..]).unwrap();
    let frame = WrapperFrame::from_bytes(&bytes).unwrap();
    assert_eq!((frame.source, frame.destination), (1, 1));
    let push = DataNotification::from_bytes(&frame.apdu).unwrap();
    assert_eq!(
        push.body,
        Data::Structure(vec![Data::OctetString(
            meter.logical_device_name.as_bytes().to_vec()
        )])
    );

    // Then the head-end associates over that same connection and reads the clock.
    std_stream.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(std_stream).unwrap();
    let mut client = DlmsClient::from_stream(stream, 16, 1, ClientConfig::default()).unwrap();
    client.associate().await.unwrap();
    let before = unix_now();
    let response = client
        .get(AttributeDescriptor::new(8, Obis::CLOCK, 2), None)
        .await
        .unwrap();
    let Response::Get(GetDataResult::Data(Data::OctetString(bytes))) = response else {
        panic!("{response:?}")
    };
    let clock = DateTime::from_bytes(&bytes)
        .unwrap()
        .to_unix(DeviationConvention::LocalToUtc)
        .unwrap();
    assert!(
        (clock - before).abs() <= 5,
        "the meter's clock {clock} is far from {before}"
    );
    client.release().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(listening).await.is_ok(),
        "online again after the wake-up"
    );

    // An always-listening meter has nobody to call.
    let basic = meter_base(5);
    let basic_control = control_addr(free_ports(1));
    let _basic = Fleet::start(
        &[
            "--count",
            "1",
            "--listen",
            &basic.to_string(),
            "--control",
            &basic_control.to_string(),
        ],
        None,
    );
    let (status, _) = tokio::task::spawn_blocking(move || {
        http(basic_control, "POST", "/meters/m000001/wakeup", None)
    })
    .await
    .unwrap();
    assert_eq!(status, 409);
}

#[test]
fn rejects_a_bad_profile_file_naming_file_key_and_fix() {
    let dir = temp_dir();
    let profile = write_file(
        dir.path(),
        "broken.toml",
        &profile_with("basic", &[("management", "\"hls\"")]),
    );
    let out = std::process::Command::new(BIN)
        .args(["meters", "--profile", &path_str(&profile), "--count", "1"])
        .args(["--listen", &meter_base(6).to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&path_str(&profile)), "{stderr}");
    assert!(stderr.contains("security.management"), "{stderr}");
    assert!(
        stderr.contains("use one of: none, lls, hls-gmac"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn stops_cleanly_on_sigterm() {
    let mut fleet = Fleet::start(
        &["--count", "20", "--listen", &meter_base(7).to_string()],
        None,
    );
    let (status, took) = fleet.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn shards_a_fleet_over_child_processes_and_ends_them() {
    let dir = temp_dir();
    let manifest = dir.path().join("fleet.json");
    let base = meter_base(8);
    let control = free_ports(3);
    let mut fleet = Fleet::start(
        &[
            "--count",
            "50",
            "--per-process",
            "20",
            "--listen",
            &base.to_string(),
            "--manifest",
            &path_str(&manifest),
            "--control",
            &control_addr(control).to_string(),
        ],
        Some(&manifest),
    );
    let children = live_children(fleet.pid());
    assert_eq!(children.len(), 2, "shards: {children:?}");
    let meters = &fleet.manifest.as_ref().unwrap().meters;
    // The last meters belong to the last shard, which also runs the control port two up.
    let last = &meters[49];
    let last_control = format!("http://127.0.0.1:{}", control + 2);
    assert_eq!(last.control.as_deref(), Some(last_control.as_str()));
    assert_eq!(
        meters[0].control.as_deref(),
        Some(format!("http://127.0.0.1:{control}").as_str())
    );
    for index in [0, 20, 33, 34, 49] {
        stdout_of(&read(
            meter_addr(base, index),
            &["--obis", "0.0.42.0.0.255", "--timeout", "3"],
        ));
    }
    let (status, body) = http(control_addr(control + 2), "GET", "/meters/m000050", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        http(control_addr(control), "GET", "/meters/m000050", None).0,
        404
    );

    let (status, _) = fleet.terminate();
    assert_eq!(status.code(), Some(0));
    for child in children {
        assert!(!alive(child), "shard {child} outlived its parent");
    }
}
