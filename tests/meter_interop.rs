//! Third-party CLIENTS read our simulated meter for real: gurux-dlms and dlms-cosem (Python, run by
//! tests/interop/read_meter.py) against `MeterApplication` served by `net::serve` on loopback.
//! Every value they decode must equal the deterministic load model.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::python::{python, run, script};
use reanimator::cosem::{LoadModel, MeterApplication, MeterSettings};
use reanimator::dlms::acse::Conformance;
use reanimator::dlms::data::Data;
use reanimator::dlms::datetime::{DateTime, DeviationConvention};
use reanimator::dlms::security::{Keys, SystemTitle};
use reanimator::dlms::xdlms::{
    ActionOutcome, AttributeDescriptor, DataAccessResult, MethodDescriptor, SelectiveAccess,
};
use reanimator::net::ServerOptions;
use reanimator::session::{
    AccessContext, Authentication, ClientPolicy, CosemServer, SecuritySetup, ServerConfig,
};
use serde_json::Value;

const SEED: u64 = 7;
const SERIAL: u64 = 42;
const UTC_OFFSET_MINUTES: i16 = 60;
const RETENTION: u32 = 960;
const PASSWORD: &str = "12345678";
// REFERENCE.md section 1: the meter's and the client's system titles and the suite 0 keys.
const METER_TITLE: &str = "4D4D4D0000BC614E";
const CLIENT_TITLE: &str = "4D4D4D0000000001";
const EK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const INTERVAL: i64 = 900;
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// The meter application on the real clock: the driver sets `now` before every request.
struct LiveMeter(MeterApplication);

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

impl CosemServer for LiveMeter {
    fn get(
        &mut self,
        ctx: &AccessContext,
        a: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.0.set_now(unix_now());
        self.0.get(ctx, a, access)
    }

    fn set(
        &mut self,
        ctx: &AccessContext,
        a: &AttributeDescriptor,
        value: Data,
    ) -> DataAccessResult {
        self.0.set_now(unix_now());
        self.0.set(ctx, a, value)
    }

    fn action(
        &mut self,
        ctx: &AccessContext,
        m: &MethodDescriptor,
        parameters: Option<Data>,
    ) -> ActionOutcome {
        self.0.set_now(unix_now());
        self.0.action(ctx, m, parameters)
    }
}

fn settings() -> Arc<MeterSettings> {
    Arc::new(MeterSettings {
        fleet_seed: SEED,
        utc_offset_minutes: UTC_OFFSET_MINUTES,
        convention: DeviationConvention::LocalToUtc,
        retention: RETENTION,
        capture_period: 900,
        clock_drift_ppm: 0,
        manufacturer: *b"RNM",
        auto_connect_mode: 1,
        push_destination: "127.0.0.1:4059".into(),
        push_transport: 0,
    })
}

fn model() -> LoadModel {
    LoadModel::new(SEED, SERIAL, UTC_OFFSET_MINUTES)
}

/// Which of the profiles the meter is configured like.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Profile {
    /// Public client without authentication, management client with LLS, 1024-byte PDU.
    Basic,
    /// Management client with HLS-GMAC and ciphering, 256-byte PDU.
    Secure,
}

fn options(profile: Profile) -> ServerOptions {
    let public = ClientPolicy {
        sap: 16,
        authentication: Authentication::None,
        ciphered: false,
    };
    let (max_pdu, security, management) = match profile {
        Profile::Basic => (
            1024,
            None,
            ClientPolicy {
                sap: 1,
                authentication: Authentication::Low {
                    password: PASSWORD.as_bytes().to_vec(),
                },
                ciphered: false,
            },
        ),
        Profile::Secure => (
            256,
            Some(SecuritySetup {
                system_title: SystemTitle::from_hex(METER_TITLE).unwrap(),
                keys: Keys::from_hex(EK, AK).unwrap(),
                invocation_counter: 1,
            }),
            ClientPolicy {
                sap: 1,
                authentication: Authentication::HighGmac,
                ciphered: true,
            },
        ),
    };
    ServerOptions {
        config: Arc::new(ServerConfig {
            conformance: Conformance::GET
                | Conformance::SET
                | Conformance::ACTION
                | Conformance::SELECTIVE_ACCESS
                | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
                | Conformance::MULTIPLE_REFERENCES,
            max_receive_pdu: max_pdu,
            security,
            clients: vec![public, management],
            inactivity_timeout: Duration::from_secs(30),
        }),
        logical_devices: vec![1],
        idle_timeout: Duration::from_secs(30),
    }
}

