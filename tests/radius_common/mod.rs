//! Test harness: a real FreeRADIUS on loopback with the project's own configuration
//! (`tests/freeradius/`, copied into a temporary directory with free ports filled in), and
//! FreeRADIUS's command-line clients. Missing FreeRADIUS fails the test loudly: CI installs it.

#![allow(dead_code)]

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "testing123";

const INSTALL_HINT: &str =
    "FreeRADIUS is needed for this test: `apt-get install freeradius freeradius-utils` (.ci/run does it)";

/// A program from the FreeRADIUS packages, found on PATH or in the Debian locations.
pub fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return path;
        }
    }
    panic!("{name} not found. {INSTALL_HINT}");
}

/// Two UDP ports free on loopback right now.
fn free_ports() -> (u16, u16) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// Copies the committed template, replacing the placeholders.
fn render_config(dir: &Path, auth: u16, acct: u16) {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/freeradius");
    copy_tree(&template, dir, &|text| {
        text.replace("@DIR@", dir.to_str().unwrap())
            .replace("@AUTH_PORT@", &auth.to_string())
            .replace("@ACCT_PORT@", &acct.to_string())
            .replace("@SECRET@", SECRET)
    });
    for sub in ["log", "run", "radacct"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
}

fn copy_tree(from: &Path, to: &Path, fill: &dyn Fn(&str) -> String) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, fill);
        } else {
            let text = fs::read_to_string(entry.path()).unwrap();
            fs::write(target, fill(&text)).unwrap();
        }
    }
}

/// A running `freeradius -X -d DIR`; killed when dropped.
pub struct FreeRadius {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub auth: SocketAddr,
    pub acct: SocketAddr,
}

impl FreeRadius {
    /// Starts FreeRADIUS on two free loopback ports and waits until it is ready.
    pub fn start() -> Self {
        let binary = tool("freeradius");
        let mut last_output = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let (auth, acct) = free_ports();
            render_config(dir.path(), auth, acct);
            let log = fs::File::create(dir.path().join("freeradius.out")).unwrap();
            let child = Command::new(&binary)
                .arg("-X")
                .arg("-d")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}. {INSTALL_HINT}", binary.display()));
            let mut server = FreeRadius {
                child: Some(child),
                dir,
                auth: SocketAddr::from(([127, 0, 0, 1], auth)),
                acct: SocketAddr::from(([127, 0, 0, 1], acct)),
            };
            match server.wait_ready(Duration::from_secs(15)) {
                Ok(()) => return server,
                Err(output) => last_output = output,
            }
            // Another process took a port between the probe and the bind: try new ones.
            if !last_output.contains("Failed binding")
                && !last_output.contains("Address already in use")
            {
                break;
            }
        }
        panic!("FreeRADIUS did not start; its output:\n{last_output}");
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let output = self.output();
            if output.contains("Ready to process requests") {
                return Ok(());
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap().is_some();
            if exited || start.elapsed() > limit {
                self.stop();
                return Err(output);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything FreeRADIUS printed so far (its debug log).
    pub fn output(&self) -> String {
        fs::read_to_string(self.dir.path().join("freeradius.out")).unwrap_or_default()
    }

    /// The accounting detail file.
    pub fn detail(&self) -> String {
        fs::read_to_string(self.dir.path().join("radacct/detail")).unwrap_or_default()
    }

    /// Kills the server: it is down from now on.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until the debug log contains `text` (FreeRADIUS may log after it answers).
    pub fn wait_for_output(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let output = self.output();
            if output.contains(text) || start.elapsed() > Duration::from_secs(5) {
                return output;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `radclient -x ADDR CODE SECRET` with the attributes on standard input: one try,
/// two seconds (loopback answers in milliseconds).
pub fn radclient(addr: SocketAddr, code: &str, secret: &str, attributes: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(tool("radclient"))
        .args(["-x", "-r", "1", "-t", "2"])
        .arg(addr.to_string())
        .arg(code)
        .arg(secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run radclient: {e}. {INSTALL_HINT}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(attributes.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `radtest USER PASSWORD ADDR 0 SECRET`.
pub fn radtest(user: &str, password: &str, addr: SocketAddr, secret: &str) -> Output {
    Command::new(tool("radtest"))
        .args([user, password, &addr.to_string(), "0", secret])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run radtest: {e}. {INSTALL_HINT}"))
}

/// Standard output and error of a finished tool, for assertions and failure messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
