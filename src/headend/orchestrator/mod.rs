//! The head-end's policy as a sans-I/O state machine: read cycles and service windows, retries
//! with backoff, escalation after missed cycles, diagnosis, rate-limited remedies, outages and
//! backfill. No sockets, no clock, no randomness: the driver (tokio or the simulator) passes `now`.
//!
//! Call order, as in quinn-proto: after any `handle_*`, drain [`Headend::poll_action`] (work for
//! the driver: reads, operator calls) and [`Headend::poll_record`] (what to store), then sleep
//! until [`Headend::poll_timeout`] and call [`Headend::handle_timeout`]. Every `Action` gets
//! exactly one answer through the matching `handle_*`.
//!
//! Time: interval `n` ends at `n × cycle` (Unix time); its reading is due from then until the
//! service window closes `window` later. First reads are spread over `spread × window`; failed
//! reads are retried with doubling backoff while the window is open. A meter whose attempts run
//! out for `escalate_after` cycles in a row is escalated: the driver gathers the operator's
//! evidence, the diagnosis decides, and a reset is asked for only when it can cure the cause.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use std::time::Duration;

use super::diagnosis::{diagnose, DlmsAttempt, ForecastDegradation, Remedy, RootCause};
use super::evidence::{display_time, first_reject_in, AaaRecord};
use super::fleet::{MeterIx, MeterRef};
use super::operator_adapter::{AdapterError, CellOutlook, Gathered, OutlookKind, ResetKind};
use super::outage::{ActionKind, ActionRecord, Outage};
use super::policy::Policy;
use super::reading::{Reading, ReadingSource, StoredReading};
use crate::time::Timestamp;

/// Work for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read the load profile's intervals `[from, to]` (capture times), over a wake-up first for
    /// wake-up meters. Answer with [`Headend::handle_read`].
    Read {
        meter: MeterIx,
        from: Timestamp,
        to: Timestamp,
    },
    /// Gather the operator's evidence. Answer with [`Headend::handle_gathered`].
    Escalate {
        meter: MeterIx,
        /// The first refusal an earlier escalation of the open outage saw.
        earlier_reject: Option<AaaRecord>,
    },
    /// Ask the operator for a reset. Answer with [`Headend::handle_reset`].
    Reset {
        meter: MeterIx,
        kind: ResetKind,
        reason: String,
    },
    /// Ask for maintenance and degradations ahead. Answer with [`Headend::handle_outlook`].
    Outlook {
        cells: Vec<String>,
        from: Timestamp,
        until: Timestamp,
    },
}

/// What the driver stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Readings(Vec<StoredReading>),
    /// An outage opened or changed: upsert it.
    Outage(Outage),
}

/// How a read ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The rows the meter returned (possibly none).
    Read(Vec<Reading>),
    Failed(ReadFailure),
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// No connection: refused, reset, or timed out connecting.
    Unreachable,
    /// Connected, but the meter's application did not answer.
    Silent,
    /// The meter refused the association (keys, password).
    AuthenticationFailed,
    /// A wake-up meter did not call back after the SMS.
    NoWakeUp,
    /// The answer was malformed or not what was asked.
    Invalid(String),
    /// The meter answered, without a reading for the newest interval.
    NoData,
}

impl ReadFailure {
    fn attempt(&self) -> DlmsAttempt {
        match self {
            ReadFailure::Unreachable | ReadFailure::NoWakeUp => DlmsAttempt::Unreachable,
            ReadFailure::Silent | ReadFailure::Invalid(_) => DlmsAttempt::Silent,
            ReadFailure::AuthenticationFailed => DlmsAttempt::AuthenticationFailed,
            ReadFailure::NoData => DlmsAttempt::NoData,
        }
    }
}

