//! Ground truth: from the fault timeline, which meters were truly out when, why, and which
//! readings they kept. The scorecard holds the head-end's outage log against it.
//!
//! Rules, per fault: a fault makes a *true outage* of each meter it bites when it spans at least
//! one whole service window (some interval's window `[capture, capture + window)` lies inside
//! it): no head-end can read that interval on time. Shorter faults, lossy links and marginal
//! forecasts are *disturbances*: an outage the head-end opens inside one is neither missed nor
//! a false alarm. Faults that a reset cures (no data session, stale session) last until the
//! head-end cures them. Only a power loss costs rows on the meter (it captures nothing while
//! unpowered); everything else can be backfilled once the meter is reachable again.

use std::time::Duration;

use crate::headend::diagnosis::RootCause;
use crate::time::Timestamp;

use super::fault::PlannedFault;

/// One meter truly out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrueOutage {
    pub meter: u32,
    pub cause: RootCause,
    pub start: Timestamp,
    /// `None`: until the end of the run, or (when `cured_by_reset`) until the head-end cures it.
    pub end: Option<Timestamp>,
    /// Index of the fault in the timeline.
    pub fault: usize,
    /// Whether the meter keeps its rows through it (backfill can recover them).
    pub data_kept: bool,
    pub cured_by_reset: bool,
}

/// A fault too short or too mild to cost a reading for sure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disturbance {
    pub meter: u32,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub fault: usize,
}

/// What the scorecard expects of one interval of one meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Stored by the end of the run, on time or backfilled.
    Stored,
    /// The meter never captured it (it had no power).
    LostOnMeter,
    /// Out of reach until the end of the run (a fault that outlasts it).
    OutOfReach,
}

/// The truth of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundTruth {
    pub start: Timestamp,
    pub end: Timestamp,
    pub cycle: Duration,
    pub window: Duration,
    /// Sorted by (meter, start).
    pub outages: Vec<TrueOutage>,
    pub disturbances: Vec<Disturbance>,
}

/// How long a meter takes to be readable again after a fault ends (attach, session, RADIUS),
/// with room for the head-end's next cycle and backfill.
pub const RECOVERY: Duration = Duration::from_secs(1800);

impl GroundTruth {
    /// Derives the truth from the resolved timeline; `wake_up(m)` says whether meter `m` sets up
    /// a data session for each read.
    pub fn derive(
        faults: &[PlannedFault],
        wake_up: impl Fn(u32) -> bool,
        start: Timestamp,
        end: Timestamp,
        cycle: Duration,
        window: Duration,
    ) -> GroundTruth {
        let mut truth = GroundTruth {
            start,
            end,
            cycle,
            window,
            outages: Vec::new(),
            disturbances: Vec::new(),
        };
        for (i, pf) in faults.iter().enumerate() {
            let f = &pf.fault;
            for &meter in &pf.meters {
                if f.kind.needs_session_setup() && !wake_up(meter) {
                    continue; // its session stays up: the fault never reaches it
                }
                let cause = f.kind.true_cause();
                let lasts = f.kind.cured_by_reset() || truth.spans_a_window(f.at, f.until);
                match cause {
                    Some(cause) if lasts => truth.outages.push(TrueOutage {
                        meter,
                        cause,
                        start: f.at,
                        end: f.until,
                        fault: i,
                        data_kept: f.kind.keeps_data(),
                        cured_by_reset: f.kind.cured_by_reset(),
                    }),
                    _ => truth.disturbances.push(Disturbance {
                        meter,
                        start: f.at,
                        end: f.until,
                        fault: i,
                    }),
                }
            }
        }
        truth.outages.sort_by_key(|o| (o.meter, o.start));
        truth.disturbances.sort_by_key(|d| (d.meter, d.start));
        truth
    }

    /// Whether some interval's whole service window lies in `[from, until)`.
    fn spans_a_window(&self, from: Timestamp, until: Option<Timestamp>) -> bool {
        let until = until.unwrap_or(self.end).min(self.end);
        let first = self.first_capture_at_or_after(from);
        first + self.window <= until
    }

    fn first_capture_at_or_after(&self, t: Timestamp) -> Timestamp {
        let floor = t.floor(self.cycle);
        if floor == t {
            t
        } else {
            floor + self.cycle
        }
    }

