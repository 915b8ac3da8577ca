#![allow(dead_code)] // each test binary uses its own subset
//! Running this crate's binary as real processes in tests: a child killed on drop, free
//! loopback ports, waiting for readiness, the meter fleet and the operator on its manifest, and
//! plain HTTP requests to them.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed (SIGKILL) when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_reanimator")
}

/// Our binary, without the caller's `REANIMATOR_*` overrides (they would reconfigure the
/// process under test).
pub fn command() -> Command {
    let mut c = Command::new(bin());
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("REANIMATOR_")) {
        c.env_remove(name);
    }
    c
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `ready` until it holds; fails the test after `within`.
pub fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The standard output of a command that must have succeeded and printed each of `expected`.
pub fn printed(out: &Output, expected: &[&str]) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in expected {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    text
}

/// Where a child's output goes: nowhere, or `NAME.log` and `NAME.err` in a folder.
fn output(logs: Option<&Path>, name: &str) -> (Stdio, Stdio) {
    match logs {
        None => (Stdio::null(), Stdio::null()),
        Some(dir) => {
            let file = |ext: &str| File::create(dir.join(format!("{name}.{ext}"))).unwrap();
            (file("log").into(), file("err").into())
        }
    }
}

/// `reanimator meters ARGS --control ADDR --manifest MANIFEST`, once it answers on its control
/// port and has written the manifest.
pub fn start_meters(
    args: &[&str],
    manifest: &Path,
    logs: Option<&Path>,
    ready: Duration,
) -> Killed {
    let control = format!("127.0.0.1:{}", free_port());
    let (stdout, stderr) = output(logs, "meters");
    let meters = Killed(
        command()
            .arg("meters")
            .args(args)
            .args(["--control", &control, "--manifest"])
            .arg(manifest)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    wait_for("the fleet", ready, || {
        TcpStream::connect(&control).is_ok() && manifest.exists()
    });
    meters
}

/// `reanimator operator` on the fleet's manifest with the tenant `utility` (token `secret`) and
/// `args`, once it listens; with its address.
pub fn start_operator(
    args: &[&str],
    manifest: &Path,
    logs: Option<&Path>,
    ready: Duration,
) -> (Killed, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let (stdout, stderr) = output(logs, "operator");
    let operator = Killed(
        command()
            .args(["operator", "--listen", &addr, "--token", "utility=secret"])
            .args(args)
            .arg("--fleet")
            .arg(manifest)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    wait_for("the operator", ready, || TcpStream::connect(&addr).is_ok());
    (operator, addr)
}

/// The exit status of `reanimator read ADDRESS` of the logical device name (2 s timeout):
/// 0 read, 3 cannot connect.
pub fn read_status(address: &str) -> Option<i32> {
    command()
        .args([
            "read",
            address,
            "--obis",
            "0-0:42.0.0.255",
            "--timeout",
            "2",
        ])
        .output()
        .unwrap()
        .status
        .code()
}

/// A plain HTTP/1.1 request (no client library needed for a few calls): the status and the
/// body. An empty `token` sends no `Authorization`.
pub fn http(method: &str, url: &str, token: &str, body: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (code, body)
}