/// Per-meter state.
#[derive(Debug, Default)]
struct MeterState {
    /// Newest interval stored.
    stored_until: Option<Timestamp>,
    /// Attempts in the current window.
    attempts: u32,
    in_flight: bool,
    /// A read is queued (scheduled or ready).
    queued: bool,
    /// Cycles closed in a row with the interval missing.
    missed_cycles: u32,
    /// Index into `outages` of the open one.
    outage: Option<usize>,
    /// Remedies asked for in the open outage.
    remedies: u32,
    escalating: bool,
    /// The window in which the meter was last escalated (its interval).
    escalated_for: Option<Timestamp>,
    /// The diagnosis said a reset cannot cure it: no remedies.
    hands_off: bool,
    /// Nor will retries help (a person must act): one attempt per cycle.
    hopeless: bool,
    last_failure: Option<DlmsAttempt>,
    /// A read right after a remedy: it does not count against the window's attempts.
    after_remedy: bool,
    /// Read by then, before a forecast degradation of the meter's cell.
    early_read: Option<Timestamp>,
    /// The first refusal of the open outage's run of AAA rejects, as last escalated.
    first_reject: Option<AaaRecord>,
}

/// The head-end.
pub struct Headend {
    policy: Policy,
    meters: Vec<MeterRef>,
    state: Vec<MeterState>,
    /// Whether it reads meters each cycle (false for the sidecar, which takes signals).
    reads: bool,
    /// Whether it reads a meter once after a reset to see data flowing (the sidecar's probe).
    probe: bool,
    /// The newest interval whose reading is due.
    due: Timestamp,
    next_boundary: Timestamp,
    /// Intervals whose windows have not closed yet, oldest first.
    open_windows: VecDeque<Timestamp>,
    scheduled: BTreeSet<(Timestamp, MeterIx)>,
    /// Due reads: late meters first, then by due time.
    ready: BinaryHeap<Reverse<(u8, Timestamp, MeterIx)>>,
    in_flight: usize,
    /// Remedies waiting for the fleet-wide rate limit.
    deferred_remedies: VecDeque<MeterIx>,
    remedy_times: VecDeque<Timestamp>,
    next_outlook: Timestamp,
    /// Degradations the operator announced before they began.
    forecasts: Vec<CellOutlook>,
    outages: Vec<Outage>,
    next_outage_id: u64,
    actions: VecDeque<Action>,
    records: VecDeque<Record>,
}

const HOUR: Duration = Duration::from_secs(3600);
/// An outage no reset can cure is re-examined only every this many escalation periods.
const REESCALATE_HANDS_OFF: u32 = 4;

impl Headend {
    /// A head-end that reads `meters`, starting at `now`.
    pub fn new(policy: Policy, meters: Vec<MeterRef>, now: Timestamp) -> Self {
        Self::with_reads(policy, meters, now, true)
    }

    /// The orchestrator alone (sidecar): misses come from signals; with `probe`, it reads a
    /// meter once after a reset to see data flowing.
    pub fn sidecar(policy: Policy, meters: Vec<MeterRef>, now: Timestamp, probe: bool) -> Self {
        let mut h = Self::with_reads(policy, meters, now, false);
        h.probe = probe;
        h
    }

