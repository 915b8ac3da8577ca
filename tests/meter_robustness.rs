//! A simulated meter under hostile clients (issue 3, section 5), against the real
//! `reanimator meters` process: it answers malformed frames with an exception or closes that
//! connection, and keeps serving others; idle and half-open connections time out; an announced
//! length it would not accept cannot make it allocate; a profile limits concurrent associations.

mod meters_common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use meters_common::*;
use rand::{Rng, SeedableRng};
use reanimator::dlms::codec::{hex, Codec};
use reanimator::dlms::wrapper::{WrapperFrame, HEADER_LEN};

/// AARQ, LN, no security, conformance 0x001E1D, max PDU 0xFFFF (REFERENCE.md section 1, from
/// u9n/dlms-cosem tests/test_asce/test_aarq.py).
const AARQ_PUBLIC: &str = "601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF";
const EXCEPTION_RESPONSE: u8 = 0xD8;
const AARE: u8 = 0x61;
const GET_RESPONSE: u8 = 0xC4;
const SET_RESPONSE: u8 = 0xC5;

/// What came back for a frame.
#[derive(Debug, PartialEq)]
enum Reply {
    Frame(WrapperFrame),
    Closed,
    Silent,
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    // A meter that refuses the connection may have reset it already: options may fail then.
    stream.set_nodelay(true).ok();
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok();
    stream
}

fn send(stream: &mut TcpStream, apdu: &[u8]) {
    stream
        .write_all(&WrapperFrame::new(16, 1, apdu.to_vec()).to_bytes())
        .unwrap();
}

fn recv(stream: &mut TcpStream) -> Reply {
    let mut header = [0u8; HEADER_LEN];
    match stream.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            return Reply::Silent
        }
        Err(_) => return Reply::Closed, // EOF or reset
    }
    let length = u16::from_be_bytes([header[6], header[7]]) as usize;
    let mut bytes = header.to_vec();
    bytes.resize(HEADER_LEN + length, 0);
    match stream.read_exact(&mut bytes[HEADER_LEN..]) {
        Ok(()) => Reply::Frame(WrapperFrame::from_bytes(&bytes).expect("a well-formed reply")),
        Err(_) => Reply::Closed,
    }
}

/// Associates as the public client; panics unless the AARE accepts.
fn associate(stream: &mut TcpStream) {
    send(stream, &hex::decode(AARQ_PUBLIC).unwrap());
    match recv(stream) {
        // result is the A2 03 02 01 r element after the application context name
        Reply::Frame(f)
            if f.apdu[0] == AARE && f.apdu.windows(5).any(|w| w == [0xA2, 3, 2, 1, 0]) => {}
        other => panic!("association refused: {other:?}"),
    }
}

/// The meter still serves a complete read on a fresh connection.
fn assert_serves(addr: SocketAddr) {
    stdout_of(&read(addr, &["--obis", "0.0.42.0.0.255", "--timeout", "3"]));
}

fn start(test: u8, profile: Option<&str>) -> (Fleet, SocketAddr, Option<tempfile::TempDir>) {
    start_n(test, 3, profile)
}

fn start_n(
    test: u8,
    count: u32,
    profile: Option<&str>,
) -> (Fleet, SocketAddr, Option<tempfile::TempDir>) {
    let base = meter_base(test);
    let mut args = vec![
        "--count".to_string(),
        count.to_string(),
        "--listen".into(),
        base.to_string(),
    ];
    let dir = profile.map(|text| {
        let dir = temp_dir();
        let path = write_file(dir.path(), "robust.toml", text);
        args.extend(["--profile".into(), path_str(&path)]);
        dir
    });
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (Fleet::start(&args, None), base, dir)
}

