use super::*;

#[test]
fn a_quiet_fleet_is_read_completely() {
    let text = r#"
[scenario]
name = "quiet"
start = "2026-11-26T00:00:00+01:00"
span = "6h"
[fleet]
meters = 60
cells = 3
profiles = { basic = 0.5, secure = 0.3, wakeup = 0.2 }
"#;
    let s = Scenario::parse("q.toml", text).unwrap();
    let sim = in_process(&s, 1).unwrap();
    let out = sim.run(&mut |_| {});
    assert!(out.outages.is_empty(), "{:?}", out.outages);
    // Six hours of 60 meters: 24 intervals each, from the one captured at the start.
    assert_eq!(out.tally.on_time, 60 * 24);
    assert_eq!((out.tally.backfilled, out.tally.wrong_values), (0, 0));
    assert!(
        out.stats.operator_calls["wake-up-sms"] > 0,
        "wake-up meters were woken"
    );
}