    /// The capture times (interval ends) the head-end must have stored by the end of the run:
    /// after the start, with their window closed before the end.
    pub fn captures(&self) -> impl Iterator<Item = Timestamp> + '_ {
        let first = self.first_capture_at_or_after(self.start + Duration::from_millis(1));
        let step = self.cycle;
        std::iter::successors(Some(first), move |&c| Some(c + step))
            .take_while(move |&c| c + self.window <= self.end)
    }

    /// The true outages of one meter.
    pub fn outages_of(&self, meter: u32) -> &[TrueOutage] {
        let lo = self.outages.partition_point(|o| o.meter < meter);
        let hi = self.outages.partition_point(|o| o.meter <= meter);
        &self.outages[lo..hi]
    }

    /// The disturbances of one meter.
    pub fn disturbances_of(&self, meter: u32) -> &[Disturbance] {
        let lo = self.disturbances.partition_point(|o| o.meter < meter);
        let hi = self.disturbances.partition_point(|o| o.meter <= meter);
        &self.disturbances[lo..hi]
    }

    /// What the scorecard expects of interval `capture` of `meter`.
    pub fn expect(&self, meter: u32, capture: Timestamp) -> Expect {
        for o in self.outages_of(meter) {
            let inside = o.start <= capture && o.end.is_none_or(|e| capture < e);
            if !inside {
                continue;
            }
            if !o.data_kept {
                return Expect::LostOnMeter;
            }
            let reachable_again =
                o.cured_by_reset || o.end.is_some_and(|e| e + RECOVERY <= self.end);
            if !reachable_again {
                return Expect::OutOfReach;
            }
        }
        Expect::Stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::fault::{Fault, FaultKind, Targets};

    const H: u64 = 3600;

    fn at(h: f64) -> Timestamp {
        Timestamp::from_secs(1_795_651_200 + (h * H as f64) as u64) // 2026-11-26T00:00Z
    }

    fn planned(kind: FaultKind, from: f64, until: Option<f64>, meters: Vec<u32>) -> PlannedFault {
        PlannedFault {
            fault: Fault {
                kind,
                at: at(from),
                until: until.map(at),
                targets: Targets::Fleet,
                line: 1,
            },
            meters,
            cells: vec![],
        }
    }

    fn truth(faults: &[PlannedFault]) -> GroundTruth {
        let q = Duration::from_secs(900);
        GroundTruth::derive(faults, |m| m == 9, at(0.0), at(24.0), q, q)
    }

    #[test]
    fn a_power_loss_costs_rows_and_a_fault_shorter_than_a_window_is_a_disturbance() {
        let t = truth(&[
            planned(FaultKind::PowerLoss, 11.0, Some(13.5), vec![1]),
            planned(FaultKind::FirmwareHang, 5.0, Some(5.2), vec![2]),
        ]);
        assert_eq!(t.outages.len(), 1);
        assert_eq!(t.outages[0].cause, RootCause::DeviceDetached);
        assert_eq!(t.disturbances.len(), 1);
        assert_eq!(t.expect(1, at(11.0)), Expect::LostOnMeter);
        assert_eq!(t.expect(1, at(13.5)), Expect::Stored);
        assert_eq!(t.expect(2, at(5.0)), Expect::Stored);
    }

    #[test]
    fn session_faults_bite_only_meters_that_set_up_sessions() {
        let t = truth(&[planned(
            FaultKind::CredentialChange {
                by: "j.doe".into(),
                reverted_by: "j.doe".into(),
            },
            1.97,
            Some(9.0),
            vec![8, 9],
        )]);
        assert_eq!(t.outages.len(), 1);
        assert_eq!(t.outages[0].meter, 9);
        assert_eq!(t.outages[0].cause, RootCause::AaaReject);
    }

    #[test]
    fn a_fault_that_outlasts_the_run_puts_its_readings_out_of_reach() {
        let t = truth(&[
            planned(FaultKind::SimDeactivated, 20.0, None, vec![3]),
            planned(FaultKind::NoDataSession, 20.0, None, vec![4]),
        ]);
        assert_eq!(t.expect(3, at(21.0)), Expect::OutOfReach);
        assert_eq!(
            t.expect(4, at(21.0)),
            Expect::Stored,
            "the head-end cures it"
        );
        assert_eq!(t.captures().count(), 95);
    }
}
