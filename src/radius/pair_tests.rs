//! The proxy client and the embedded server stepped in memory on simulated time, and the
//! utility's decisions, logbook and credentials file.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::client::{AccessOutcome, AccountingOutcome, ClientConfig, ClientEvent, Discard};
use super::credentials::{Credentials, SimCredential};
use super::logbook::{Change, Logbook};
use super::message::{AccessRequest, AccountingRequest, AcctStatusKind};
use super::server::{RadiusServer, ServerConfig, ServerEvent};
use super::utility::{Decision, RejectReason, UtilityServer};
use super::{ProxyClient, TerminateCause};

const SECRET: &[u8] = b"testing123";
const ICCID_1: &str = "89314404000000000011";
const ICCID_2: &str = "89314404000000000012";
const ICCID_3: &str = "89314404000000000013";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn credentials() -> Credentials {
    let mut one = SimCredential::new(ICCID_1, "meter-0001@dso.example", "s3cret");
    one.framed_ip = Some(Ipv4Addr::new(10, 20, 0, 11));
    one.reply_message = Some("Welcome meter-0001".into());
    let mut two = SimCredential::new(ICCID_2, "meter-0002@dso.example", "barred");
    two.enabled = false;
    let mut three = SimCredential::new(ICCID_3, "meter-0003@dso.example", "apn-bound");
    three.apn = Some("dso.m2m".into());
    Credentials {
        sims: vec![one, two, three],
    }
}

fn utility() -> UtilityServer {
    UtilityServer::new(credentials(), Logbook::new()).unwrap()
}

fn access(user: &str, password: &str) -> AccessRequest {
    AccessRequest {
        user_name: user.into(),
        password: password.into(),
        msisdn: "31612345678".into(),
        apn: "dso.m2m".into(),
        nas_ip: Ipv4Addr::new(127, 0, 0, 1),
        imsi: Some("204040000000011".into()),
        proxy_state: vec![],
    }
}

fn accounting(status: AcctStatusKind, cause: Option<TerminateCause>) -> AccountingRequest {
    AccountingRequest {
        status,
        session_id: "0000002A".into(),
        user_name: "meter-0001@dso.example".into(),
        msisdn: "31612345678".into(),
        apn: "dso.m2m".into(),
        nas_ip: Ipv4Addr::new(127, 0, 0, 1),
        imsi: Some("204040000000011".into()),
        framed_ip: Some(Ipv4Addr::new(10, 20, 0, 11)),
        session_time: cause.map(|_| 600),
        input_octets: None,
        output_octets: None,
        terminate_cause: cause,
    }
}

/// A client and a server joined by a lossless in-memory link that can be cut.
struct Pair {
    client: ProxyClient,
    server: RadiusServer,
    now: Instant,
    wall: Timestamp,
    link_up: bool,
    sent: usize,
    client_events: Vec<ClientEvent>,
    server_events: Vec<ServerEvent>,
}

const CLIENT_ADDR: &str = "127.0.0.1:40000";

impl Pair {
    fn new(config: ClientConfig, server_secret: &[u8]) -> Self {
        Pair {
            client: ProxyClient::new(config, 7).unwrap(),
            server: RadiusServer::new(ServerConfig::new(server_secret), utility()),
            now: Instant::now(),
            wall: at("2026-11-26T02:00:00Z"),
            link_up: true,
            sent: 0,
            client_events: vec![],
            server_events: vec![],
        }
    }

    fn standard() -> Self {
        let mut config = ClientConfig::new(SECRET);
        config.interval = Duration::from_secs(2);
        Pair::new(config, SECRET)
    }

    /// Moves datagrams both ways until nothing is left to move.
    fn exchange(&mut self) {
        let from: SocketAddr = CLIENT_ADDR.parse().unwrap();
        while let Some(transmit) = self.client.poll_transmit() {
            self.sent += 1;
            if self.link_up {
                self.server
                    .handle_datagram(from, &transmit.bytes, self.now, self.wall);
            }
        }
        while let Some((to, answer)) = self.server.poll_transmit() {
            assert_eq!(to, from);
            self.client.handle_datagram(&answer, self.now);
        }
        self.client_events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
        self.server_events
            .extend(std::iter::from_fn(|| self.server.poll_event()));
    }

    /// Runs timers until the client has nothing in flight.
    fn run(&mut self) {
        self.exchange();
        while let Some(deadline) = self.client.poll_timeout() {
            self.now = self.now.max(deadline);
            self.client.handle_timeout(self.now);
            self.exchange();
        }
    }

