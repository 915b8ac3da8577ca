//! Issue #5 §1, wake-up mode, as real processes: on-demand meters stay silent until the
//! head-end's wake-up SMS (through the operator, its SMS reaching the fleet's control port)
//! makes them call the head-end's inbound listener; the head-end identifies each caller by its
//! pushed logical device name (TCP), or by the UDP push just before the call, and reads it over
//! that connection. Every interval of every meter ends up stored, read on time.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reanimator::headend::reading::ReadingSource;
use reanimator::store::Store;
use reanimator::time::Timestamp;

#[path = "support/process.rs"]
mod process;
use process::{bin, free_port, start_meters, start_operator};

/// How long a process may take to be ready.
const READY: Duration = Duration::from_secs(30);

const METERS: usize = 3;
const CYCLE_SECS: u64 = 10;

/// Meters of the shipped wake-up profile, captured every ten seconds, pushing over `transport`.
fn profile(dir: &Path, inbound: &str, transport: &str) -> String {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/wakeup.toml"))
            .unwrap();
    let text = shipped
        .replace(
            "retention_entries = 960",
            &format!("retention_entries = 960\ncapture_period_s = {CYCLE_SECS}"),
        )
        .replace("127.0.0.1:4060", inbound)
        .replace(
            "push_transport = \"tcp\"",
            &format!("push_transport = \"{transport}\""),
        );
    let path = dir.join("wakeup-fast.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn run_world(transport: &str, listen: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inbound = format!("127.0.0.1:{}", free_port());
    let profile = profile(d, &inbound, transport);
    let manifest = d.join("fleet.json");
    let count = METERS.to_string();
    let fleet_args = ["--profile", &profile, "--count", &count, "--listen", listen];
    let _meters = start_meters(&fleet_args, &manifest, None, READY);
    let (_operator, operator) = start_operator(&["--time-scale", "0.01"], &manifest, None, READY);
    let store = d.join("he.db");
    let config = d.join("headend.toml");
    std::fs::write(
        &config,
        format!(
            "[meters]\nmanifest = \"fleet.json\"\nprofile = \"{profile}\"\n\
             [operator]\nurl = \"http://{operator}\"\ntoken = \"secret\"\n\
             [listen]\ninbound = \"{inbound}\"\n[store]\nlocation = \"he.db\"\n\
             [timeouts]\nwake-up-ms = 4000\n\
             [policy]\ncycle-secs = {CYCLE_SECS}\nwindow-secs = {CYCLE_SECS}\nretry-backoff-secs = 1\n"
        ),
    )
    .unwrap();
    let started = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let out = Command::new(bin())
        .args(["headend", "--config"])
        .arg(&config)
        .args(["--run-for", "35"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let location = store.display().to_string();
    let per_meter: Vec<Vec<_>> = runtime.block_on(async {
        let store = Store::open(&location).await.unwrap();
        let mut all = Vec::new();
        for i in 1..=METERS {
            let id = format!("m{i:06}");
            all.push(
                store
                    .readings(&id, started, Timestamp::from_millis(u64::MAX / 4))
                    .await
                    .unwrap(),
            );
        }
        all
    });
    // The interval running when the head-end started may be read late; every later one on time.
    let first_full = Timestamp::from_millis(started.as_millis() + CYCLE_SECS * 1000);
    for (i, rows) in per_meter.iter().enumerate() {
        let later: Vec<_> = rows
            .iter()
            .filter(|r| r.reading.interval >= first_full)
            .collect();
        assert!(
            later.len() >= 2,
            "{transport}: meter {} has {rows:?}",
            i + 1
        );
        assert!(
            later.iter().all(|r| r.source == ReadingSource::OnTime),
            "{transport}: meter {} {later:?}",
            i + 1
        );
        let gaps = rows.windows(2).filter(|w| {
            w[1].reading.interval.as_millis() - w[0].reading.interval.as_millis()
                != CYCLE_SECS * 1000
        });
        assert_eq!(gaps.count(), 0, "{transport}: meter {} {rows:?}", i + 1);
    }
}

#[test]
fn woken_meters_pushing_over_tcp_are_read_on_their_own_connection() {
    run_world("tcp", "127.90.0.1:4059");
}

#[test]
fn woken_meters_pushing_over_udp_are_paired_with_their_call() {
    run_world("udp", "127.91.0.1:4059");
}
