//! Running the third-party Python peers of tests/interop: finding the interpreter, bounded runs,
//! and children that die with the test.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The interpreter that has the DLMS peers installed: `$REANIMATOR_PYTHON` (set by `.ci/run`),
/// else the repository's `.venv` outside CI. Interop tests never skip: no peers is a failure.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("REANIMATOR_PYTHON") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "REANIMATOR_PYTHON={} does not exist; run `bash .ci/run` to build .venv",
            path.display()
        );
        return path;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but REANIMATOR_PYTHON is not: run the tests through `bash .ci/run`, which \
         installs the DLMS peers and passes the interpreter (interop tests never skip)"
    );
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the DLMS peers: run `bash .ci/run` (it builds .venv with gurux-dlms and \
         dlms-cosem) or set REANIMATOR_PYTHON"
    );
    venv
}

/// A script under tests/interop.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// A child process that is killed and reaped when dropped, so no test leaves one behind.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Stdout and stderr, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `command` to completion, killing it (and failing the test) after `timeout`.
pub fn run(command: &mut Command, timeout: Duration) -> Finished {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut child = ChildGuard(child);
    let stdout = drain(child.0.stdout.take().expect("piped stdout"));
    let stderr = drain(child.0.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("waiting for a child") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(child); // kills it if it is still running, which closes its pipes
    let finished = Finished {
        status: status.unwrap_or_default(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(
        status.is_some(),
        "{command:?} did not finish within {timeout:?}\n{}",
        finished.transcript()
    );
    finished
}

/// Waits until something accepts TCP connections on `addr`, or panics after `timeout`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
