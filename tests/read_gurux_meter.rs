//! OUR `reanimator read` against a meter built on the gurux-dlms Python SERVER classes
//! (tests/interop/gurux_meter.py): what it prints must be what the Python meter says it served.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::python::{python, run, script, wait_for_port, ChildGuard, Finished};
use reanimator::dlms::datetime::{DateTime, DeviationConvention};
use serde_json::Value;

const STARTUP: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The meter's clock runs at UTC+1 (gurux_meter.py).
const UTC_OFFSET_MINUTES: i16 = 60;

/// The Python meter: killed when dropped, whatever happened in the test.
struct GuruxMeter {
    addr: SocketAddr,
    /// What it announced it serves (`served` in its first line).
    served: Value,
    lines: Receiver<String>,
    child: ChildGuard,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl GuruxMeter {
    fn start() -> GuruxMeter {
        let port = free_port();
        let child = Command::new(python())
            .arg(script("gurux_meter.py"))
            .arg(port.to_string())
            .args(["--lifetime", "120"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gurux_meter.py");
        let mut child = ChildGuard(child);
        let stdout = child.0.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let first = match lines.recv_timeout(STARTUP) {
            Ok(line) => line,
            Err(e) => panic!("gurux_meter.py did not announce itself within {STARTUP:?} ({e:?})"),
        };
        let hello: Value = serde_json::from_str(&first).expect("a JSON first line");
        assert_eq!(hello["listening"], port, "{hello}");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_for_port(addr, STARTUP);
        GuruxMeter {
            addr,
            served: hello["served"].clone(),
            lines,
            child,
        }
    }

    fn read(&self, args: &[&str]) -> Finished {
        let finished = run(
            Command::new(env!("CARGO_BIN_EXE_reanimator"))
                .arg("read")
                .arg(self.addr.to_string())
                .args(["--timeout", "10"])
                .args(args),
            READ_TIMEOUT,
        );
        assert!(finished.status.success(), "{}", finished.transcript());
        finished
    }

    /// Stops the meter and returns the events it reported.
    fn stop(self) -> Vec<Value> {
        drop(self.child);
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => events.push(serde_json::from_str(&line).expect("JSON events")),
                Err(RecvTimeoutError::Disconnected) => return events,
                Err(RecvTimeoutError::Timeout) => panic!("the meter's stdout stayed open"),
            }
        }
    }
}

fn iso(unix: i64) -> String {
    DateTime::from_unix(unix, UTC_OFFSET_MINUTES, DeviationConvention::LocalToUtc)
        .to_iso(DeviationConvention::LocalToUtc)
}

#[test]
fn reads_the_clock_of_a_gurux_meter() {
    let meter = GuruxMeter::start();
    let out = meter.read(&["--obis", "0.0.1.0.0.255", "--class", "8"]);
    let served = meter.served["clock"]["unix"].as_i64().unwrap();
    assert_eq!(out.stdout.trim(), iso(served), "{}", out.transcript());
    assert_eq!(out.stdout.trim(), meter.served["clock"]["iso"]);
}

#[test]
fn reads_a_register_of_a_gurux_meter_with_its_scaler() {
    let meter = GuruxMeter::start();
    let register = meter.served["register"].clone();
    let (raw, scaler) = (
        register["raw"].as_i64().unwrap(),
        register["scaler"].as_i64().unwrap() as i32,
    );
    assert_eq!(register["unit"], 30, "the meter serves Wh");
    let out = meter.read(&["--obis", "1-0:1.8.0.255", "--class", "3"]);
    let text = out.stdout.trim();
    let (number, unit) = text.split_once(' ').expect("value and unit");
    let scaled: f64 = number.parse().expect("a number");
    assert!(
        (scaled - raw as f64 * 10f64.powi(scaler)).abs() < 1e-9,
        "{text} is not {raw} x 10^{scaler}"
    );
    assert_eq!(unit, "Wh");
    let out = meter.read(&["--obis", "1-0:1.8.0.255", "--class", "3", "--json"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["value"]["value"], raw, "{json}");
}

#[test]
fn reads_the_profile_of_a_gurux_meter_by_range() {
    let meter = GuruxMeter::start();
    let rows = meter.served["profile"]["rows"].as_array().unwrap().clone();
    let time = |row: &Value| row[0].as_i64().unwrap();
    // 01:00 to 02:00 local time: five rows, one PDU (gurux cannot send more in blocks).
    let (from, to) = (time(&rows[4]), time(&rows[8]));
    let out = meter.read(&[
        "--profile",
        "1-0:99.1.0.255",
        "--from",
        &iso(from),
        "--to",
        &iso(to),
    ]);
    let expected: Vec<String> = rows
        .iter()
        .filter(|r| (from..=to).contains(&time(r)))
        .map(|r| {
            let values: Vec<String> = r.as_array().unwrap()[1..]
                .iter()
                .map(|v| v.to_string())
                .collect();
            format!("{},{}", iso(time(r)), values.join(","))
        })
        .collect();
    assert_eq!(expected.len(), 5);
    let text = out.stdout.trim();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("0-0:1.0.0.255/2,0-0:96.10.1.255/2,1-0:1.8.0.255/2,1-0:2.8.0.255/2")
    );
    assert_eq!(lines.collect::<Vec<_>>(), expected, "{text}");
    // The meter selected the rows: our client asked by range, it did not filter a full read.
    let events = meter.stop();
    let ranges: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "profile-range")
        .collect();
    assert_eq!(ranges.len(), 1, "{events:?}");
    assert_eq!(
        (&ranges[0]["from"], &ranges[0]["to"], &ranges[0]["rows"]),
        (&from.into(), &to.into(), &5.into())
    );
}
