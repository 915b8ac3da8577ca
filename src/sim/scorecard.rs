//! The scorecard: the head-end's outage log held against the ground truth of the run. True
//! outages detected or missed, false alarms, root-cause accuracy with a confusion matrix,
//! detection delay and time to recover, readings completeness after backfill, wasted actions,
//! operator calls, and SLA figures.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{RunStats, SimOutcome};
use crate::headend::diagnosis::RootCause;
use crate::headend::outage::{ActionKind, Outage};
use crate::headend::outage_log::sla_verdict;
use crate::meter::manifest::{meter_id, meter_index};
use crate::scenario::truth::{Expect, GroundTruth, TrueOutage};
use crate::time::Timestamp;

/// The whole scorecard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scorecard {
    pub scenario: String,
    pub seed: u64,
    pub meters: usize,
    pub span_hours: f64,
    pub outages: OutageScore,
    pub diagnosis: DiagnosisScore,
    pub timing: TimingScore,
    pub readings: ReadingsScore,
    pub actions: ActionScore,
    pub sla: SlaScore,
    pub run: RunStats,
    /// One row per true outage.
    pub matches: Vec<Match>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutageScore {
    pub true_outages: usize,
    pub detected: usize,
    /// True outages the head-end never opened an outage for ("m000123 from 06:10").
    pub missed: Vec<String>,
    /// Detected outages with no fault behind them.
    pub false_alarms: Vec<String>,
    /// Outages the head-end opened inside a disturbance (a short fault, a lossy link).
    pub in_disturbances: usize,
    /// Outages in the head-end's log.
    pub logged: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiagnosisScore {
    pub correct: usize,
    pub total: usize,
    /// Correct / total, percent (100 when there is nothing to diagnose).
    pub accuracy_percent: f64,
    /// Per true cause: (outages, diagnosed right).
    pub per_cause: BTreeMap<String, (usize, usize)>,
    /// True cause → diagnosed cause (`UNDIAGNOSED`, `MISSED`) → count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Seconds: mean, median, max.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Spread {
    pub count: usize,
    pub mean_s: f64,
    pub median_s: f64,
    pub max_s: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(|a, b| a.total_cmp(b));
        Spread {
            count: v.len(),
            mean_s: v.iter().sum::<f64>() / v.len() as f64,
            median_s: v[v.len() / 2],
            max_s: v[v.len() - 1],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimingScore {
    /// From the fault to the head-end's detection.
    pub detection_delay: Spread,
    /// From the fault to data flowing again, for the outages that ended.
    pub time_to_recover: Spread,
    /// True outages still open in the log at the end of the run.
    pub not_recovered: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadingsScore {
    /// Intervals the meters kept and that were reachable by the end of the run.
    pub expected: u64,
    pub stored: u64,
    pub completeness_percent: f64,
    /// Intervals the meters never captured (no power).
    pub lost_on_meter: u64,
    /// Intervals behind a fault that outlasts the run.
    pub out_of_reach: u64,
    pub on_time: u64,
    pub backfilled: u64,
    /// Readings whose values differ from the meter's load model.
    pub wrong_values: u64,
    /// A few missing intervals ("m000123 06:15").
    pub missing_examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionScore {
    pub resets: usize,
    /// Resets during planned maintenance or for a cause no reset cures.
    pub wasted: Vec<String>,
    pub backfills: usize,
    pub escalations: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlaScore {
    /// The operator's contracted availability per meter, percent.
    pub contract_percent: f64,
    /// Operator-caused unavailability (planned maintenance excluded, as contracts do).
    pub mean_availability_percent: f64,
    pub min_availability_percent: f64,
    pub meters_below_contract: usize,
    pub cells: Vec<CellSla>,
    pub setup_attempts: u64,
    pub setup_successes: u64,
    pub setup_success_percent: Option<f64>,
    /// Per SLA class of the outage log: (incidents, response met, MTTR met).
    pub incidents: BTreeMap<String, (usize, usize, usize)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellSla {
    pub cell: String,
    pub availability_percent: f64,
    pub below_contract: bool,
    pub setup_attempts: u32,
    pub setup_successes: u32,
}

/// One true outage and what the head-end made of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Match {
    pub meter: String,
    pub cause: RootCause,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    /// The head-end's outage id, if detected.
    pub outage: Option<u64>,
    pub diagnosed: Option<RootCause>,
    pub detected: Option<Timestamp>,
    pub recovered: Option<Timestamp>,
}

/// Causes the operator answers for under the SLA (planned maintenance is excluded).
fn operator_caused(c: RootCause) -> bool {
    matches!(
        c,
        RootCause::RadioFailure
            | RootCause::AreaDegraded
            | RootCause::NoDataSession
            | RootCause::StaleSession
    )
}

/// A cause's code, or UNDIAGNOSED for an outage never diagnosed.
pub(super) fn name(c: Option<RootCause>) -> String {
    c.map_or("UNDIAGNOSED", RootCause::code).to_string()
}

/// Scores a run.
pub fn score(out: &SimOutcome) -> Scorecard {
    let truth = &out.plan.truth;
    let clock = out.clock();
    let by_meter = outages_by_meter(&out.outages, out.meters.len());
    let mut matches = Vec::new();
    let mut explained = vec![false; out.outages.len()];
    let mut in_disturbances = 0;
    for (m, logged) in by_meter.iter().enumerate() {
        let mine = truth.outages_of(m as u32);
        for (i, t) in mine.iter().enumerate() {
            // A fault the head-end cures ends, at the latest, where the meter's next one starts.
            let until = t
                .end
                .or(mine.get(i + 1).map(|n| n.start))
                .unwrap_or(truth.end);
            let hits: Vec<usize> = logged
                .iter()
                .copied()
                .filter(|&o| overlaps(&out.outages[o], t.start, until, truth))
                .collect();
            for &o in &hits {
                explained[o] = true;
            }
            matches.push(matched(&out.outages, t, &hits));
        }
        for &o in logged {
            if explained[o] {
                continue;
            }
            let d = &out.outages[o];
            let inside = truth
                .disturbances_of(m as u32)
                .iter()
                .any(|x| overlaps(d, x.start, x.end.unwrap_or(truth.end), truth));
            if inside {
                explained[o] = true;
                in_disturbances += 1;
            }
        }
    }
    let false_alarms = out
        .outages
        .iter()
        .zip(&explained)
        .filter(|(_, e)| !**e)
        .map(|(o, _)| {
            format!(
                "#{} {} from {} ({})",
                o.id,
                o.meter,
                clock.format(o.start),
                name(o.cause)
            )
        })
        .collect();
    let missed = matches
        .iter()
        .filter(|m| m.outage.is_none())
        .map(|m| {
            format!(
                "{} from {} ({})",
                m.meter,
                clock.format(m.start),
                name(Some(m.cause))
            )
        })
        .collect();
    let outages = OutageScore {
        true_outages: matches.len(),
        detected: matches.iter().filter(|m| m.outage.is_some()).count(),
        missed,
        false_alarms,
        in_disturbances,
        logged: out.outages.len(),
    };
    Scorecard {
        scenario: out.scenario.name.clone(),
        seed: out.seed,
        meters: out.meters.len(),
        span_hours: out.scenario.span.as_secs_f64() / 3600.0,
        diagnosis: diagnosis(&matches),
        timing: timing(&matches),
        readings: readings(out),
        actions: actions(out, &by_meter),
        sla: sla(out, &matches),
        outages,
        run: out.stats.clone(),
        matches,
    }
}

fn outages_by_meter(outages: &[Outage], meters: usize) -> Vec<Vec<usize>> {
    let mut by = vec![Vec::new(); meters];
    for (i, o) in outages.iter().enumerate() {
        if let Some(m) = meter_index(&o.meter).filter(|&m| (m as usize) < meters) {
            by[m as usize].push(i);
        }
    }
    by
}

/// Whether a logged outage overlaps `[from, until)` widened by a cycle before and a window after
/// (the head-end sees an outage only from the first interval it misses).
fn overlaps(d: &Outage, from: Timestamp, until: Timestamp, truth: &GroundTruth) -> bool {
    let d_end = d.end.unwrap_or(truth.end);
    d.start < until + truth.window + truth.cycle && d_end > from - truth.cycle
}

fn matched(outages: &[Outage], t: &TrueOutage, hits: &[usize]) -> Match {
    let first = hits.first().map(|&o| &outages[o]);
    let diagnosed = hits.iter().find_map(|&o| outages[o].cause);
    let recovered = match hits.last() {
        Some(&o) => outages[o].end,
        None => None,
    };
    Match {
        meter: meter_id(t.meter),
        cause: t.cause,
        start: t.start,
        end: t.end,
        outage: first.map(|o| o.id),
        diagnosed,
        detected: first.map(|o| o.detected),
        recovered,
    }
}

fn diagnosis(matches: &[Match]) -> DiagnosisScore {
    let mut per_cause: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut correct = 0;
    for m in matches {
        let truth = name(Some(m.cause));
        let got = match (m.outage, m.diagnosed) {
            (None, _) => "MISSED".to_string(),
            (Some(_), d) => name(d),
        };
        let right = m.diagnosed == Some(m.cause) && m.outage.is_some();
        correct += usize::from(right);
        let e = per_cause.entry(truth.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(right);
        *confusion.entry(truth).or_default().entry(got).or_default() += 1;
    }
    DiagnosisScore {
        correct,
        total: matches.len(),
        accuracy_percent: percent(correct as u64, matches.len() as u64),
        per_cause,
        confusion,
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn timing(matches: &[Match]) -> TimingScore {
    let secs = |a: Timestamp, b: Timestamp| b.since(a).as_secs_f64();
    TimingScore {
        detection_delay: Spread::of(
            matches
                .iter()
                .filter_map(|m| Some(secs(m.start, m.detected?)))
                .collect(),
        ),
        time_to_recover: Spread::of(
            matches
                .iter()
                .filter_map(|m| Some(secs(m.start, m.recovered?)))
                .collect(),
        ),
        not_recovered: matches
            .iter()
            .filter(|m| m.outage.is_some() && m.recovered.is_none())
            .count(),
    }
}

fn readings(out: &SimOutcome) -> ReadingsScore {
    let truth = &out.plan.truth;
    let clock = out.clock();
    let captures: Vec<Timestamp> = truth.captures().collect();
    let (mut expected, mut stored, mut lost, mut out_of_reach) = (0, 0, 0, 0);
    let mut missing_examples = Vec::new();
    for m in 0..out.meters.len() as u32 {
        for &c in &captures {
            match truth.expect(m, c) {
                Expect::Stored => {
                    expected += 1;
                    if out.tally.stored(m, c) {
                        stored += 1;
                    } else if missing_examples.len() < 10 {
                        missing_examples.push(format!("{} {}", meter_id(m), clock.format(c)));
                    }
                }
                Expect::LostOnMeter => lost += 1,
                Expect::OutOfReach => out_of_reach += 1,
            }
        }
    }
    ReadingsScore {
        expected,
        stored,
        completeness_percent: percent(stored, expected),
        lost_on_meter: lost,
        out_of_reach,
        on_time: out.tally.on_time,
        backfilled: out.tally.backfilled,
        wrong_values: out.tally.wrong_values,
        missing_examples,
    }
}

fn actions(out: &SimOutcome, by_meter: &[Vec<usize>]) -> ActionScore {
    let truth = &out.plan.truth;
    let clock = out.clock();
    let mut score = ActionScore {
        resets: 0,
        wasted: Vec::new(),
        backfills: 0,
        escalations: 0,
    };
    for (m, logged) in by_meter.iter().enumerate() {
        for &o in logged {
            let outage = &out.outages[o];
            for a in &outage.actions {
                match a.kind {
                    ActionKind::Backfill => score.backfills += 1,
                    ActionKind::Escalate => score.escalations += 1,
                    ActionKind::ResetDataSession | ActionKind::CancelLocation => {
                        score.resets += 1;
                        let cause = truth
                            .outages_of(m as u32)
                            .iter()
                            .find(|t| {
                                t.start <= a.at && t.end.is_none_or(|e| a.at < e + truth.window)
                            })
                            .map(|t| t.cause);
                        let why = match cause {
                            Some(RootCause::PlannedMaintenance) => {
                                Some("during planned maintenance")
                            }
                            Some(c) if !c.cured_by_reset() => Some("for a cause no reset cures"),
                            Some(_) => None,
                            None => Some("with no fault behind the outage"),
                        };
                        if let Some(why) = why {
                            score.wasted.push(format!(
                                "#{} {} {:?} at {} {why} (truly {})",
                                outage.id,
                                outage.meter,
                                a.kind,
                                clock.format(a.at),
                                name(cause)
                            ));
                        }
                    }
                    ActionKind::WakeUp => {}
                }
            }
        }
    }
    score
}

fn sla(out: &SimOutcome, matches: &[Match]) -> SlaScore {
    let truth = &out.plan.truth;
    let span = truth.end.since(truth.start).as_secs_f64().max(1.0);
    let mut down = vec![0.0f64; out.meters.len()];
    for m in matches.iter().filter(|m| operator_caused(m.cause)) {
        let Some(i) = meter_index(&m.meter) else {
            continue;
        };
        // A fault a reset cures lasts until data flowed again.
        let end = m.end.or(m.recovered).unwrap_or(truth.end).min(truth.end);
        down[i as usize] += end.since(m.start).as_secs_f64();
    }
    let availability: Vec<f64> = down.iter().map(|d| 100.0 * (1.0 - d / span)).collect();
    let contract = out.scenario.policy.sla.availability_percent;
    let fleet = &out.plan.fleet;
    // One pass over the fleet; each cell sums its meters in fleet order.
    let mut per_cell = vec![(0.0_f64, 0_usize); fleet.cells.len()];
    for m in &fleet.meters {
        let (sum, n) = &mut per_cell[m.cell as usize];
        *sum += availability[m.index as usize];
        *n += 1;
    }
    let cells = fleet
        .cells
        .iter()
        .zip(&per_cell)
        .enumerate()
        .map(|(c, (cell, &(sum, n)))| {
            let a = sum / n.max(1) as f64;
            let kpi = out.cell_kpi.get(c).cloned().unwrap_or_default();
            CellSla {
                cell: cell.id.clone(),
                availability_percent: a,
                below_contract: a < contract,
                setup_attempts: kpi.attempts,
                setup_successes: kpi.successes,
            }
        })
        .collect::<Vec<_>>();
    let attempts: u64 = cells.iter().map(|c| c.setup_attempts as u64).sum();
    let successes: u64 = cells.iter().map(|c| c.setup_successes as u64).sum();
    let mut incidents: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for o in &out.outages {
        let Some(v) = sla_verdict(o, &out.scenario.policy.sla, truth.end) else {
            continue;
        };
        let e = incidents.entry(v.class).or_default();
        e.0 += 1;
        e.1 += usize::from(v.response_met == Some(true));
        e.2 += usize::from(v.repair_met == Some(true));
    }
    SlaScore {
        contract_percent: contract,
        mean_availability_percent: availability.iter().sum::<f64>()
            / availability.len().max(1) as f64,
        min_availability_percent: availability.iter().copied().fold(100.0, f64::min),
        meters_below_contract: availability.iter().filter(|a| **a < contract).count(),
        cells,
        setup_attempts: attempts,
        setup_successes: successes,
        setup_success_percent: (attempts > 0).then(|| percent(successes, attempts)),
        incidents,
    }
}

impl Scorecard {
    /// Whether the run meets the bar: every true outage detected and rightly
    /// diagnosed, every kept reading stored, no wasted reanimation, values as the meters hold.
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        for m in &self.outages.missed {
            f.push(format!("missed: {m}"));
        }
        for m in &self.matches {
            if m.outage.is_some() && m.diagnosed != Some(m.cause) {
                f.push(format!(
                    "{} from {}: diagnosed {}, truly {}",
                    m.meter,
                    m.start,
                    name(m.diagnosed),
                    name(Some(m.cause))
                ));
            }
        }
        if self.readings.stored < self.readings.expected {
            f.push(format!(
                "readings {:.3}% complete ({} of {}), missing e.g. {}",
                self.readings.completeness_percent,
                self.readings.stored,
                self.readings.expected,
                self.readings.missing_examples.join(", ")
            ));
        }
        for w in &self.actions.wasted {
            f.push(format!("wasted: {w}"));
        }
        if self.readings.wrong_values > 0 {
            f.push(format!(
                "{} readings differ from the meters' values",
                self.readings.wrong_values
            ));
        }
        for e in &self.run.fault_errors {
            f.push(format!("fault not applied: {e}"));
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_report_mean_median_and_max() {
        let s = Spread::of(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!(
            (s.count, s.mean_s, s.median_s, s.max_s),
            (4, 4.0, 3.0, 10.0)
        );
        assert_eq!(Spread::of(vec![]).count, 0);
    }

    #[test]
    fn names_causes_as_the_outage_log_does() {
        assert_eq!(name(Some(RootCause::AaaReject)), "AAA_REJECT");
        assert_eq!(name(None), "UNDIAGNOSED");
    }
}