    fn with_reads(policy: Policy, meters: Vec<MeterRef>, now: Timestamp, reads: bool) -> Self {
        let cycle = policy.cycle();
        let due = now.floor(cycle);
        let state = meters.iter().map(|_| MeterState::default()).collect();
        let mut h = Headend {
            policy,
            meters,
            state,
            reads,
            probe: reads,
            due,
            next_boundary: due + cycle,
            open_windows: VecDeque::new(),
            scheduled: BTreeSet::new(),
            ready: BinaryHeap::new(),
            in_flight: 0,
            deferred_remedies: VecDeque::new(),
            remedy_times: VecDeque::new(),
            next_outlook: now,
            forecasts: Vec::new(),
            outages: Vec::new(),
            next_outage_id: 1,
            actions: VecDeque::new(),
            records: VecDeque::new(),
        };
        h.start_window(due, now);
        h
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn meters(&self) -> &[MeterRef] {
        &self.meters
    }

    /// The meter with this id.
    pub fn meter_index(&self, id: &str) -> Option<MeterIx> {
        self.meters.iter().position(|m| m.id == id)
    }

    /// Every outage this head-end opened or restored, oldest first.
    pub fn outages(&self) -> &[Outage] {
        &self.outages
    }

    /// After a restart: the newest interval the store holds for a meter.
    pub fn restore_reading(&mut self, meter: MeterIx, stored_until: Timestamp) {
        let s = &mut self.state[meter];
        s.stored_until = s.stored_until.max(Some(stored_until));
    }

    /// After a restart: an outage the store holds open. Its id stays; the intervals whose
    /// windows closed while no head-end ran count as missed too.
    pub fn restore_outage(&mut self, mut outage: Outage) {
        let Some(meter) = self.meter_index(&outage.meter) else {
            return;
        };
        let oldest_open = self.open_windows.front().copied().unwrap_or(self.due);
        if self.reads && outage.is_open() && oldest_open > outage.start {
            let cycle = self.policy.cycle().as_millis() as u64;
            let closed = oldest_open.since(outage.start).as_millis() as u64;
            let closed = u32::try_from(closed.div_ceil(cycle)).unwrap_or(u32::MAX);
            if closed > outage.readings_missed {
                outage.readings_missed = closed;
                self.records.push_back(Record::Outage(outage.clone()));
            }
        }
        self.next_outage_id = self.next_outage_id.max(outage.id + 1);
        let s = &mut self.state[meter];
        s.missed_cycles = s.missed_cycles.max(outage.readings_missed);
        s.hands_off = outage.remedy.is_some_and(|r| !r.is_reset());
        s.hopeless = outage.remedy.is_some_and(hopeless);
        s.remedies = outage.actions.iter().filter(|a| a.kind.is_reset()).count() as u32;
        if outage.cause == Some(RootCause::AaaReject) {
            s.first_reject = first_reject_in(&outage.evidence);
        }
        s.outage = Some(self.outages.len());
        self.outages.push(outage);
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<Action> {
        if let Some(a) = self.actions.pop_front() {
            return Some(a);
        }
        while self.in_flight < self.policy.concurrency {
            let Reverse((_, _, meter)) = self.ready.pop()?;
            if let Some(a) = self.start_read(meter) {
                return Some(a);
            }
        }
        None
    }

    /// The next record for the store.
    pub fn poll_record(&mut self) -> Option<Record> {
        self.records.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let mut t = self.next_boundary.min(self.next_outlook);
        if let Some(interval) = self.open_windows.front() {
            t = t.min(*interval + self.policy.window());
        }
        if let Some((at, _)) = self.scheduled.first() {
            t = t.min(*at);
        }
        if let (false, Some(first)) = (self.deferred_remedies.is_empty(), self.remedy_times.front())
        {
            t = t.min(*first + HOUR);
        }
        Some(t)
    }

    pub fn handle_timeout(&mut self, now: Timestamp) {
        while let Some(&interval) = self.open_windows.front() {
            if interval + self.policy.window() > now {
                break;
            }
            self.open_windows.pop_front();
            self.close_window(interval, now);
        }
        while self.next_boundary <= now {
            let interval = self.next_boundary;
            self.next_boundary = interval + self.policy.cycle();
            self.start_window(interval, now);
        }
        while let Some(&(at, meter)) = self.scheduled.first() {
            if at > now {
                break;
            }
            self.scheduled.remove(&(at, meter));
            let late = u8::from(self.state[meter].missed_cycles == 0);
            self.ready.push(Reverse((late, at, meter)));
        }
        if now >= self.next_outlook {
            self.next_outlook = now + HOUR;
            self.ask_outlook(now);
        }
        self.release_deferred_remedies(now);
    }

    /// The answer to `Action::Read`.
    pub fn handle_read(&mut self, now: Timestamp, meter: MeterIx, outcome: ReadOutcome) {
        let s = &mut self.state[meter];
        if s.in_flight {
            s.in_flight = false;
            self.in_flight -= 1;
        }
        match outcome {
            ReadOutcome::Read(rows) if self.without_data(meter, &rows) => {
                self.read_failed(now, meter, ReadFailure::NoData)
            }
            ReadOutcome::Read(rows) => self.delivered(now, meter, rows, ReadingSource::OnTime),
            ReadOutcome::Failed(why) => self.read_failed(now, meter, why),
        }
    }

    /// An answer with nothing new while the newest interval is missing fails the read, except
    /// where it ends an outage after failures to reach the meter: it communicates again, and
    /// intervals it never captured (a power cut) stay missed. (The sidecar's probe reads only
    /// to see the meter answer.)
    fn without_data(&self, meter: MeterIx, rows: &[Reading]) -> bool {
        let s = &self.state[meter];
        let nothing_new = rows.iter().all(|r| Some(r.interval) <= s.stored_until);
        let unreachable_before = s.last_failure.is_some_and(|f| f != DlmsAttempt::NoData);
        self.reads
            && nothing_new
            && s.stored_until < Some(self.due)
            && !(s.outage.is_some() && unreachable_before)
    }

    /// Readings the meter pushed (Data-Notification).
    pub fn handle_push(&mut self, now: Timestamp, meter: MeterIx, rows: Vec<Reading>) {
        self.delivered(now, meter, rows, ReadingSource::Pushed);
    }

    /// A missing-data signal from another head-end (sidecar): these intervals were not read.
    pub fn handle_missing(&mut self, now: Timestamp, meter: MeterIx, intervals: &[Timestamp]) {
        let Some(first) = intervals.iter().min().copied() else {
            return;
        };
        let o = self.open_outage(meter, first, now);
        self.outages[o].readings_missed += intervals.len() as u32;
        self.records
            .push_back(Record::Outage(self.outages[o].clone()));
        let s = &mut self.state[meter];
        s.missed_cycles += 1;
        if s.missed_cycles >= self.policy.escalate_after && !s.escalating && !s.hands_off {
            self.escalate(meter);
        }
    }

    /// Another head-end reports data flowing again for this meter (sidecar).
    pub fn handle_flowing(&mut self, now: Timestamp, meter: MeterIx, recovered: u32) {
        if let Some(o) = self.state[meter].outage {
            self.outages[o].readings_backfilled += recovered;
        }
        self.recovered(now, meter);
    }

    /// The answer to `Action::Escalate`.
    pub fn handle_gathered(
        &mut self,
        now: Timestamp,
        meter: MeterIx,
        gathered: Result<Gathered, AdapterError>,
    ) {
        self.state[meter].escalating = false;
        let Some(o) = self.state[meter].outage else {
            return;
        };
        let gathered = match gathered {
            Ok(g) => g,
            Err(e) => return self.note(o, now, ActionKind::Escalate, false, e.to_string()),
        };
        self.state[meter].first_reject = gathered.first_reject;
        let mut evidence = gathered.evidence;
        let mut items = gathered.items;
        if let Some(attempt) = self.state[meter].last_failure {
            super::evidence::apply_dlms(&mut evidence, attempt);
        }
        if let Some(until) = self.forecast_come_true(meter, now) {
            // The operator's forecast (NC) shows an outage too; announced ahead, it is the area,
            // and the cell's not serving is no unplanned outage.
            let until = display_time(until, now, self.policy.utc_offset_minutes);
            evidence
                .degradation_forecast
                .get_or_insert(ForecastDegradation {
                    no_connectivity: true,
                    until,
                });
            evidence.cell_outage = false;
            items.retain(|i| i.source != "cell");
        }
        let d = diagnose(&evidence);
        let outage = &mut self.outages[o];
        outage.cause = Some(d.cause);
        outage.remedy = Some(d.remedy);
        outage.sentence = d.sentence;
        outage.evidence = items;
        let words = format!("asked the operator why: {}", d.cause.code());
        self.note(o, now, ActionKind::Escalate, true, words);
        self.classify(o);
        self.state[meter].hands_off = !d.remedy.is_reset();
        self.state[meter].hopeless = hopeless(d.remedy);
        if d.remedy.is_reset() {
            self.remedy(now, meter);
        }
    }

    /// The answer to `Action::Reset`.
    pub fn handle_reset(
        &mut self,
        now: Timestamp,
        meter: MeterIx,
        kind: ResetKind,
        result: Result<String, AdapterError>,
    ) {
        let action = match kind {
            ResetKind::DataSession => ActionKind::ResetDataSession,
            ResetKind::CancelLocation => ActionKind::CancelLocation,
        };
        let ok = result.is_ok();
        let words = match result {
            Ok(reference) => format!("accepted by the operator ({reference})"),
            Err(e) => format!("refused: {e}"),
        };
        if let Some(o) = self.state[meter].outage {
            self.note(o, now, action, ok, words);
        }
        if ok && self.probe {
            self.state[meter].after_remedy = true;
            self.schedule(meter, now + self.policy.settle());
        }
    }

    /// The answer to `Action::Outlook`: read meters early before a degradation of their cell.
    pub fn handle_outlook(&mut self, now: Timestamp, outlook: Vec<CellOutlook>) {
        let ahead = outlook
            .iter()
            .filter(|o| o.kind == OutlookKind::Degradation && o.from > now);
        self.forecasts.retain(|f| f.until > now);
        for o in outlook
            .iter()
            .filter(|o| o.kind == OutlookKind::Degradation)
        {
            let known = self
                .forecasts
                .iter_mut()
                .find(|f| f.cell == o.cell && f.from <= o.until && o.from <= f.until);
            match known {
                // The same degradation seen again, now under way: it stays a forecast.
                Some(f) => {
                    f.from = f.from.min(o.from);
                    f.until = f.until.max(o.until);
                }
                None if o.from > now => self.forecasts.push(o.clone()),
                None => {} // first seen under way: an unplanned outage looks the same
            }
        }
        for o in ahead {
            // Taken at the window that holds it: a read scheduled now, hours ahead, would stand
            // in for (and so block) every normal read until then.
            let at = o.from - Duration::from_secs(60);
            for meter in 0..self.meters.len() {
                if self.meters[meter].cell == o.cell {
                    let s = &mut self.state[meter];
                    s.early_read = Some(s.early_read.map_or(at, |e| e.min(at)));
                }
            }
        }
    }

    /// The end of a degradation of the meter's cell, announced before it began, covering now.
    fn forecast_come_true(&self, meter: MeterIx, now: Timestamp) -> Option<Timestamp> {
        let cell = &self.meters[meter].cell;
        self.forecasts
            .iter()
            .filter(|f| &f.cell == cell && f.from <= now && now < f.until)
            .map(|f| f.until)
            .max()
    }

    fn start_window(&mut self, interval: Timestamp, now: Timestamp) {
        self.due = interval;
        self.open_windows.push_back(interval);
        if !self.reads {
            return;
        }
        let spread = (self.policy.window().as_millis() as f64 * self.policy.spread) as u64;
        for meter in 0..self.meters.len() {
            let s = &mut self.state[meter];
            s.attempts = 0;
            let slot = Duration::from_millis(spread_slot(meter, spread));
            let mut at = (interval + slot).max(now);
            let cycle_end = interval + self.policy.cycle();
            if let Some(early) = s.early_read.filter(|e| *e < cycle_end) {
                // A degradation of its cell is forecast: read it before the area goes dark.
                at = at.min(early.max(now));
                s.early_read = None;
            }
            self.schedule(meter, at);
        }
    }

    fn close_window(&mut self, interval: Timestamp, now: Timestamp) {
        if !self.reads {
            return;
        }
        for meter in 0..self.meters.len() {
            if self.state[meter].stored_until >= Some(interval) {
                continue;
            }
            let first = self.first_missing(meter, interval);
            let o = self.open_outage(meter, first, now);
            self.outages[o].readings_missed += 1;
            self.records
                .push_back(Record::Outage(self.outages[o].clone()));
            self.state[meter].missed_cycles += 1;
        }
    }

    fn first_missing(&self, meter: MeterIx, interval: Timestamp) -> Timestamp {
        match self.state[meter].stored_until {
            Some(t) => (t + self.policy.cycle()).min(interval),
            None => interval,
        }
    }

    fn schedule(&mut self, meter: MeterIx, at: Timestamp) {
        let s = &mut self.state[meter];
        if s.queued || s.in_flight {
            return;
        }
        s.queued = true;
        self.scheduled.insert((at, meter));
    }

    fn start_read(&mut self, meter: MeterIx) -> Option<Action> {
        let s = &mut self.state[meter];
        s.queued = false;
        let extra = std::mem::take(&mut s.after_remedy);
        if s.stored_until >= Some(self.due) && !extra {
            return None;
        }
        s.in_flight = true;
        if !extra {
            s.attempts += 1;
        }
        self.in_flight += 1;
        let horizon = self.due - Duration::from_secs(self.policy.backfill_horizon_secs);
        let from = match s.stored_until {
            Some(t) => (t + self.policy.cycle()).max(horizon).min(self.due),
            None => self.due,
        };
        Some(Action::Read {
            meter,
            from,
            to: self.due,
        })
    }

    fn delivered(
        &mut self,
        now: Timestamp,
        meter: MeterIx,
        rows: Vec<Reading>,
        source: ReadingSource,
    ) {
        let before = self.state[meter].stored_until;
        // Intervals older than the oldest open window were already counted missed.
        let on_time_from = self.open_windows.front().copied().unwrap_or(self.due);
        let fresh: Vec<StoredReading> = rows
            .into_iter()
            .filter(|r| Some(r.interval) > before)
            .map(|reading| StoredReading {
                meter: self.meters[meter].id.clone(),
                source: match source {
                    ReadingSource::OnTime if reading.interval < on_time_from => {
                        ReadingSource::Backfilled
                    }
                    other => other,
                },
                reading,
                received_at: now,
            })
            .collect();
        let backfilled = fresh
            .iter()
            .filter(|r| r.source == ReadingSource::Backfilled)
            .count() as u32;
        if let Some(newest) = fresh.iter().map(|r| r.reading.interval).max() {
            self.state[meter].stored_until = Some(newest);
        }
        if let (Some(o), true) = (self.state[meter].outage, backfilled > 0) {
            self.outages[o].readings_backfilled += backfilled;
            let words = format!("{backfilled} readings recovered from the meter's load profile");
            self.note(o, now, ActionKind::Backfill, true, words);
        }
        if !fresh.is_empty() {
            self.records.push_back(Record::Readings(fresh));
        }
        self.recovered(now, meter);
    }

    fn recovered(&mut self, now: Timestamp, meter: MeterIx) {
        let s = &mut self.state[meter];
        s.missed_cycles = 0;
        s.remedies = 0;
        s.hands_off = false;
        s.hopeless = false;
        s.last_failure = None;
        s.first_reject = None;
        if let Some(o) = s.outage.take() {
            self.outages[o].end = Some(now);
            self.records
                .push_back(Record::Outage(self.outages[o].clone()));
        }
    }

    fn read_failed(&mut self, now: Timestamp, meter: MeterIx, why: ReadFailure) {
        let s = &mut self.state[meter];
        s.last_failure = Some(why.attempt());
        if let (ReadFailure::NoWakeUp, Some(o)) = (&why, s.outage) {
            let words = "the meter did not call back after the wake-up SMS".to_string();
            self.note(o, now, ActionKind::WakeUp, false, words);
        }
        let s = &self.state[meter];
        let doublings = s.attempts.saturating_sub(1).min(10);
        let retry_at = now + Duration::from_secs(self.policy.retry_backoff_secs << doublings);
        let attempts = if s.hopeless { 1 } else { self.policy.attempts };
        if s.attempts < attempts && retry_at < self.due + self.policy.window() {
            return self.schedule(meter, retry_at);
        }
        // This window's attempts are spent: the cycle is failing.
        let failing = s.missed_cycles + 1;
        let k = self.policy.escalate_after;
        let due_escalation = failing >= k
            && !s.escalating
            && s.escalated_for != Some(self.due)
            && (!s.hands_off || failing % (k * REESCALATE_HANDS_OFF) == 0);
        if due_escalation {
            let first = self.first_missing(meter, self.due);
            self.open_outage(meter, first, now);
            self.escalate(meter);
        }
    }

    fn escalate(&mut self, meter: MeterIx) {
        let s = &mut self.state[meter];
        s.escalating = true;
        s.escalated_for = Some(self.due);
        let earlier_reject = s.first_reject.clone();
        self.actions.push_back(Action::Escalate {
            meter,
            earlier_reject,
        });
    }

    /// Asks for the next reset on the ladder (the diagnosis' remedy, then cancel location).
    fn remedy(&mut self, now: Timestamp, meter: MeterIx) {
        let Some(o) = self.state[meter].outage else {
            return;
        };
        if self.state[meter].remedies >= self.policy.remedies_per_outage {
            return;
        }
        if !self.take_remedy_token(now) {
            if !self.deferred_remedies.contains(&meter) {
                self.deferred_remedies.push_back(meter);
            }
            return;
        }
        let s = &mut self.state[meter];
        let kind = match (s.remedies, self.outages[o].remedy) {
            (0, Some(Remedy::ResetDataSession)) => ResetKind::DataSession,
            _ => ResetKind::CancelLocation,
        };
        s.remedies += 1;
        let cause = self.outages[o].cause.map_or("UNKNOWN", |c| c.code());
        let reason = format!("meter {} silent, diagnosed {cause}", self.meters[meter].id);
        self.actions.push_back(Action::Reset {
            meter,
            kind,
            reason,
        });
    }

    fn take_remedy_token(&mut self, now: Timestamp) -> bool {
        if !self.remedy_budget_left(now) {
            return false;
        }
        self.remedy_times.push_back(now);
        true
    }

    /// Whether the fleet-wide hourly limit allows another remedy now.
    fn remedy_budget_left(&mut self, now: Timestamp) -> bool {
        while self.remedy_times.front().is_some_and(|t| *t + HOUR <= now) {
            self.remedy_times.pop_front();
        }
        self.remedy_times.len() < self.policy.remedies_per_hour as usize
    }

    fn release_deferred_remedies(&mut self, now: Timestamp) {
        while let Some(&meter) = self.deferred_remedies.front() {
            if !self.remedy_budget_left(now) {
                return;
            }
            self.deferred_remedies.pop_front();
            self.remedy(now, meter);
        }
    }

    fn ask_outlook(&mut self, now: Timestamp) {
        if !self.reads || self.meters.is_empty() {
            return;
        }
        let cells: BTreeSet<&String> = self.meters.iter().map(|m| &m.cell).collect();
        self.actions.push_back(Action::Outlook {
            cells: cells.into_iter().cloned().collect(),
            from: now,
            // An hour more than the lead: asked hourly, a degradation starting right at the
            // lead's end is still seen ahead, by the query before.
            until: now + Duration::from_secs(self.policy.early_read_lead_secs) + HOUR,
        });
    }

    /// The meter's open outage, opened now if there is none.
    fn open_outage(&mut self, meter: MeterIx, start: Timestamp, now: Timestamp) -> usize {
        if let Some(o) = self.state[meter].outage {
            return o;
        }
        let outage = Outage {
            id: self.next_outage_id,
            meter: self.meters[meter].id.clone(),
            start,
            detected: now,
            cause: None,
            remedy: None,
            sentence: "The meter has stopped delivering readings; the head-end is finding out why."
                .into(),
            evidence: Vec::new(),
            actions: Vec::new(),
            end: None,
            readings_missed: 0,
            readings_backfilled: 0,
            sla_class: None,
        };
        self.next_outage_id += 1;
        self.records.push_back(Record::Outage(outage.clone()));
        self.outages.push(outage);
        let s = &mut self.state[meter];
        s.outage = Some(self.outages.len() - 1);
        s.remedies = 0;
        self.outages.len() - 1
    }

    fn note(&mut self, o: usize, at: Timestamp, kind: ActionKind, ok: bool, result: String) {
        let record = ActionRecord {
            at,
            kind,
            ok,
            result,
        };
        self.outages[o].actions.push(record);
        self.records
            .push_back(Record::Outage(self.outages[o].clone()));
    }

    /// Gives the outage its SLA class from the open outages of the same cell and cause.
    fn classify(&mut self, o: usize) {
        let cause = self.outages[o].cause;
        let Some(m) = self.meter_index(&self.outages[o].meter) else {
            return;
        };
        let cell = &self.meters[m].cell;
        let same: Vec<usize> = (0..self.meters.len())
            .filter(|&m| &self.meters[m].cell == cell)
            .filter_map(|m| self.state[m].outage)
            .filter(|&x| self.outages[x].cause == cause)
            .collect();
        let Some(class) = self
            .policy
            .sla
            .class_for(same.len())
            .map(|c| c.name.clone())
        else {
            return;
        };
        for x in same {
            if self.outages[x].sla_class.as_ref() != Some(&class) {
                self.outages[x].sla_class = Some(class.clone());
                self.records
                    .push_back(Record::Outage(self.outages[x].clone()));
            }
        }
    }
}

/// Whether only a person can cure it, so retrying within a window is pointless.
fn hopeless(remedy: Remedy) -> bool {
    matches!(remedy, Remedy::Report | Remedy::FieldVisit)
}

/// A fixed offset in `[0, spread)` per meter, so a fleet's reads spread evenly over the window.
fn spread_slot(meter: MeterIx, spread_ms: u64) -> u64 {
    if spread_ms == 0 {
        return 0;
    }
    (meter as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % spread_ms
}

#[cfg(test)]
mod tests;
