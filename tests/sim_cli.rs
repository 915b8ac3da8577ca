//! `reanimator sim` end to end on a small scenario file: the outage log and the scorecard on
//! stdout, the JSON and HTML reports and the store written; a bad file exits 2 naming its line.

use std::process::Command;

#[path = "support/process.rs"]
mod process;
use process::printed;

const SCENARIO: &str = r#"
[scenario]
name = "cli"
description = "Twenty meters for six hours; one loses power for ninety minutes."
start = "2026-11-26T00:00:00+01:00"
span = "6h"
seed = 3

[fleet]
meters = 20
cells = 2
profiles = { basic = 0.7, secure = 0.2, wakeup = 0.1 }

[[fault]]
kind = "power-loss"
meters = ["m000004"]
at = "01:58"
until = "03:30"
"#;

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reanimator"))
        .arg("sim")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn prints_the_log_and_the_scorecard_and_writes_the_reports_and_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cli.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let (json, html, store) = (
        dir.path().join("r.json"),
        dir.path().join("r.html"),
        dir.path().join("s.db"),
    );
    let out = sim(&[
        file.to_str().unwrap(),
        "--report",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    printed(
        &out,
        &[
            "scenario cli",
            "meter m000004 · DEVICE_DETACHED · first missing reading 2026-11-26 02:00",
            "Outages      1 true, 1 detected, 0 missed, 0 false alarms",
            "Root cause   1 of 1 right (100.0%)",
            "(100.000%)",
            "Store: ",
        ],
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["scorecard"]["outages"]["true_outages"], 1);
    assert_eq!(report["outages"][0]["cause"], "DEVICE_DETACHED");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"));
    assert!(!page.contains("<script"), "self-contained, no scripts");
    assert!(std::fs::metadata(&store).unwrap().len() > 0);
}

#[test]
fn rejects_a_bad_scenario_naming_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, SCENARIO.replace("\"power-loss\"", "\"power-cut\"")).unwrap();
    let out = sim(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:15: key `fault.kind`: `power-cut` is not a fault kind"),
        "{err}"
    );
    let out = sim(&["no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seed-story"));
}
