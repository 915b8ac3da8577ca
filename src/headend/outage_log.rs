//! The outage log as an administrator reads it: one block per outage, plain language, times in
//! the utility's clock; and its SLA figures.

use std::fmt::Write;
use std::time::Duration;

use super::outage::Outage;
use super::policy::Sla;
use crate::serde_name::serde_name;
use crate::time::Timestamp;

/// Whether an outage met its SLA class's targets; `None` while not yet decidable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlaVerdict {
    pub class: String,
    pub response_met: Option<bool>,
    pub repair_met: Option<bool>,
}

/// Judges an outage against its class; `now` decides targets still running.
pub fn sla_verdict(o: &Outage, sla: &Sla, now: Timestamp) -> Option<SlaVerdict> {
    let class = sla
        .classes
        .iter()
        .find(|c| Some(&c.name) == o.sla_class.as_ref())?;
    let responded = o
        .actions
        .iter()
        .find(|a| a.ok && a.kind == super::outage::ActionKind::Escalate);
    let judge = |took: Option<Duration>, limit: u64, running: Duration| match took {
        Some(t) => Some(t.as_secs() <= limit),
        None if running.as_secs() > limit => Some(false),
        None => None,
    };
    Some(SlaVerdict {
        class: class.name.clone(),
        response_met: judge(
            responded.map(|a| a.at.since(o.detected)),
            class.response_secs,
            now.since(o.detected),
        ),
        repair_met: judge(o.time_to_recover(), class.mttr_secs, now.since(o.start)),
    })
}

/// The log in words.
pub fn render(outages: &[Outage], sla: &Sla, offset_minutes: i32, now: Timestamp) -> String {
    let mut out = String::new();
    for o in outages {
        render_one(&mut out, o, sla, offset_minutes, now);
    }
    if outages.is_empty() {
        out.push_str("No outages.\n");
    }
    out
}

fn render_one(out: &mut String, o: &Outage, sla: &Sla, offset: i32, now: Timestamp) {
    let at = |t: Timestamp| t.local_minute(offset);
    let cause = o.cause.map_or("DIAGNOSIS PENDING", |c| c.code());
    let state = match (o.end, o.time_to_recover()) {
        (Some(end), Some(took)) => format!("over at {} after {}", at(end), human(took)),
        _ => "OPEN".to_string(),
    };
    let _ = writeln!(
        out,
        "#{} meter {} · {cause} · first missing reading {} · detected {} · {state}",
        o.id,
        o.meter,
        at(o.start),
        at(o.detected)
    );
    let _ = writeln!(out, "  {}", o.sentence);
    let _ = writeln!(
        out,
        "  readings: {} missed, {} recovered from the meter afterwards",
        o.readings_missed, o.readings_backfilled
    );
    if let Some(v) = sla_verdict(o, sla, now) {
        let word = |m: Option<bool>| match m {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "running",
        };
        let _ = writeln!(
            out,
            "  SLA {}: response {}, repair {}",
            v.class,
            word(v.response_met),
            word(v.repair_met)
        );
    }
    for e in &o.evidence {
        let _ = writeln!(out, "  evidence {} {}: {}", at(e.at), e.source, e.line);
    }
    // Repeats of the same action with the same result (a wake-up each cycle) make one line.
    for run in o
        .actions
        .chunk_by(|x, y| x.kind == y.kind && x.result == y.result)
    {
        let (first, last) = (&run[0], &run[run.len() - 1]);
        let kind = serde_name(&first.kind);
        let when = match run.len() {
            1 => at(first.at),
            n => format!("{} to {} ({n} times)", at(first.at), at(last.at)),
        };
        let _ = writeln!(out, "  action {when} {kind}: {}", first.result);
    }
    out.push('\n');
}

/// `2 h 05 min`, `7 min`, `45 s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        _ => format!("{} h {:02} min", s / 3600, s / 60 % 60),
    }
}

/// The operator's availability for a meter over `[from, to)`: the share of time not covered by
/// outages the operator caused (network causes; not the utility's own, not the meter's).
pub fn operator_availability(outages: &[&Outage], from: Timestamp, to: Timestamp) -> f64 {
    use super::diagnosis::RootCause as C;
    let span = to.since(from).as_secs_f64();
    if span <= 0.0 {
        return 100.0;
    }
    let down: f64 = outages
        .iter()
        .filter(|o| {
            matches!(
                o.cause,
                Some(
                    C::NoDataSession
                        | C::StaleSession
                        | C::RadioFailure
                        | C::SilentTimeout
                        | C::AreaDegraded
                )
            )
        })
        .map(|o| {
            let start = o.start.max(from);
            let end = o.end.unwrap_or(to).min(to);
            end.since(start).as_secs_f64()
        })
        .sum();
    100.0 * (1.0 - down / span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headend::diagnosis::{Remedy, RootCause};
    use crate::headend::outage::{ActionKind, ActionRecord};

    const T0: Timestamp = Timestamp::from_secs(1_795_654_800); // 2026-11-26 01:00 UTC
    const MIN: Duration = Duration::from_secs(60);

    fn outage() -> Outage {
        Outage {
            id: 7,
            meter: "M000042".into(),
            start: T0 + 60 * MIN,
            detected: T0 + 90 * MIN,
            cause: Some(RootCause::AaaReject),
            remedy: Some(Remedy::Report),
            sentence: "Since 02:00 the utility's RADIUS server has refused this meter's SIM."
                .into(),
            evidence: Vec::new(),
            actions: vec![ActionRecord {
                at: T0 + 95 * MIN,
                kind: ActionKind::Escalate,
                ok: true,
                result: "diagnosed".into(),
            }],
            end: None,
            readings_missed: 3,
            readings_backfilled: 0,
            sla_class: Some("single-meter".into()),
        }
    }

    #[test]
    fn writes_times_in_the_utilitys_clock_and_the_sla_state() {
        let text = render(&[outage()], &Sla::default(), 60, T0 + 120 * MIN);
        assert!(
            text.contains("first missing reading 2026-11-26 03:00"),
            "{text}"
        );
        assert!(
            text.contains("AAA_REJECT") && text.contains("OPEN"),
            "{text}"
        );
        assert!(
            text.contains("SLA single-meter: response met, repair running"),
            "{text}"
        );
    }

    #[test]
    fn misses_the_repair_target_once_it_has_passed() {
        let mut o = outage();
        o.end = Some(o.start + Duration::from_secs(86_401));
        let v = sla_verdict(&o, &Sla::default(), o.end.unwrap()).unwrap();
        assert_eq!((v.response_met, v.repair_met), (Some(true), Some(false)));
    }

    #[test]
    fn counts_only_the_operators_causes_against_its_availability() {
        let mut network = outage();
        network.cause = Some(RootCause::NoDataSession);
        network.end = Some(network.start + 6 * MIN);
        let credential = outage();
        let day = Duration::from_secs(86_400);
        let a = operator_availability(&[&network, &credential], T0, T0 + day);
        assert!((a - (100.0 - 100.0 * 360.0 / 86_400.0)).abs() < 1e-9, "{a}");
    }
}
