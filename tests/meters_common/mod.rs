//! `reanimator meters` as a real process for end-to-end tests: start it, wait until it is ready,
//! talk to its control port, and stop it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reanimator::meter::manifest::FleetManifest;

pub const BIN: &str = env!("CARGO_BIN_EXE_reanimator");

/// A loopback block of our own for test `n` of this binary: 127.X.n.1, X from the process id,
/// so parallel tests and parallel test binaries do not share meter addresses.
pub fn meter_base(n: u8) -> SocketAddr {
    let x = 100 + (std::process::id() % 100) as u8;
    SocketAddr::from((Ipv4Addr::new(127, x, n, 1), 4059))
}

/// The address of meter `index` when meters count up from `base`.
pub fn meter_addr(base: SocketAddr, index: u32) -> SocketAddr {
    let SocketAddr::V4(v4) = base else {
        unreachable!()
    };
    SocketAddr::from((Ipv4Addr::from(u32::from(*v4.ip()) + index), v4.port()))
}

/// `n` consecutive free TCP ports on 127.0.0.1, the first returned. They are taken below the
/// ephemeral range (32768 and up), where load tests leave ports in TIME_WAIT that cannot be
/// bound, starting from a place that depends on the process and the call.
pub fn free_ports(n: u16) -> u16 {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut candidate = 20_000 + ((std::process::id() * 37 + call * 101) % 12_000) as u16;
    for _ in 0..500 {
        if (0..n).all(|k| TcpListener::bind(("127.0.0.1", candidate + k)).is_ok()) {
            return candidate;
        }
        candidate = 20_000 + (candidate - 20_000 + 7 * n + 13) % 12_000;
    }
    panic!("no {n} consecutive free ports on 127.0.0.1 between 20000 and 32767");
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A running `reanimator meters`; killed when dropped (a failed test leaves nothing behind).
pub struct Fleet {
    pub child: Child,
    pub manifest: Option<FleetManifest>,
    lines: mpsc::Receiver<String>,
}

impl Fleet {
    /// Starts `reanimator meters ARGS` and waits for its "ready" line (at most 60 s).
    pub fn start(args: &[&str], manifest: Option<&Path>) -> Fleet {
        let mut child = Command::new(BIN)
            .arg("meters")
            .args(args)
            .args(["--duration", "300"]) // a bound, whatever happens to the test
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = drain(child.stderr.take().unwrap());
        let started = Instant::now();
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(60).saturating_sub(started.elapsed())) {
                Ok(line) if line.contains(" ready on ") => break,
                Ok(line) => seen.push(line),
                Err(_) => {
                    child.kill().ok();
                    panic!("reanimator meters {args:?} did not get ready: {seen:?}");
                }
            }
        }
        let manifest = manifest
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap());
        Fleet {
            child,
            manifest,
            lines,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit (at most 10 s), returning the status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        // SAFETY: signals our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let sent = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            assert!(
                sent.elapsed() < Duration::from_secs(10),
                "no exit 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What the fleet printed on stderr since it got ready.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SIGTERM first: a sharded fleet stops its children on the way out.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

fn drain(stderr: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// A directory removed at the end of the test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A shipped profile's text with some `key = value` lines replaced.
pub fn profile_with(shipped: &str, replace: &[(&str, &str)]) -> String {
    let (_, text) = reanimator::meter::profile::SHIPPED
        .iter()
        .find(|(file, _)| file.ends_with(&format!("/{shipped}.toml")))
        .unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let replaced = replace
            .iter()
            .find(|(key, _)| line.starts_with(&format!("{key} =")));
        out.push(match replaced {
            Some((key, value)) => format!("{key} = {value}"),
            None => line.to_string(),
        });
    }
    out.join("\n") + "\n"
}

/// Writes `text` as `name` in `dir`.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `reanimator read ADDR ARGS`.
pub fn read(addr: SocketAddr, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("read")
        .arg(addr.to_string())
        .args(args)
        .output()
        .unwrap()
}

pub fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// One HTTP/1.1 request to the control port; returns the status and the body.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// Processes whose parent is `pid` and that are not yet reaped zombies.
pub fn live_children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                return false;
            };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                return false;
            };
            let fields: Vec<&str> = rest.split(' ').collect();
            fields.get(1) == Some(&pid.to_string().as_str()) && fields.first() != Some(&"Z")
        })
        .collect()
}

/// Whether process `pid` still exists (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 2..];
            Some(!rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}
