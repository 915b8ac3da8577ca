//! `reanimator bench fleet` runs end to end on a small fleet and prints both tables; the figures
//! themselves are the benchmark's business, not the test's.

use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reanimator"))
        .args(["bench", "fleet"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn prints_memory_bind_time_and_the_read_ratio() {
    let x = 150 + (std::process::id() % 50);
    let out = bench(&[
        "--meters",
        "200",
        "--listen",
        &format!("127.{x}.0.1:4059"),
        "--read-meters",
        "20",
        "--read-listen",
        &format!("127.{}.0.1:4059", x + 50),
        "--reads",
        "200",
        "--rounds",
        "2",
        "--concurrency",
        "8",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "(a) memory per idle meter",
        "KiB/meter",
        "200 meters: ",
        "(b) read transactions",
        "APDU bytes request/response: ",
        "median of the rounds' ratios fleet/bare",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    // Every transaction of both sides completed.
    assert!(!text.contains("first error"), "{text}");
    assert!(text.contains("fleet 400 reads"), "{text}");
    assert!(text.contains("bare 400 reads"), "{text}");
}

#[test]
fn rejects_addresses_off_loopback() {
    let out = bench(&["--listen", "10.0.0.1:4059"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
}