/// Serves meter `SERIAL` on 127.0.0.1 from a background thread, one application per connection.
fn start_meter(profile: Profile) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let settings = settings();
            reanimator::net::serve(listener, Arc::new(options(profile)), move || {
                LiveMeter(MeterApplication::new(settings.clone(), SERIAL))
            })
            .await
            .unwrap();
        });
    });
    rx.recv().unwrap()
}

/// How a client reads: its wPort, authentication and keys.
#[derive(Debug, Clone, Copy)]
enum Client {
    Public,
    Lls,
    HlsGmacCiphered,
}

impl Client {
    fn args(self) -> Vec<String> {
        let args: &[&str] = match self {
            Client::Public => &["--client-sap", "16", "--auth", "none"],
            Client::Lls => &["--client-sap", "1", "--auth", "lls", "--password", PASSWORD],
            Client::HlsGmacCiphered => &[
                "--client-sap",
                "1",
                "--auth",
                "hls-gmac",
                "--system-title",
                CLIENT_TITLE,
                "--ek",
                EK,
                "--ak",
                AK,
            ],
        };
        args.iter().map(|s| s.to_string()).collect()
    }
}

fn iso(t: i64) -> String {
    DateTime::from_unix(t, UTC_OFFSET_MINUTES, DeviationConvention::LocalToUtc)
        .to_iso(DeviationConvention::LocalToUtc)
}

/// A read: what was asked and when it ran, so the answers can be recomputed from the model.
struct Reading {
    out: Value,
    before: i64,
    after: i64,
    range: (i64, i64),
    entries: (u32, u32),
}

/// Runs read_meter.py with `peer` against `meter`, asking for `rows` rows by range and 4 by entry.
fn read(peer: &str, meter: SocketAddr, client: Client, range_rows: i64) -> Reading {
    let newest = model().entry_at_or_before(unix_now());
    // Rows well inside retention and already captured, however long the read takes.
    let from = newest - 12 * 3600;
    let to = from + (range_rows - 1) * INTERVAL;
    let entries = (RETENTION - 3, RETENTION);
    let mut command = Command::new(python());
    command
        .arg(script("read_meter.py"))
        .arg(peer)
        .args(["--port", &meter.port().to_string()])
        .args(client.args())
        .args(["--from", &iso(from), "--to", &iso(to)])
        .args(["--entry-from", &entries.0.to_string()])
        .args(["--entry-count", &(entries.1 - entries.0 + 1).to_string()]);
    let before = unix_now();
    let finished = run(&mut command, PEER_TIMEOUT);
    let after = unix_now();
    assert!(finished.status.success(), "{}", finished.transcript());
    let out: Value = serde_json::from_str(finished.stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", finished.transcript()));
    Reading {
        out,
        before,
        after,
        range: (from, to),
        entries,
    }
}

fn rows(section: &Value) -> Vec<Vec<Value>> {
    section["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {section}"))
        .iter()
        .map(|r| r.as_array().expect("a row is a list").clone())
        .collect()
}

/// A profile row as the model says it must be: time, status 0, A+, A- in Wh.
fn expected_row(t: i64) -> Vec<Value> {
    let e = model().energy_at(t);
    vec![t.into(), 0.into(), e.import_wh.into(), e.export_wh.into()]
}

