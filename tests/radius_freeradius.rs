//! The operator's RADIUS proxy client against a real FreeRADIUS 3.2 on loopback: accept,
//! wrong password, a dead server, accounting.

mod radius_common;

use std::net::Ipv4Addr;
use std::time::Duration;

use radius_common::{FreeRadius, SECRET};
use reanimator::net::radius_udp::RadiusUdpClient;
use reanimator::radius::{
    AccessOutcome, AccessRequest, AccountingOutcome, AccountingRequest, AcctStatusKind,
    ClientConfig, TerminateCause,
};

const IMSI: &str = "204040000000011";

fn access(user: &str, password: &str) -> AccessRequest {
    AccessRequest {
        user_name: user.into(),
        password: password.into(),
        msisdn: "31612345678".into(),
        apn: "dso.m2m".into(),
        nas_ip: Ipv4Addr::LOCALHOST,
        imsi: Some(IMSI.into()),
        proxy_state: vec![],
    }
}

fn config(tries: u32, interval_ms: u64) -> ClientConfig {
    let mut config = ClientConfig::new(SECRET);
    config.tries = tries;
    config.interval = Duration::from_millis(interval_ms);
    config
}

#[tokio::test]
async fn freeradius_accepts_with_framed_ip() {
    let server = FreeRadius::start();
    let client = RadiusUdpClient::start(server.auth, config(3, 2000), 1)
        .await
        .unwrap();
    let done = client
        .access(access("meter-0001@dso.example", "s3cret"))
        .await
        .unwrap();
    assert_eq!(
        done.outcome,
        AccessOutcome::Accept {
            framed_ip: Some(Ipv4Addr::new(10, 20, 0, 11)),
            reply_message: Some("Welcome meter-0001".into()),
            session_timeout: None,
        },
        "FreeRADIUS said:\n{}",
        server.output()
    );
    assert_eq!(done.tries, 1);
    // FreeRADIUS decoded every attribute we sent, the 3GPP vendor attribute included, and
    // checked our Message-Authenticator (it drops the request otherwise).
    let log = server.wait_for_output("Sent Access-Accept");
    for line in [
        "User-Name = \"meter-0001@dso.example\"",
        "User-Password = \"s3cret\"",
        "Calling-Station-Id = \"31612345678\"",
        "Called-Station-Id = \"dso.m2m\"",
        "NAS-IP-Address = 127.0.0.1",
        "3GPP-IMSI = \"204040000000011\"",
        "Message-Authenticator = 0x",
    ] {
        assert!(log.contains(line), "missing {line:?} in:\n{log}");
    }
}

#[tokio::test]
async fn freeradius_rejects_wrong_password() {
    let server = FreeRadius::start();
    let client = RadiusUdpClient::start(server.auth, config(3, 2000), 2)
        .await
        .unwrap();
    let done = client
        .access(access("meter-0001@dso.example", "not-the-password"))
        .await
        .unwrap();
    // FreeRADIUS copies the user's reply items into the reject: the message is kept as
    // untrusted text and no address comes out of a reject.
    assert!(
        matches!(done.outcome, AccessOutcome::Reject { .. }),
        "{:?}\n{}",
        done.outcome,
        server.output()
    );
    assert_eq!(done.tries, 1);
    let barred = client
        .access(access("meter-0002@dso.example", "anything"))
        .await
        .unwrap();
    assert_eq!(
        barred.outcome,
        AccessOutcome::Reject {
            untrusted_reply_message: Some("SIM barred by DSO".into())
        }
    );
    let unknown = client
        .access(access("meter-0099@dso.example", "x"))
        .await
        .unwrap();
    assert!(matches!(unknown.outcome, AccessOutcome::Reject { .. }));
}

#[tokio::test]
async fn freeradius_down_is_a_timeout_not_a_reject() {
    let mut server = FreeRadius::start();
    let client = RadiusUdpClient::start(server.auth, config(3, 400), 3)
        .await
        .unwrap();
    let up = client
        .access(access("meter-0001@dso.example", "s3cret"))
        .await
        .unwrap();
    assert!(matches!(up.outcome, AccessOutcome::Accept { .. }));
    server.stop();
    let down = client
        .access(access("meter-0001@dso.example", "s3cret"))
        .await
        .unwrap();
    assert_eq!(down.outcome, AccessOutcome::Timeout);
    assert_eq!(down.tries, 3);
    assert!(
        down.elapsed >= Duration::from_millis(1200),
        "gave up after {:?}",
        down.elapsed
    );
    let accounting = client.account(start_request()).await.unwrap();
    assert_eq!(accounting.outcome, AccountingOutcome::Timeout);
}

fn start_request() -> AccountingRequest {
    AccountingRequest {
        status: AcctStatusKind::Start,
        session_id: "0000002A".into(),
        user_name: "meter-0001@dso.example".into(),
        msisdn: "31612345678".into(),
        apn: "dso.m2m".into(),
        nas_ip: Ipv4Addr::LOCALHOST,
        imsi: Some(IMSI.into()),
        framed_ip: Some(Ipv4Addr::new(10, 20, 0, 11)),
        session_time: None,
        input_octets: None,
        output_octets: None,
        terminate_cause: None,
    }
}

#[tokio::test]
async fn freeradius_answers_accounting_start_and_stop() {
    let server = FreeRadius::start();
    let client = RadiusUdpClient::start(server.acct, config(3, 2000), 4)
        .await
        .unwrap();
    let start = client.account(start_request()).await.unwrap();
    assert_eq!(
        start.outcome,
        AccountingOutcome::Answered,
        "{}",
        server.output()
    );
    let mut stop = start_request();
    stop.status = AcctStatusKind::Stop;
    stop.session_time = Some(900);
    stop.input_octets = Some(1234);
    stop.output_octets = Some(5678);
    stop.terminate_cause = Some(TerminateCause::LostCarrier);
    let stopped = client.account(stop).await.unwrap();
    assert_eq!(stopped.outcome, AccountingOutcome::Answered);
    // FreeRADIUS wrote both records with the attributes decoded by its own dictionary.
    let detail = server.detail();
    for line in [
        "Acct-Status-Type = Start",
        "Acct-Status-Type = Stop",
        "Acct-Session-Id = \"0000002A\"",
        "Acct-Terminate-Cause = Lost-Carrier",
        "Acct-Session-Time = 900",
        "Framed-IP-Address = 10.20.0.11",
        "3GPP-IMSI = \"204040000000011\"",
    ] {
        assert!(detail.contains(line), "missing {line:?} in:\n{detail}");
    }
}
