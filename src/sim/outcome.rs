//! What a run produced: the head-end's outage log, the counters, which readings reached the
//! store, the operator's set-up KPIs, and the plan the run followed.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::headend::fleet::MeterRef;
use crate::headend::outage::Outage;
use crate::scenario::{Plan, Scenario, ScenarioClock};
use crate::time::Timestamp;

/// Counters of one run.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunStats {
    /// Events processed: the queue's, the network's timer rounds and the head-end's.
    pub events: u64,
    pub reads: u64,
    pub reads_ok: u64,
    pub read_failures: BTreeMap<String, u64>,
    pub frames: u64,
    pub frame_bytes: u64,
    /// Frames the network did not carry (no session, stale session, TCP gave up).
    pub frames_dropped: u64,
    /// Operator API calls by kind.
    pub operator_calls: BTreeMap<String, u64>,
    pub operator_errors: u64,
    /// Faults the model refused to apply, in words.
    pub fault_errors: Vec<String>,
}

/// Which intervals reached the store, per meter, and whether their values were right.
#[derive(Debug, Clone)]
pub struct Tally {
    first_capture: Timestamp,
    cycle: Duration,
    words: usize,
    bits: Vec<u64>,
    pub on_time: u64,
    pub backfilled: u64,
    pub pushed: u64,
    /// Readings whose values differ from the meter's load model.
    pub wrong_values: u64,
    pub wrong_examples: Vec<String>,
}

impl Tally {
    pub(super) fn new(meters: usize, first: Timestamp, end: Timestamp, cycle: Duration) -> Tally {
        let n = (end.since(first).as_millis() / cycle.as_millis().max(1)) as usize + 2;
        let words = n.div_ceil(64);
        Tally {
            first_capture: first,
            cycle,
            words,
            bits: vec![0; words * meters],
            on_time: 0,
            backfilled: 0,
            pushed: 0,
            wrong_values: 0,
            wrong_examples: Vec::new(),
        }
    }

    fn slot(&self, capture: Timestamp) -> Option<usize> {
        if capture < self.first_capture {
            return None;
        }
        let i = (capture.since(self.first_capture).as_millis() / self.cycle.as_millis()) as usize;
        (i < self.words * 64).then_some(i)
    }

    pub(super) fn mark(&mut self, meter: u32, capture: Timestamp) {
        if let Some(i) = self.slot(capture) {
            self.bits[meter as usize * self.words + i / 64] |= 1 << (i % 64);
        }
    }

    /// Whether interval `capture` of `meter` reached the store.
    pub fn stored(&self, meter: u32, capture: Timestamp) -> bool {
        self.slot(capture)
            .is_some_and(|i| self.bits[meter as usize * self.words + i / 64] & (1 << (i % 64)) != 0)
    }
}

/// A session setup KPI over the run.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SetupKpi {
    pub attempts: u32,
    pub successes: u32,
}

/// Everything a run produced.
pub struct SimOutcome {
    pub scenario: Scenario,
    pub seed: u64,
    pub plan: Plan,
    /// The head-end's outage log, in opening order.
    pub outages: Vec<Outage>,
    pub stats: RunStats,
    pub tally: Tally,
    /// Session setup KPI per cell, in fleet cell order.
    pub cell_kpi: Vec<SetupKpi>,
    /// The head-end's meters, in fleet order.
    pub meters: Vec<MeterRef>,
}

impl SimOutcome {
    pub fn clock(&self) -> ScenarioClock {
        self.scenario.clock
    }
}
