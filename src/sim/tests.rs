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
    eprintln!("{:?}", out.stats);
    eprintln!(
        "on time {} backfilled {} wrong {} {:?}",
        out.tally.on_time, out.tally.backfilled, out.tally.wrong_values, out.tally.wrong_examples
    );
    for o in &out.outages {
        eprintln!("{o:?}");
    }
    assert!(out.outages.is_empty());
}

#[test]
#[ignore]
fn perf_probe() {
    let text = r#"
[scenario]
name = "bench"
start = "2026-11-26T00:00:00+01:00"
span = "24h"
[fleet]
meters = 10000
cells = 100
profiles = { basic = 0.85, secure = 0.1, wakeup = 0.05 }
"#;
    let s = Scenario::parse("b.toml", text).unwrap();
    let t = std::time::Instant::now();
    let sim = in_process(&s, 1).unwrap();
    eprintln!("built in {:?}", t.elapsed());
    let out = sim.run(&mut |_| {});
    let took = t.elapsed();
    eprintln!(
        "{:?} events {} ({:.0}/s) reads {} on time {}",
        took,
        out.stats.events,
        out.stats.events as f64 / took.as_secs_f64(),
        out.stats.reads,
        out.tally.on_time
    );
}
