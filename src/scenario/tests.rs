use super::*;
use crate::headend::diagnosis::RootCause;

const MINIMAL: &str = r#"
[scenario]
name = "t"
start = "2026-11-26T00:00:00+01:00"
span = "24h"

[fleet]
meters = 40
cells = 4
profiles = { basic = 0.5, wakeup = 0.5 }
"#;

fn with_fault(fault: &str) -> String {
    format!("{MINIMAL}\n[[fault]]\n{fault}\n")
}

#[test]
fn every_shipped_scenario_parses_and_plans() {
    for (file, text) in SHIPPED {
        let s = Scenario::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        s.plan(s.seed).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_seed_story_tells_the_use_case() {
    let s = shipped("seed-story").unwrap();
    assert_eq!(s.clock.utc_offset_minutes, 60);
    assert_eq!(s.policy.utc_offset_minutes, 60);
    assert_eq!(s.clock.format(s.faults[0].at), "01:58");
    let plan = s.plan(s.seed).unwrap();
    assert_eq!(plan.fleet.meters.len(), 1000);
    let causes: Vec<RootCause> = plan.truth.outages.iter().map(|o| o.cause).collect();
    for cause in [
        RootCause::AaaReject,
        RootCause::PlannedMaintenance,
        RootCause::NoDataSession,
        RootCause::DeviceDetached,
        RootCause::AreaDegraded,
    ] {
        assert!(causes.contains(&cause), "{cause:?} in {causes:?}");
    }
    assert_eq!(
        causes
            .iter()
            .filter(|c| **c == RootCause::PlannedMaintenance)
            .count(),
        50,
        "every meter of the maintained cell"
    );
}

#[test]
fn a_minimal_scenario_takes_the_defaults() {
    let s = Scenario::parse("t.toml", MINIMAL).unwrap();
    assert_eq!(s.seed, 1);
    assert_eq!(s.policy.cycle_secs, 900);
    assert_eq!(s.span, Duration::from_secs(86_400));
    let plan = s.plan(7).unwrap();
    assert!(plan.truth.outages.is_empty());
    assert_eq!(plan.fleet.seed, 7);
}

#[test]
fn resolves_fractions_by_the_seed() {
    let text = with_fault("kind = \"power-loss\"\nfraction = 0.25\nprofile = \"basic\"\nat = \"10:00\"\nuntil = \"12:00\"");
    let s = Scenario::parse("t.toml", &text).unwrap();
    let a = s.plan(1).unwrap();
    let b = s.plan(2).unwrap();
    assert_eq!(a.faults[0].meters.len(), 5, "a quarter of 20 basic meters");
    assert!(a.faults[0]
        .meters
        .iter()
        .all(|&m| !a.fleet.is_wake_up(&a.fleet.meters[m as usize])));
    assert_ne!(a.faults[0].meters, b.faults[0].meters);
    assert_eq!(s.plan(1).unwrap().faults, a.faults);
}

/// Each bad file with the line and key its error must name and words it must say.
#[test]
fn rejects_bad_files_naming_file_line_key_and_what_is_allowed() {
    let table: Vec<(String, usize, &str, &str)> = vec![
        (
            MINIMAL.replace("span = \"24h\"", "span = \"24\""),
            5,
            "scenario.span",
            "digits with a unit",
        ),
        (
            MINIMAL.replace("meters = 40", "meters = 40\ncolour = 1"),
            9,
            "colour",
            "unknown field",
        ),
        (
            MINIMAL.replace("basic = 0.5", "basik = 0.5"),
            10,
            "fleet.profiles.basik",
            "basic, secure, wakeup",
        ),
        (
            with_fault("kind = \"meteor\"\nmeters = [\"m000001\"]\nat = \"01:00\""),
            13,
            "fault.kind",
            "credential-change, planned-maintenance",
        ),
        (
            with_fault("kind = \"power-loss\"\nmeters = [\"m000001\"]\nat = \"25:00\""),
            15,
            "fault.at",
            "\"HH:MM\"",
        ),
        (
            with_fault("kind = \"power-loss\"\nmeters = [\"m000099\"]\nat = \"01:00\""),
            12,
            "fault",
            "m000001 to m000040",
        ),
        (
            with_fault("kind = \"no-data-session\"\nmeters = [\"m000001\"]\nat = \"01:00\"\nuntil = \"02:00\""),
            12,
            "fault.until",
            "a reset or a power cycle cures it",
        ),
        (
            with_fault("kind = \"planned-maintenance\"\ncells = [\"cell-0001\"]\nat = \"01:00\""),
            12,
            "fault.until",
            "needs `until`",
        ),
        (
            with_fault("kind = \"cell-outage\"\nmeters = [\"m000001\"]\nat = \"01:00\""),
            12,
            "fault.meters",
            "one of `cells` or `count`",
        ),
        (
            with_fault("kind = \"credential-change\"\nmeters = [\"m000001\"]\nat = \"01:00\""),
            12,
            "fault.meters",
            "always-on meter",
        ),
        (
            with_fault("kind = \"degradation\"\ncells = [\"cell-0001\"]\nat = \"01:00\"\nuntil = \"02:00\"\nlevel = \"BAD\""),
            17,
            "fault.level",
            "\"NC\"",
        ),
        (
            format!(
                "{}\n[[fault]]\nkind = \"cell-outage\"\ncells = [\"cell-0001\"]\nat = \"02:00\"\nuntil = \"04:00\"",
                with_fault("kind = \"power-loss\"\nmeters = [\"m000001\"]\nat = \"01:00\"\nuntil = \"03:00\"")
            ),
            18,
            "fault.at",
            "must not overlap",
        ),
        (
            MINIMAL.replace("[fleet]", "[policy]\ncycle-secs = 7\n\n[fleet]"),
            7,
            "policy.cycle-secs",
            "must divide a day",
        ),
    ];
    let mut wrong = Vec::new();
    for (text, line, key, says) in table {
        let e = Scenario::parse("scenarios/x.toml", &text).unwrap_err();
        let shown = e.to_string();
        let ok = shown.starts_with("scenarios/x.toml:")
            && (e.line, e.key.as_str()) == (Some(line), key)
            && shown.contains(says);
        if !ok {
            wrong.push(format!(
                "expected line {line}, key {key}, saying {says}: {shown}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