#[test]
fn answers_malformed_apdus_with_an_exception_and_keeps_serving() {
    let (fleet, meter, _) = start(21, None);
    // (what, associate first, APDU, acceptable first bytes of the answer)
    let table: &[(&str, bool, &str, &[u8])] = &[
        ("an empty APDU", false, "", &[EXCEPTION_RESPONSE]),
        (
            "a GET before the association",
            false,
            "C001C1000800000100 00FF0200",
            &[EXCEPTION_RESPONSE],
        ),
        ("an AARQ cut short", false, "6005A1030601", &[AARE]),
        (
            "an AARQ whose length runs past its end",
            false,
            "607FA109060760857405080101",
            &[AARE],
        ),
        ("a truncated GET", true, "C001", &[EXCEPTION_RESPONSE]),
        (
            "an unknown service tag",
            true,
            "4200",
            &[EXCEPTION_RESPONSE],
        ),
        (
            "a selective access that is no descriptor",
            true,
            "C001C10007010063010 0FF0201010201FF",
            &[GET_RESPONSE, EXCEPTION_RESPONSE],
        ),
        (
            "a ciphered APDU in a plain association",
            true,
            "C8053000000001",
            &[EXCEPTION_RESPONSE],
        ),
        (
            "an RLRQ with a broken length",
            true,
            "621080",
            &[EXCEPTION_RESPONSE],
        ),
        (
            "an octet-string announcing 4 GB",
            true,
            "C101C10001 00002A0000FF 0200 0984FFFFFFFF",
            &[SET_RESPONSE, EXCEPTION_RESPONSE],
        ),
        (
            "structures nested 500 deep",
            true,
            &format!("C101C1000100002A0000FF0200{}", "0201".repeat(500)),
            &[SET_RESPONSE, EXCEPTION_RESPONSE],
        ),
        (
            "a GET-Next with no block transfer going on",
            true,
            "C002C100000002",
            &[GET_RESPONSE, EXCEPTION_RESPONSE],
        ),
    ];
    for (what, associated, apdu, expected) in table {
        let apdu = hex::decode(&apdu.replace(' ', "")).unwrap();
        let mut stream = connect(meter);
        if *associated {
            associate(&mut stream);
        }
        send(&mut stream, &apdu);
        match recv(&mut stream) {
            Reply::Frame(f) => {
                assert!(
                    expected.contains(&f.apdu[0]),
                    "{what}: answered {:02X?}",
                    f.apdu
                );
                assert_eq!((f.source, f.destination), (1, 16), "{what}");
            }
            other => panic!("{what}: {other:?} instead of an answer"),
        }
        // The same connection still works after an exception.
        if *associated {
            send(
                &mut stream,
                &hex::decode("C001C1000100002A0000FF0200").unwrap(),
            );
            assert!(
                matches!(recv(&mut stream), Reply::Frame(f) if f.apdu[0] == GET_RESPONSE),
                "{what}: the association broke"
            );
        }
        assert_serves(meter);
    }
    assert!(alive(fleet.pid()));
}

#[test]
fn closes_a_connection_with_a_broken_wrapper_and_keeps_serving() {
    let (fleet, meter, _) = start(22, None);
    let table: &[(&str, &[u8])] = &[
        ("wrapper version 2", &[0, 2, 0, 16, 0, 1, 0, 1, 0x60]),
        (
            "an APDU longer than the meter's PDU",
            &[0, 1, 0, 16, 0, 1, 0xFF, 0xFF],
        ),
        (
            "HTTP instead of DLMS",
            b"GET / HTTP/1.1\r\nHost: meter\r\n\r\n",
        ),
    ];
    for (what, bytes) in table {
        let mut stream = connect(meter);
        stream.write_all(bytes).unwrap();
        let started = Instant::now();
        assert_eq!(recv(&mut stream), Reply::Closed, "{what}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{what}: closed only at the idle timeout"
        );
        assert_serves(meter);
    }
    // A frame for a logical device the meter does not host gets no answer (wrapper profile),
    // and the connection goes on.
    let mut stream = connect(meter);
    stream
        .write_all(&WrapperFrame::new(16, 0x55, hex::decode(AARQ_PUBLIC).unwrap()).to_bytes())
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert_eq!(recv(&mut stream), Reply::Silent);
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    associate(&mut stream);
    assert!(alive(fleet.pid()));
}

#[test]
fn survives_random_frames_from_many_connections() {
    let (fleet, meter, _) = start(23, None);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
    // Tags the meter dispatches on, so random tails reach the decoders behind them.
    let tags = [
        0x60, 0x62, 0xC0, 0xC1, 0xC3, 0xC8, 0xCB, 0xDB, 0xE0, 0x01, 0x0F, 0xFF,
    ];
    for round in 0..150 {
        let mut stream = connect(meter);
        if round % 2 == 0 {
            associate(&mut stream);
        }
        let mut sent = Vec::new();
        for _ in 0..rng.gen_range(1..4) {
            let mut apdu = vec![tags[rng.gen_range(0..tags.len())]];
            let len = rng.gen_range(0..120);
            apdu.extend((0..len).map(|_| rng.gen::<u8>()));
            sent.extend(WrapperFrame::new(16, 1, apdu).to_bytes());
        }
        if round % 5 == 0 {
            sent.extend((0..rng.gen_range(1..40)).map(|_| rng.gen::<u8>())); // raw noise
        }
        stream.write_all(&sent).ok();
        stream.shutdown(std::net::Shutdown::Write).ok();
        // Whatever comes back is well-formed frames, then the meter closes.
        loop {
            match recv(&mut stream) {
                Reply::Frame(_) => {}
                Reply::Closed => break,
                Reply::Silent => panic!("round {round}: the meter neither answered nor closed"),
            }
        }
    }
    assert!(alive(fleet.pid()));
    assert_serves(meter);
}

