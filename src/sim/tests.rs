use std::future::{ready, Future};

use super::*;
use crate::headend::fleet::MeterRef;
use crate::headend::operator_adapter::{CellOutlook, Gathered, OperatorAdapter};
use crate::operator::actions::Actor;
use crate::operator::ids::TenantId;
use crate::operator::network::SmsRequest;

struct Stub(Arc<Mutex<Network>>);

impl OperatorAdapter for Stub {
    fn gather(
        &self,
        _: &MeterRef,
        _: Timestamp,
    ) -> impl Future<Output = Result<Gathered, AdapterError>> + Send {
        ready(Err(AdapterError::Failed("stub".into())))
    }
    fn wake_up(
        &self,
        m: &MeterRef,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), AdapterError>> + Send {
        let actor = Actor {
            tenant: TenantId::new("utility").unwrap(),
            principal: "he".into(),
        };
        let req = SmsRequest {
            text: "WAKEUP".into(),
            validity: Some(Duration::from_secs(600)),
            reason: "read".into(),
        };
        let r = self.0.lock().unwrap().send_sms(
            &actor,
            &Iccid::new(m.iccid.clone()).unwrap(),
            &req,
            now,
        );
        ready(
            r.map(|_| ())
                .map_err(|e| AdapterError::Failed(e.to_string())),
        )
    }
    fn reset(
        &self,
        _: &MeterRef,
        _: ResetKind,
        _: &str,
        _: Timestamp,
    ) -> impl Future<Output = Result<String, AdapterError>> + Send {
        ready(Err(AdapterError::Failed("stub".into())))
    }
    fn outlook(
        &self,
        _: &[String],
        _: Timestamp,
        _: Timestamp,
    ) -> impl Future<Output = Result<Vec<CellOutlook>, AdapterError>> + Send {
        ready(Ok(vec![]))
    }
}

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
    let sim = Simulation::new(&s, 1, |net, _| Stub(net)).unwrap();
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
    let sim = Simulation::new(&s, 1, |net, _| Stub(net)).unwrap();
    eprintln!("built in {:?}", t.elapsed());
    let out = sim.run(&mut |_| {});
    let took = t.elapsed();
    eprintln!("{:?} events {} ({:.0}/s) reads {} on time {}", took, out.stats.events, out.stats.events as f64 / took.as_secs_f64(), out.stats.reads, out.tally.on_time);
}
