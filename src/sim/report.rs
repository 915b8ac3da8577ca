//! The run in words: the outage log in plain language (times in the scenario's clock, outages of
//! one cell with one cause and start grouped) and the scorecard as text or JSON.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::scorecard::Scorecard;
use crate::headend::outage::Outage;
use crate::headend::outage_log;
use crate::headend::policy::Sla;
use crate::scenario::clock::{format_duration, ScenarioClock};
use crate::time::Timestamp;

/// The outage log in plain language: each outage as the head-end's log writes it
/// ([`outage_log::render`]), except that the outages of one cell with one cause and one start
/// are summed up in one block with the first of them as the example.
pub fn outage_log(
    outages: &[Outage],
    clock: &ScenarioClock,
    sla: &Sla,
    end: Timestamp,
    cell_of: &dyn Fn(&str) -> String,
) -> String {
    let mut s = String::new();
    let sign = if clock.utc_offset_minutes < 0 {
        '-'
    } else {
        '+'
    };
    let off = clock.utc_offset_minutes.unsigned_abs();
    let _ = writeln!(
        s,
        "Outage log: {} outages; times in the scenario's clock (UTC{sign}{:02}:{:02})\n",
        outages.len(),
        off / 60,
        off % 60
    );
    if outages.is_empty() {
        s.push_str("No outages.\n");
        return s;
    }
    let mut groups: BTreeMap<(u64, String, String, String), Vec<&Outage>> = BTreeMap::new();
    for o in outages {
        let key = (
            o.start.as_millis(),
            cell_of(&o.meter),
            cause_name(o),
            o.sentence.clone(),
        );
        groups.entry(key).or_default().push(o);
    }
    let mut ordered: Vec<_> = groups.into_iter().collect();
    ordered.sort_by_key(|((start, ..), members)| (*start, members[0].id));
    let offset = clock.utc_offset_minutes;
    for ((_, cell, cause, _), members) in ordered {
        let first = members[0];
        if members.len() == 1 {
            s.push_str(&outage_log::render(
                std::slice::from_ref(first),
                sla,
                offset,
                end,
            ));
            continue;
        }
        let names: Vec<&str> = members.iter().take(3).map(|o| o.meter.as_str()).collect();
        let ended = if members.iter().all(|o| o.end.is_some()) {
            format!(
                "over {}",
                span(
                    members.iter().filter_map(|o| o.end.map(|e| e.as_millis())),
                    clock
                )
            )
        } else {
            format!(
                "{} still open",
                members.iter().filter(|o| o.end.is_none()).count()
            )
        };
        let missed: u32 = members.iter().map(|o| o.readings_missed).sum();
        let backfilled: u32 = members.iter().map(|o| o.readings_backfilled).sum();
        let _ = writeln!(
            s,
            "#{}..#{} {} meters of {cell} ({} and {} more) · {cause} · first missing reading {} · detected {} · {ended}",
            members.iter().map(|o| o.id).min().unwrap_or(0),
            members.iter().map(|o| o.id).max().unwrap_or(0),
            members.len(),
            names.join(", "),
            members.len() - names.len(),
            clock.format(first.start),
            span(members.iter().map(|o| o.detected.as_millis()), clock),
        );
        let _ = writeln!(
            s,
            "  readings: {missed} missed, {backfilled} recovered from the meters afterwards; the first of them:"
        );
        for line in outage_log::render(std::slice::from_ref(first), sla, offset, end).lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}

fn cause_name(o: &Outage) -> String {
    super::scorecard::name(o.cause)
}

/// "02:30" or "02:30 to 02:45".
fn span(times: impl Iterator<Item = u64>, clock: &ScenarioClock) -> String {
    let v: Vec<u64> = times.collect();
    let (Some(lo), Some(hi)) = (v.iter().min(), v.iter().max()) else {
        return "-".into();
    };
    let t = |ms| clock.format(Timestamp(ms));
    if t(*lo) == t(*hi) {
        t(*lo)
    } else {
        format!("{} to {}", t(*lo), t(*hi))
    }
}

fn round_minutes(d: Duration) -> Duration {
    Duration::from_secs((d.as_secs() + 30) / 60 * 60)
}

fn human(secs: f64) -> String {
    format_duration(round_minutes(Duration::from_secs_f64(secs.max(0.0))))
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The scorecard as text.
pub fn scorecard_text(c: &Scorecard) -> String {
    let mut s = String::new();
    let o = &c.outages;
    let _ = writeln!(
        s,
        "Scorecard: {}, seed {}, {} meters, {} h",
        c.scenario,
        c.seed,
        thousands(c.meters as u64),
        c.span_hours
    );
    let _ = writeln!(
        s,
        "  Outages      {} true, {} detected, {} missed, {} false alarms ({} more inside short disturbances); {} in the log",
        o.true_outages,
        o.detected,
        o.missed.len(),
        o.false_alarms.len(),
        o.in_disturbances,
        o.logged
    );
    for m in o.missed.iter().take(5) {
        let _ = writeln!(s, "               missed: {m}");
    }
    for f in o.false_alarms.iter().take(5) {
        let _ = writeln!(s, "               false alarm: {f}");
    }
    let d = &c.diagnosis;
    let _ = writeln!(
        s,
        "  Root cause   {} of {} right ({:.1}%)",
        d.correct, d.total, d.accuracy_percent
    );
    let per: Vec<String> = d
        .per_cause
        .iter()
        .map(|(cause, (n, right))| format!("{cause} {right}/{n}"))
        .collect();
    if !per.is_empty() {
        let _ = writeln!(s, "               {}", per.join(" · "));
    }
    let confused: Vec<String> = d
        .confusion
        .iter()
        .flat_map(|(t, row)| {
            row.iter()
                .filter(move |(got, _)| *got != t)
                .map(move |(got, n)| format!("{t} taken for {got}: {n}"))
        })
        .collect();
    let _ = writeln!(
        s,
        "  Confusion    {}",
        if confused.is_empty() {
            "none: every diagnosis matches its true cause".to_string()
        } else {
            confused.join(" · ")
        }
    );
    let t = &c.timing;
    let _ = writeln!(
        s,
        "  Detection    after {} on average (median {}, longest {})",
        human(t.detection_delay.mean_s),
        human(t.detection_delay.median_s),
        human(t.detection_delay.max_s)
    );
    let _ = writeln!(
        s,
        "  Recovery     data flowing again {} after the fault on average (median {}, longest {}); {} still open at the end",
        human(t.time_to_recover.mean_s),
        human(t.time_to_recover.median_s),
        human(t.time_to_recover.max_s),
        t.not_recovered
    );
    let r = &c.readings;
    let _ = writeln!(
        s,
        "  Readings     {} of {} kept by the meters are stored ({:.3}%): {} on time, {} backfilled",
        thousands(r.stored),
        thousands(r.expected),
        r.completeness_percent,
        thousands(r.on_time),
        thousands(r.backfilled)
    );
    let _ = writeln!(
        s,
        "               {} never captured (meters without power), {} out of reach at the end; {}",
        r.lost_on_meter,
        r.out_of_reach,
        if r.wrong_values == 0 {
            "every value equals the meter's".to_string()
        } else {
            format!("{} values differ from the meters'", r.wrong_values)
        }
    );
    if !r.missing_examples.is_empty() {
        let _ = writeln!(
            s,
            "               missing: {}",
            r.missing_examples.join(", ")
        );
    }
    let a = &c.actions;
    let _ = writeln!(
        s,
        "  Actions      {} resets ({} wasted), {} escalations, {} backfills",
        a.resets,
        a.wasted.len(),
        a.escalations,
        a.backfills
    );
    for w in a.wasted.iter().take(5) {
        let _ = writeln!(s, "               wasted: {w}");
    }
    let calls: Vec<String> = c
        .run
        .operator_calls
        .iter()
        .map(|(k, n)| format!("{k} {}", thousands(*n)))
        .collect();
    let _ = writeln!(
        s,
        "  Operator API {}{}",
        calls.join(" · "),
        if c.run.operator_errors > 0 {
            format!(" ({} refused or failed)", c.run.operator_errors)
        } else {
            String::new()
        }
    );
    let sla = &c.sla;
    let below: Vec<&str> = sla
        .cells
        .iter()
        .filter(|x| x.below_contract)
        .map(|x| x.cell.as_str())
        .collect();
    let _ = writeln!(
        s,
        "  SLA          operator availability {:.3}% on average, lowest {:.3}%, against {}% contracted: {} meters below{}",
        sla.mean_availability_percent,
        sla.min_availability_percent,
        sla.contract_percent,
        sla.meters_below_contract,
        if below.is_empty() {
            String::new()
        } else {
            format!(" (cells {})", below.join(", "))
        }
    );
    let _ = writeln!(
        s,
        "               session set-up success {} ({} of {} attempts)",
        sla.setup_success_percent
            .map_or("-".to_string(), |p| format!("{p:.2}%")),
        thousands(sla.setup_successes),
        thousands(sla.setup_attempts)
    );
    let incidents: Vec<String> = sla
        .incidents
        .iter()
        .map(|(class, (n, response, mttr))| {
            format!("{class} {n} (response met {response}, MTTR met {mttr})")
        })
        .collect();
    if !incidents.is_empty() {
        let _ = writeln!(s, "               incidents: {}", incidents.join(" · "));
    }
    let _ = writeln!(
        s,
        "  Run          {} events, {} reads ({} failed), {} frames",
        thousands(c.run.events),
        thousands(c.run.reads),
        thousands(c.run.reads - c.run.reads_ok),
        thousands(c.run.frames)
    );
    for e in &c.run.fault_errors {
        let _ = writeln!(s, "  Fault error  {e}");
    }
    s
}

/// The scorecard and the outage log as one JSON document.
pub fn json(card: &Scorecard, outages: &[Outage]) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "scorecard": card,
        "outages": outages,
    }))
    .expect("the report serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
