#![allow(dead_code)] // each test binary uses its own subset
//! Running this crate's binary as real processes in tests: a child killed on drop, free
//! loopback ports, waiting for readiness.

use std::net::TcpListener;
use std::process::{Child, Command};
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
