//! `reanimator bench fleet` and `bench headend` run end to end on small fleets and print their
//! tables; the figures themselves are the benchmarks' business, not the tests'.

use std::process::Command;

#[path = "support/process.rs"]
mod process;
use process::printed;

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
    let text = printed(
        &out,
        &[
            "(a) memory per idle meter",
            "KiB/meter",
            "200 meters: ",
            "(b) read transactions",
            "APDU bytes request/response: ",
            "median of the rounds' ratios fleet/bare",
        ],
    );
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

fn bench_headend(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reanimator"))
        .args(["bench", "headend"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn prints_the_head_end_cycle_next_to_the_bare_baseline() {
    let x = 100 + (std::process::id() % 100);
    let out = bench_headend(&[
        "--meters",
        "40",
        "--listen",
        // Other tests' meters use port 4059.
        &format!("127.{x}.200.1:4161"),
        "--rounds",
        "1",
        "--concurrency",
        "8",
        "--seconds",
        "10",
    ]);
    let text = printed(
        &out,
        &[
            "40 meters in 1 processes, 8 reads in flight",
            "RSS MiB loaded/peak/end",
            " 40/40 ",
            "every meter's interval stored in every cycle (0 operator calls",
            "median head-end cycle ",
            "median of the rounds' ratios head-end/bare: ",
        ],
    );
    assert!(!text.contains("first bare error"), "{text}");
}

#[test]
fn rejects_a_head_end_bench_the_fleet_cannot_serve() {
    let table = [
        (vec!["--listen", "10.0.0.1:4059"], "not a loopback address"),
        (
            vec!["--profile", "wakeup"],
            "wake-up meters need an operator",
        ),
        (vec!["--concurrency", "0"], "--concurrency from 1 to 4096"),
    ];
    for (args, message) in table {
        let out = bench_headend(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(message), "{args:?}: {said}");
    }
}
