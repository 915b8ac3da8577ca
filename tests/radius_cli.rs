//! The embedded RADIUS server end to end: `reanimator radius set-password` and `serve`, answered
//! to FreeRADIUS's own clients (radtest, radclient), and to our proxy client over loopback UDP.

mod radius_common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use radius_common::{radclient, radtest, text, SECRET};
use reanimator::net::radius_udp::{RadiusUdpClient, RadiusUdpServer};
use reanimator::radius::{
    AccessOutcome, AccessRequest, AccountingOutcome, AccountingRequest, AcctStatusKind,
    ClientConfig, Credentials, Logbook, RadiusServer, ServerConfig, ServerEvent, TerminateCause,
    UtilityServer,
};

const ICCID: &str = "89314404000000000011";

const CREDENTIALS: &str = r#"
[[sim]]
iccid = "89314404000000000011"
user = "meter-0001@dso.example"
password = "s3cret"
framed_ip = "10.20.0.11"
reply_message = "Welcome meter-0001"

[[sim]]
iccid = "89314404000000000012"
user = "meter-0002@dso.example"
password = "other"
enabled = false
"#;

fn reanimator(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reanimator"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("radius-credentials.toml");
    fs::write(&credentials, CREDENTIALS).unwrap();
    (dir, credentials)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn set_password_edits_the_file_and_logs_who_and_when() {
    let (dir, credentials) = workspace();
    let out = reanimator(&[
        "radius",
        "set-password",
        ICCID,
        "--by",
        "alice",
        "--password",
        "n3w-secret",
        "--note",
        "rotation",
        "--credentials",
        path(&credentials),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let logbook_path = dir.path().join("radius-credentials.logbook.jsonl");
    assert!(
        text(&out).contains("password changed for SIM 89314404000000000011"),
        "{}",
        text(&out)
    );
    let edited = Credentials::from_toml(&fs::read_to_string(&credentials).unwrap()).unwrap();
    assert_eq!(edited.find_iccid(ICCID).unwrap().password, "n3w-secret");
    assert_eq!(edited.sims.len(), 2, "the other SIM is kept");
    assert!(!edited.sims[1].enabled);
    let log_text = fs::read_to_string(&logbook_path).unwrap();
    assert!(
        !log_text.contains("n3w-secret"),
        "no password in the logbook"
    );
    let logbook = Logbook::from_json_lines(&log_text).unwrap();
    let entry = &logbook.entries()[0];
    assert_eq!(
        (
            entry.iccid.as_str(),
            entry.by.as_str(),
            entry.note.as_deref()
        ),
        (ICCID, "alice", Some("rotation"))
    );
    let age = jiff::Timestamp::now().duration_since(entry.at);
    assert!(
        age.unsigned_abs() < Duration::from_secs(60),
        "stamped now: {}",
        entry.at
    );

    // A second change appends; a generated password is printed once.
    let out = reanimator(&[
        "radius",
        "set-password",
        ICCID,
        "--by",
        "bob",
        "--credentials",
        path(&credentials),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    let generated = printed
        .lines()
        .find_map(|l| l.strip_prefix("new password: "))
        .expect("generated password printed");
    assert_eq!(generated.len(), 20);
    let edited = Credentials::from_toml(&fs::read_to_string(&credentials).unwrap()).unwrap();
    assert_eq!(edited.find_iccid(ICCID).unwrap().password, generated);
    let logbook = Logbook::from_json_lines(&fs::read_to_string(&logbook_path).unwrap()).unwrap();
    assert_eq!(logbook.len(), 2);
    assert_eq!(logbook.entries()[1].by, "bob");
}

#[test]
fn set_password_adds_a_sim_with_user_and_refuses_an_unknown_one_without() {
    let (_dir, credentials) = workspace();
    let unknown = "89314404000000000099";
    let out = reanimator(&[
        "radius",
        "set-password",
        unknown,
        "--by",
        "alice",
        "--password",
        "x",
        "--credentials",
        path(&credentials),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let message = text(&out);
    assert!(
        message.contains(path(&credentials)),
        "names the file: {message}"
    );
    assert!(message.contains("--user"), "says the fix: {message}");
    let out = reanimator(&[
        "radius",
        "set-password",
        unknown,
        "--by",
        "alice",
        "--password",
        "x",
        "--user",
        "meter-0099@dso.example",
        "--credentials",
        path(&credentials),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let edited = Credentials::from_toml(&fs::read_to_string(&credentials).unwrap()).unwrap();
    assert_eq!(
        edited.find_user("meter-0099@dso.example").unwrap().iccid,
        unknown
    );
}

#[test]
fn rejects_a_bad_credentials_file_naming_file_key_and_fix() {
    let (_dir, credentials) = workspace();
    fs::write(
        &credentials,
        CREDENTIALS.replace("\"89314404000000000012\"", "\"8931\""),
    )
    .unwrap();
    let out = reanimator(&[
        "radius",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--secret",
        "s",
        "--credentials",
        path(&credentials),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let message = text(&out);
    for part in [path(&credentials), "sim[1].iccid", "18 to 22 digits"] {
        assert!(message.contains(part), "{part:?} missing in: {message}");
    }
    let out = reanimator(&[
        "radius",
        "serve",
        "--listen",
        "192.0.2.1:1812",
        "--secret",
        "s",
        "--credentials",
        path(&credentials),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("loopback"), "{}", text(&out));
}

/// `reanimator radius serve` as a child process, its output collected line by line.
struct Served {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    addr: SocketAddr,
}

impl Served {
    fn start(credentials: &Path) -> Self {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut child = Command::new(env!("CARGO_BIN_EXE_reanimator"))
            .args([
                "radius",
                "serve",
                "--listen",
                &addr.to_string(),
                "--secret",
                SECRET,
            ])
            .args(["--credentials", path(credentials)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let served = Served { child, lines, addr };
        served.wait_for("RADIUS server on");
        served
    }

    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let all = self.lines.lock().unwrap().join("\n");
            if all.contains(needle) {
                return all;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no {needle:?} in the server's output:\n{all}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn radtest_and_radclient_are_answered_by_the_embedded_server() {
    let (_dir, credentials) = workspace();
    let served = Served::start(&credentials);

    let accept = radtest("meter-0001@dso.example", "s3cret", served.addr, SECRET);
    let accept = text(&accept);
    assert!(accept.contains("Received Access-Accept"), "{accept}");
    assert!(
        accept.contains("Framed-IP-Address = 10.20.0.11"),
        "{accept}"
    );
    assert!(
        accept.contains("Reply-Message = \"Welcome meter-0001\""),
        "{accept}"
    );

    let reject = text(&radtest(
        "meter-0001@dso.example",
        "wrong",
        served.addr,
        SECRET,
    ));
    assert!(reject.contains("Received Access-Reject"), "{reject}");
    assert!(
        !reject.contains("Framed-IP-Address"),
        "nothing leaks into a reject: {reject}"
    );

    // A wrong secret garbles the password and fails the Message-Authenticator: no answer.
    let forged = radclient(
        served.addr,
        "auth",
        "wrong-secret",
        "User-Name = \"meter-0001@dso.example\", User-Password = \"s3cret\", \
         Message-Authenticator = 0x00",
    );
    assert!(
        !text(&forged).contains("Received Access-"),
        "{}",
        text(&forged)
    );
    served.wait_for("Message-Authenticator does not match");

    // The 3GPP vendor attribute from FreeRADIUS's dictionary reaches our decoder.
    let with_imsi = radclient(
        served.addr,
        "auth",
        SECRET,
        "User-Name = \"meter-0001@dso.example\", User-Password = \"s3cret\", \
         Calling-Station-Id = \"31612345678\", Called-Station-Id = \"dso.m2m\", \
         3GPP-IMSI = \"204040000000011\"",
    );
    assert!(
        text(&with_imsi).contains("Received Access-Accept"),
        "{}",
        text(&with_imsi)
    );
    served.wait_for("msisdn=31612345678 apn=dso.m2m");

    for (status, extra) in [
        ("Start", ""),
        (
            "Stop",
            ", Acct-Terminate-Cause = Lost-Carrier, Acct-Session-Time = 900",
        ),
    ] {
        let attributes = format!(
            "Acct-Status-Type = {status}, Acct-Session-Id = \"0000002A\", \
             User-Name = \"meter-0001@dso.example\"{extra}"
        );
        let out = radclient(served.addr, "acct", SECRET, &attributes);
        assert!(
            text(&out).contains("Received Accounting-Response"),
            "{}",
            text(&out)
        );
    }
    served.wait_for(
        "Accounting-Stop session=\"0000002A\" user=\"meter-0001@dso.example\" cause=Lost-Carrier",
    );
}

#[test]
fn a_password_changed_while_serving_rejects_the_old_one_and_says_who() {
    let (_dir, credentials) = workspace();
    let served = Served::start(&credentials);
    let before = text(&radtest(
        "meter-0001@dso.example",
        "s3cret",
        served.addr,
        SECRET,
    ));
    assert!(before.contains("Received Access-Accept"), "{before}");

    let out = reanimator(&[
        "radius",
        "set-password",
        ICCID,
        "--by",
        "alice",
        "--password",
        "n3w",
        "--credentials",
        path(&credentials),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    served.wait_for("reloaded 2 SIMs");

    let after = text(&radtest(
        "meter-0001@dso.example",
        "s3cret",
        served.addr,
        SECRET,
    ));
    assert!(after.contains("Received Access-Reject"), "{after}");
    let log = served.wait_for("wrong password (password changed at");
    assert!(log.contains("by alice)"), "{log}");
    let new = text(&radtest(
        "meter-0001@dso.example",
        "n3w",
        served.addr,
        SECRET,
    ));
    assert!(new.contains("Received Access-Accept"), "{new}");
}

fn access(password: &str) -> AccessRequest {
    AccessRequest {
        user_name: "meter-0001@dso.example".into(),
        password: password.into(),
        msisdn: "31612345678".into(),
        apn: "dso.m2m".into(),
        nas_ip: Ipv4Addr::LOCALHOST,
        imsi: Some("204040000000011".into()),
        proxy_state: vec![],
    }
}

#[tokio::test]
async fn our_client_and_our_server_over_loopback_udp() {
    let credentials = Credentials::from_toml(CREDENTIALS).unwrap();
    let utility = UtilityServer::new(credentials, Logbook::new()).unwrap();
    let core = Arc::new(Mutex::new(RadiusServer::new(
        ServerConfig::new(SECRET),
        utility,
    )));
    let (server, mut events) =
        RadiusUdpServer::bind(&["127.0.0.1:0".parse().unwrap()], core.clone())
            .await
            .unwrap();
    let addr = server.local_addrs()[0];
    let mut config = ClientConfig::new(SECRET);
    config.tries = 2;
    config.interval = Duration::from_millis(300);
    let client = RadiusUdpClient::start(addr, config, 5).await.unwrap();

    let accept = client.access(access("s3cret")).await.unwrap();
    assert_eq!(
        accept.outcome,
        AccessOutcome::Accept {
            framed_ip: Some(Ipv4Addr::new(10, 20, 0, 11)),
            reply_message: Some("Welcome meter-0001".into()),
            session_timeout: None,
        }
    );
    let reject = client.access(access("wrong")).await.unwrap();
    assert_eq!(
        reject.outcome,
        AccessOutcome::Reject {
            untrusted_reply_message: None
        }
    );
    let stop = AccountingRequest {
        status: AcctStatusKind::Stop,
        session_id: "0000002A".into(),
        user_name: "meter-0001@dso.example".into(),
        msisdn: "31612345678".into(),
        apn: "dso.m2m".into(),
        nas_ip: Ipv4Addr::LOCALHOST,
        imsi: None,
        framed_ip: Some(Ipv4Addr::new(10, 20, 0, 11)),
        session_time: Some(60),
        input_octets: None,
        output_octets: None,
        terminate_cause: Some(TerminateCause::IdleTimeout),
    };
    let answered = client.account(stop.clone()).await.unwrap();
    assert_eq!(answered.outcome, AccountingOutcome::Answered);
    let recorded: Vec<_> = core
        .lock()
        .unwrap()
        .utility()
        .accounting()
        .map(|r| r.request.clone())
        .collect();
    assert_eq!(recorded, vec![stop]);
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(matches!(seen[1], ServerEvent::Access { .. }));

    // The server goes away: a timeout after both tries, not a reject.
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let down = client.access(access("s3cret")).await.unwrap();
    assert_eq!((down.outcome, down.tries), (AccessOutcome::Timeout, 2));
}