#[test]
fn closes_idle_and_half_open_connections_after_the_profile_timeout() {
    let profile = profile_with("basic", &[("idle_timeout_s", "1")]);
    let (fleet, meter, _dir) = start(24, Some(&profile));
    let closed_after = |stream: &mut TcpStream| {
        let started = Instant::now();
        assert_eq!(recv(stream), Reply::Closed);
        started.elapsed()
    };
    // Connected and silent.
    let mut silent = connect(meter);
    let took = closed_after(&mut silent);
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // Associated, then the client vanished without closing (half-open from the meter's side).
    let mut vanished = connect(meter);
    associate(&mut vanished);
    let took = closed_after(&mut vanished);
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // A frame trickled a byte at a time never completes: bytes alone do not keep it open.
    let mut trickle = connect(meter);
    trickle
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    trickle.write_all(&[0, 1, 0, 16, 0, 1, 0, 100]).unwrap();
    let started = Instant::now();
    let mut probe = [0u8; 1];
    let closed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the trickle kept the connection open"
        );
        if trickle.write_all(&[0x5A]).is_err() {
            break started.elapsed();
        }
        match trickle.read(&mut probe) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            _ => break started.elapsed(), // EOF, reset, or an answer to half a frame
        }
    };
    assert!(
        closed < Duration::from_millis(2500),
        "the trickle kept it open for {closed:?}"
    );
    assert!(alive(fleet.pid()));
    assert_serves(meter);
}

#[test]
fn a_huge_announced_length_cannot_make_it_allocate() {
    // Room for 300 connections at once: 10 meters taking up to 64 each.
    let profile = profile_with("basic", &[("max_associations", "64")]);
    let (fleet, base, _dir) = start_n(25, 10, Some(&profile));
    let mut streams: Vec<TcpStream> = (0..300)
        .map(|i| connect(meter_addr(base, i % 10)))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let heap_before = vm_kib(fleet.pid(), "VmData:");
    // Each client announces a 65,535-byte APDU, more than the profile's PDU, and sends the
    // start of a body.
    for s in &mut streams {
        // The meter may already have closed: a failed write is fine.
        s.write_all(&[0, 1, 0, 16, 0, 1, 0xFF, 0xFF]).ok();
        s.write_all(&[0x60; 512]).ok();
    }
    std::thread::sleep(Duration::from_millis(300));
    // Reserved memory counts here even before it is touched: 300 buffers of 64 KiB are 19 MiB.
    let grown = vm_kib(fleet.pid(), "VmData:").saturating_sub(heap_before);
    assert!(grown < 4 * 1024, "the heap grew by {grown} KiB");
    for (i, s) in streams.iter_mut().enumerate() {
        assert_eq!(recv(s), Reply::Closed, "connection {i} was not refused");
    }
    assert_serves(base);
}

#[test]
fn a_profile_limits_concurrent_associations() {
    let profile = profile_with("basic", &[("max_associations", "2")]);
    let (fleet, meter, _dir) = start(26, Some(&profile));
    let mut first = connect(meter);
    associate(&mut first);
    let mut second = connect(meter);
    associate(&mut second);
    // The third connection is refused at once: the meter resets it.
    let mut third = connect(meter);
    third
        .write_all(&WrapperFrame::new(16, 1, hex::decode(AARQ_PUBLIC).unwrap()).to_bytes())
        .ok();
    assert_eq!(recv(&mut third), Reply::Closed);
    // Another meter of the fleet has its own budget.
    assert_serves(meter_addr(meter, 1));
    // Closing one makes room again.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut again = connect(meter);
        send(&mut again, &hex::decode(AARQ_PUBLIC).unwrap());
        match recv(&mut again) {
            Reply::Frame(f) if f.apdu[0] == AARE => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => panic!("no room after a connection closed: {other:?}"),
        }
    }
    drop(second);
    assert!(alive(fleet.pid()));
}

/// A `Vm*` field of /proc/PID/status, in KiB.
fn vm_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}