/// Everything a peer read must equal the model at the times it was read.
fn check(reading: &Reading) {
    let (out, before, after) = (&reading.out, reading.before, reading.after);
    let peer = out["peer"].as_str().unwrap_or("?");
    assert!(out.get("error").is_none(), "{peer}: {out:#}");

    let clock = out["clock"]["unix"]
        .as_i64()
        .expect("the clock as Unix time");
    assert!(
        (before..=after).contains(&clock),
        "{peer}: clock {clock} ({}) outside the read's window {before}..={after}",
        out["clock"]["text"]
    );

    let a_plus = &out["a_plus"];
    let value = a_plus["value"].as_u64().expect("A+ as an integer");
    let (low, high) = (
        model().energy_at(before).import_wh,
        model().energy_at(after).import_wh,
    );
    assert!(
        (low..=high).contains(&value),
        "{peer}: A+ {value} Wh outside the model's {low}..={high} for the read's window"
    );
    assert_eq!(
        (a_plus["scaler"].as_i64(), a_plus["unit"].as_i64()),
        (Some(0), Some(30)),
        "{peer}: scaler_unit of A+ must be 10^0 Wh"
    );
    assert_eq!(a_plus["scaled"].as_f64(), Some(value as f64), "{peer}");

    let columns: Vec<(i64, &str, i64)> = out["columns"]["items"]
        .as_array()
        .expect("capture objects")
        .iter()
        .map(|c| {
            (
                c["class_id"].as_i64().unwrap(),
                c["obis"].as_str().unwrap(),
                c["attribute"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            (8, "0.0.1.0.0.255", 2),
            (1, "0.0.96.10.1.255", 2),
            (3, "1.0.1.8.0.255", 2),
            (3, "1.0.2.8.0.255", 2),
        ],
        "{peer}"
    );

    let (from, to) = reading.range;
    let expected: Vec<Vec<Value>> = (0..)
        .map(|i| from + i * INTERVAL)
        .take_while(|t| *t <= to)
        .map(expected_row)
        .collect();
    assert_eq!(rows(&out["range"]), expected, "{peer}: rows by range");

    let by_entry = rows(&out["entry"]);
    let (first, last) = reading.entries;
    assert_eq!(by_entry.len(), (last - first + 1) as usize, "{peer}");
    for row in &by_entry {
        let t = row[0].as_i64().expect("a row time");
        assert_eq!(row, &expected_row(t), "{peer}: entry row at {t}");
    }
    let times: Vec<i64> = by_entry.iter().map(|r| r[0].as_i64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == INTERVAL),
        "{peer}: {times:?}"
    );
    // Entry `last` is the newest at the moment the meter answered.
    let newest = *times.last().unwrap() + (RETENTION - last) as i64 * INTERVAL;
    assert!(
        (model().entry_at_or_before(before)..=model().entry_at_or_before(after)).contains(&newest),
        "{peer}: entry {last} is at {newest}, not the newest entry during the read"
    );
}

/// Every GET answer of `step` came glo-ciphered (0xCC glo-get-response or 0xDB general-glo).
fn assert_ciphered(out: &Value, step: &str) {
    let tags = out[step]["response_tags"]
        .as_array()
        .expect("response tags");
    assert!(
        !tags.is_empty() && tags.iter().all(|t| t == "CC" || t == "DB"),
        "{step}: answers not ciphered: {tags:?}"
    );
}

#[test]
fn gurux_public_client_reads_values_equal_to_the_model() {
    let meter = start_meter(Profile::Basic);
    check(&read("gurux", meter, Client::Public, 9));
}

#[test]
fn gurux_management_client_reads_with_lls() {
    let meter = start_meter(Profile::Basic);
    check(&read("gurux", meter, Client::Lls, 9));
}

#[test]
fn dlms_cosem_public_client_reads_values_equal_to_the_model() {
    let meter = start_meter(Profile::Basic);
    let reading = read("dlms-cosem", meter, Client::Public, 9);
    check(&reading);
    // dlms-cosem cannot encode an entry descriptor; the script encodes it for dlms-cosem's GET.
    assert_eq!(reading.out["entry_native"]["supported"], false);
}

#[test]
fn dlms_cosem_management_client_reads_with_lls() {
    let meter = start_meter(Profile::Basic);
    check(&read("dlms-cosem", meter, Client::Lls, 9));
}

#[test]
fn gurux_reads_through_hls_gmac_ciphering_and_block_transfer() {
    let meter = start_meter(Profile::Secure);
    let reading = read("gurux", meter, Client::HlsGmacCiphered, 25);
    check(&reading);
    for step in ["clock", "a_plus", "columns", "range", "entry"] {
        assert_ciphered(&reading.out, step);
    }
    // 25 rows are about 700 bytes: a 256-byte PDU needs GET-Request-Next.
    let trips = reading.out["range"]["round_trips"].as_u64().unwrap();
    assert!(trips >= 3, "the range read took {trips} round trips");
}

#[test]
fn dlms_cosem_reads_through_hls_gmac_and_general_glo_ciphering() {
    let meter = start_meter(Profile::Secure);
    let reading = read("dlms-cosem", meter, Client::HlsGmacCiphered, 25);
    check(&reading);
}