    fn only_access_outcome(&self) -> (AccessOutcome, u32, Duration) {
        match self.client_events.as_slice() {
            [ClientEvent::Access {
                outcome,
                tries,
                elapsed,
                ..
            }] => (outcome.clone(), *tries, *elapsed),
            other => panic!("expected one access outcome, got {other:?}"),
        }
    }
}

#[test]
fn accepts_with_framed_ip_and_reply_message() {
    let mut pair = Pair::standard();
    pair.client
        .send_access(access("meter-0001@dso.example", "s3cret"), pair.now)
        .unwrap();
    pair.run();
    let (outcome, tries, elapsed) = pair.only_access_outcome();
    assert_eq!(
        outcome,
        AccessOutcome::Accept {
            framed_ip: Some(Ipv4Addr::new(10, 20, 0, 11)),
            reply_message: Some("Welcome meter-0001".into()),
            session_timeout: None,
        }
    );
    assert_eq!((tries, elapsed), (1, Duration::ZERO));
    match &pair.server_events[..] {
        [ServerEvent::Access {
            user,
            msisdn,
            apn,
            imsi,
            decision,
            ..
        }] => {
            assert_eq!(user, "meter-0001@dso.example");
            assert_eq!(msisdn.as_deref(), Some("31612345678"));
            assert_eq!(apn.as_deref(), Some("dso.m2m"));
            assert_eq!(imsi.as_deref(), Some("204040000000011"));
            assert!(decision.is_accept());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_wrong_password_and_names_the_last_change() {
    let mut pair = Pair::standard();
    pair.server
        .utility_mut()
        .set_password(ICCID_1, "n3w", "alice", at("2026-11-26T01:58:00Z"), None)
        .unwrap();
    pair.client
        .send_access(access("meter-0001@dso.example", "s3cret"), pair.now)
        .unwrap();
    pair.run();
    let (outcome, tries, _) = pair.only_access_outcome();
    assert_eq!(
        outcome,
        AccessOutcome::Reject {
            untrusted_reply_message: None
        }
    );
    assert_eq!(tries, 1);
    let ServerEvent::Access { decision, .. } = &pair.server_events[0] else {
        panic!("{:?}", pair.server_events);
    };
    let Decision::Reject {
        reason,
        last_change: Some(change),
        ..
    } = decision
    else {
        panic!("{decision:?}");
    };
    assert_eq!(*reason, RejectReason::WrongPassword);
    assert_eq!(
        (change.by.as_str(), change.change),
        ("alice", Change::PasswordSet)
    );
    assert_eq!(
        decision.describe(),
        "rejected: wrong password (password changed at 2026-11-26T01:58:00Z by alice)"
    );
}

#[test]
fn server_down_is_a_timeout_after_every_try() {
    let mut config = ClientConfig::new(SECRET);
    config.tries = 4;
    config.interval = Duration::from_millis(1500);
    let mut pair = Pair::new(config, SECRET);
    pair.link_up = false;
    let start = pair.now;
    pair.client
        .send_access(access("meter-0001@dso.example", "s3cret"), start)
        .unwrap();
    pair.run();
    let (outcome, tries, elapsed) = pair.only_access_outcome();
    assert_eq!(outcome, AccessOutcome::Timeout);
    assert_eq!((tries, pair.sent), (4, 4));
    assert_eq!(elapsed, Duration::from_millis(6000));
    assert!(pair.server_events.is_empty());
}

#[test]
fn retransmissions_reuse_identifier_and_authenticator() {
    let mut config = ClientConfig::new(SECRET);
    config.tries = 3;
    let mut client = ProxyClient::new(config.clone(), 1).unwrap();
    let t0 = Instant::now();
    client
        .send_access(access("meter-0001@dso.example", "s3cret"), t0)
        .unwrap();
    let first = client.poll_transmit().unwrap();
    assert_eq!(client.poll_timeout(), Some(t0 + config.interval));
    client.handle_timeout(t0 + config.interval);
    let second = client.poll_transmit().unwrap();
    assert_eq!(first, second);
    assert!(client.poll_event().is_none());
}

#[test]
fn a_late_answer_after_a_retransmission_counts_once() {
    let mut pair = Pair::standard();
    pair.client
        .send_access(access("meter-0001@dso.example", "s3cret"), pair.now)
        .unwrap();
    // The first transmission reaches the server, its answer is lost.
    let first = pair.client.poll_transmit().unwrap();
    let from: SocketAddr = CLIENT_ADDR.parse().unwrap();
    pair.server
        .handle_datagram(from, &first.bytes, pair.now, pair.wall);
    let _lost = pair.server.poll_transmit().unwrap();
    pair.now += Duration::from_secs(2);
    pair.client.handle_timeout(pair.now);
    pair.run();
    let (outcome, tries, elapsed) = pair.only_access_outcome();
    assert!(matches!(outcome, AccessOutcome::Accept { .. }));
    assert_eq!((tries, elapsed), (2, Duration::from_secs(2)));
    // One decision; the retransmission was answered from the cache.
    assert!(matches!(
        pair.server_events[..],
        [ServerEvent::Access { .. }, ServerEvent::Duplicate { .. }]
    ));
}

#[test]
fn rejects_answers_signed_with_another_secret() {
    let mut config = ClientConfig::new(SECRET);
    config.tries = 2;
    config.message_authenticator = false;
    let mut pair = Pair::new(config, b"not-the-secret");
    pair.client
        .send_access(access("meter-0001@dso.example", "s3cret"), pair.now)
        .unwrap();
    pair.run();
    // The server reads a garbled password and rejects; the client cannot trust that answer:
    // both are discarded, and the request times out.
    let discards: Vec<_> = pair
        .client_events
        .iter()
        .filter(|e| matches!(e, ClientEvent::Discarded(Discard::NotAuthentic(_))))
        .collect();
    assert_eq!(discards.len(), 2);
    assert!(matches!(
        pair.client_events.last(),
        Some(ClientEvent::Access {
            outcome: AccessOutcome::Timeout,
            tries: 2,
            ..
        })
    ));
}

#[test]
fn server_drops_requests_whose_message_authenticator_fails() {
    let mut config = ClientConfig::new(SECRET);
    config.tries = 1;
    let mut pair = Pair::new(config, b"not-the-secret");
    pair.client
        .send_access(access("meter-0001@dso.example", "s3cret"), pair.now)
        .unwrap();
    pair.run();
    assert_eq!(pair.only_access_outcome().0, AccessOutcome::Timeout);
    assert!(matches!(
        pair.server_events[..],
        [ServerEvent::Discarded {
            reason: super::server::Discard::NotAuthentic(
                super::authenticator::AuthError::BadMessageAuthenticator
            ),
            ..
        }]
    ));
}

#[test]
fn queues_past_256_requests_in_flight() {
    let mut pair = Pair::standard();
    pair.link_up = false;
    for _ in 0..300 {
        pair.client
            .send_access(access("meter-0001@dso.example", "s3cret"), pair.now)
            .unwrap();
    }
    assert_eq!((pair.client.in_flight(), pair.client.queued()), (256, 44));
    pair.link_up = true;
    pair.run();
    let accepted = pair
        .client_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                ClientEvent::Access {
                    outcome: AccessOutcome::Accept { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(accepted, 300);
    assert_eq!((pair.client.in_flight(), pair.client.queued()), (0, 0));
}

#[test]
fn rejects_stray_and_malformed_answers() {
    let mut client = ProxyClient::new(ClientConfig::new(SECRET), 3).unwrap();
    let now = Instant::now();
    client.handle_datagram(&[2, 0, 0], now);
    let mut stray = vec![2, 99, 0, 20];
    stray.extend_from_slice(&[0; 16]);
    client.handle_datagram(&stray, now);
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(matches!(
        events[0],
        ClientEvent::Discarded(Discard::Malformed(_))
    ));
    assert_eq!(
        events[1],
        ClientEvent::Discarded(Discard::UnknownIdentifier(99))
    );
}

#[test]
fn accounting_start_and_stop_are_answered_and_recorded() {
    let mut pair = Pair::standard();
    pair.client
        .send_accounting(accounting(AcctStatusKind::Start, None), pair.now)
        .unwrap();
    pair.client
        .send_accounting(
            accounting(AcctStatusKind::Stop, Some(TerminateCause::LostCarrier)),
            pair.now,
        )
        .unwrap();
    pair.run();
    let answered = pair
        .client_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                ClientEvent::Accounting {
                    outcome: AccountingOutcome::Answered,
                    tries: 1,
                    ..
                }
            )
        })
        .count();
    assert_eq!(answered, 2);
    let records: Vec<_> = pair.server.utility().accounting().collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1].request,
        accounting(AcctStatusKind::Stop, Some(TerminateCause::LostCarrier))
    );
}

#[test]
fn proxy_state_is_echoed() {
    let mut pair = Pair::standard();
    let mut request = access("meter-0001@dso.example", "s3cret");
    request.proxy_state = vec![b"hop-1".to_vec(), vec![0, 1, 2]];
    pair.client.send_access(request, pair.now).unwrap();
    let transmit = pair.client.poll_transmit().unwrap();
    let from: SocketAddr = CLIENT_ADDR.parse().unwrap();
    pair.server
        .handle_datagram(from, &transmit.bytes, pair.now, pair.wall);
    let (_, answer) = pair.server.poll_transmit().unwrap();
    let answer = super::Packet::decode(&answer).unwrap();
    let states: Vec<&[u8]> = answer.all(super::AttributeType::ProxyState).collect();
    assert_eq!(states, vec![&b"hop-1"[..], &[0, 1, 2][..]]);
}

#[test]
fn same_seed_same_bytes() {
    let run = |seed| {
        let mut client = ProxyClient::new(ClientConfig::new(SECRET), seed).unwrap();
        let now = Instant::now();
        client
            .send_access(access("meter-0001@dso.example", "s3cret"), now)
            .unwrap();
        client.poll_transmit().unwrap().bytes
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn server_requiring_message_authenticator_drops_requests_without_one() {
    let mut config = ClientConfig::new(SECRET);
    config.message_authenticator = false;
    config.tries = 1;
    let mut pair = Pair::new(config, SECRET);
    let mut server_config = ServerConfig::new(SECRET);
    server_config.require_message_authenticator = true;
    pair.server = RadiusServer::new(server_config, utility());
    pair.client
        .send_access(access("meter-0001@dso.example", "s3cret"), pair.now)
        .unwrap();
    pair.run();
    assert_eq!(pair.only_access_outcome().0, AccessOutcome::Timeout);
    assert!(matches!(
        pair.server_events[..],
        [ServerEvent::Discarded { .. }]
    ));
}

#[test]
fn authenticate_decides_by_the_table() {
    let server = utility();
    let now = at("2026-11-26T02:00:00Z");
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Result<&'a str, RejectReason>,
    );
    let cases: [Case; 8] = [
        (
            "meter-0001@dso.example",
            Some("s3cret"),
            Some("dso.m2m"),
            Ok(ICCID_1),
        ),
        ("meter-0001@dso.example", Some("s3cret"), None, Ok(ICCID_1)),
        (
            "meter-0001@dso.example",
            Some("S3cret"),
            Some("dso.m2m"),
            Err(RejectReason::WrongPassword),
        ),
        (
            "meter-0001@dso.example",
            None,
            Some("dso.m2m"),
            Err(RejectReason::NoPassword),
        ),
        (
            "meter-0009@dso.example",
            Some("s3cret"),
            Some("dso.m2m"),
            Err(RejectReason::UnknownUser),
        ),
        (
            "meter-0002@dso.example",
            Some("barred"),
            Some("dso.m2m"),
            Err(RejectReason::Disabled),
        ),
        (
            "meter-0003@dso.example",
            Some("apn-bound"),
            Some("DSO.M2M"),
            Ok(ICCID_3),
        ),
        (
            "meter-0003@dso.example",
            Some("apn-bound"),
            Some("internet"),
            Err(RejectReason::WrongApn),
        ),
    ];
    for (user, password, apn, expected) in cases {
        let decision = server.authenticate(user, password.map(str::as_bytes), apn, now);
        match (&decision, expected) {
            (Decision::Accept { iccid, .. }, Ok(want)) => assert_eq!(iccid, want, "{user}"),
            (Decision::Reject { reason, .. }, Err(want)) => assert_eq!(*reason, want, "{user}"),
            _ => panic!("{user} {password:?} {apn:?}: got {decision:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn logbook_answers_who_changed_what_and_when() {
    let mut server = utility();
    server
        .set_password(ICCID_1, "a", "alice", at("2026-11-25T10:00:00Z"), None)
        .unwrap();
    server
        .set_password(
            ICCID_1,
            "b",
            "bob",
            at("2026-11-26T01:58:00Z"),
            Some("rotation".into()),
        )
        .unwrap();
    server
        .set_enabled(ICCID_2, true, "carol", at("2026-11-26T03:00:00Z"), None)
        .unwrap();
    let log = server.logbook();
    assert_eq!(log.for_iccid(ICCID_1).count(), 2);
    assert_eq!(log.for_user("meter-0002@dso.example").count(), 1);
    let before_two = log
        .last_change(ICCID_1, at("2026-11-26T01:59:00Z"))
        .unwrap();
    assert_eq!(
        (before_two.by.as_str(), before_two.note.as_deref()),
        ("bob", Some("rotation"))
    );
    let before_one = log
        .last_change(ICCID_1, at("2026-11-25T12:00:00Z"))
        .unwrap();
    assert_eq!(before_one.by, "alice");
    assert!(log
        .last_change(ICCID_1, at("2026-11-24T00:00:00Z"))
        .is_none());
    let night: Vec<_> = log
        .between(at("2026-11-26T00:00:00Z"), at("2026-11-26T03:00:00Z"))
        .map(|e| e.by.as_str())
        .collect();
    assert_eq!(night, ["bob"]);
    let text: String = log
        .entries()
        .iter()
        .map(|e| e.to_json_line() + "\n")
        .collect();
    assert!(
        !text.contains("\"b\""),
        "no password in the logbook: {text}"
    );
    assert_eq!(&Logbook::from_json_lines(&text).unwrap(), log);
    assert!(server
        .set_password(
            "89314404000000000099",
            "x",
            "eve",
            at("2026-11-26T04:00:00Z"),
            None
        )
        .is_err());
}

#[test]
fn rejects_logbook_lines_that_are_not_entries() {
    let err = Logbook::from_json_lines("\n{\"at\":\"nope\"}\n").unwrap_err();
    assert_eq!(err.line, 2);
}

#[test]
fn can_round_trip_the_credentials_file() {
    let text = credentials().to_toml();
    assert_eq!(Credentials::from_toml(&text).unwrap(), credentials());
}

#[test]
fn rejects_bad_credentials_files_naming_the_key() {
    let sim = |iccid: &str, user: &str| {
        format!("[[sim]]\niccid = \"{iccid}\"\nuser = \"{user}\"\npassword = \"p\"\n")
    };
    let cases = [
        (sim("12345", "a"), "sim[0].iccid"),
        (sim(ICCID_1, "a") + &sim(ICCID_1, "b"), "sim[1].iccid"),
        (sim(ICCID_1, "a") + &sim(ICCID_2, "a"), "sim[1].user"),
        (sim(ICCID_1, ""), "sim[0].user"),
        (sim(ICCID_1, "a") + "pasword = \"x\"\n", "line 5"),
        (
            "[[sim]]\niccid = \"89314404000000000011\"\nuser = \"a\"\n".to_string(),
            "line 1",
        ),
        (sim(ICCID_1, "a") + "framed_ip = \"10.0.0\"\n", "line 5"),
    ];
    for (text, key) in cases {
        let err = Credentials::from_toml(&text).unwrap_err();
        assert_eq!(err.key, key, "{text}: {err}");
        assert!(!err.fix.is_empty());
    }
}

#[test]
fn rejects_requests_too_long_to_send() {
    let mut client = ProxyClient::new(ClientConfig::new(SECRET), 1).unwrap();
    let now = Instant::now();
    let long_name = access(&"u".repeat(254), "p");
    assert!(client.send_access(long_name, now).is_err());
    // Fits without the Message-Authenticator, not with it.
    let mut near_limit = access("meter-0001@dso.example", "s3cret");
    near_limit.proxy_state = vec![vec![0; 253]; 15];
    let base = near_limit.to_packet(0, [0; 16], SECRET).unwrap();
    let spare = 4096 - base.to_bytes().unwrap().len();
    near_limit.proxy_state.push(vec![0; spare - 2]);
    assert_eq!(
        near_limit
            .to_packet(0, [0; 16], SECRET)
            .unwrap()
            .to_bytes()
            .unwrap()
            .len(),
        4096
    );
    assert!(client.send_access(near_limit, now).is_err());
    assert_eq!((client.in_flight(), client.queued()), (0, 0));
    assert!(client.poll_transmit().is_none());
}

#[test]
fn server_drops_a_request_whose_echoed_proxy_state_leaves_no_room() {
    // Only User-Name and User-Password: the accept (Message-Authenticator, Framed-IP-Address,
    // Reply-Message) is longer than they are.
    let request = access("meter-0001@dso.example", "s3cret");
    let mut packet = request.to_packet(3, [9; 16], SECRET).unwrap();
    packet.attributes.truncate(2);
    for _ in 0..15 {
        packet.push(super::Attribute::octets(
            super::AttributeType::ProxyState,
            vec![1; 253],
        ));
    }
    let spare = 4096 - packet.to_bytes().unwrap().len();
    packet.push(super::Attribute::octets(
        super::AttributeType::ProxyState,
        vec![1; spare - 2],
    ));
    let wire = super::authenticator::sign_access_request(&packet, SECRET, false).unwrap();
    assert_eq!(wire.len(), 4096);
    let mut server = RadiusServer::new(ServerConfig::new(SECRET), utility());
    let from: SocketAddr = CLIENT_ADDR.parse().unwrap();
    server.handle_datagram(from, &wire, Instant::now(), at("2026-11-26T02:00:00Z"));
    assert!(server.poll_transmit().is_none());
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Discarded {
            reason: super::server::Discard::Malformed(_),
            ..
        })
    ));
}
