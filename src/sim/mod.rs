//! The discrete-event simulation: the real head-end policy, the real operator model (RADIUS
//! through the embedded utility check), real meters and the real DLMS codec and sessions, run
//! in virtual time over in-memory links. Same scenario and seed, same outage log, byte for byte.
//!
//! One loop takes the earliest of three clocks: the event queue (frames in flight, faults,
//! RADIUS answers, operator answers, client timers), the operator network's
//! `poll_timeout` and the head-end's `poll_timeout`. After each step it drains the network's
//! requests and notifications and the head-end's actions and records. Randomness (link latency,
//! loss, resets, HLS challenges) comes from one ChaCha8 generator seeded by the run's seed.

mod conn;
mod faults;
pub mod html;
mod link;
mod outcome;
mod queue;
pub mod report;
pub mod scorecard;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::cosem::MeterSettings;
use crate::dlms::security::{Keys, SystemTitle};
use crate::headend::evidence::EvidenceParams;
use crate::headend::fleet::MeterIx;
use crate::headend::in_process::InProcessOperator;
use crate::headend::operator_adapter::{
    AdapterError, CellOutlook, Gathered, OperatorAdapter, ResetKind,
};
use crate::headend::orchestrator::{Action, Headend, ReadFailure, ReadOutcome, Record};
use crate::headend::reading::ReadingSource;
use crate::meter::device::{meter_settings, MeterDevice, Modem};
use crate::meter::profile::{Management, Profile};
use crate::operator::aaa::{AaaRequest, AuthId, AuthOutcome};
use crate::operator::actions::Actor;
use crate::operator::events::{OperatorEvent, Reachability};
use crate::operator::ids::TenantId;
use crate::operator::ids::{CellId, Iccid};
use crate::operator::{InProcessAaa, Network, OperatorConfig};
use crate::scenario::{FaultKind, Plan, Scenario};
use crate::time::Timestamp;

use conn::{Conn, ConnRef};
use link::LinkState;
pub use outcome::{RunStats, SetupKpi, SimOutcome, Tally};
use queue::EventQueue;

/// How long a RADIUS answer takes from the utility's server.
const RADIUS_LATENCY: Duration = Duration::from_millis(20);
/// How long the head-end waits for a woken meter to call.
const WAKE_WAIT: Duration = Duration::from_secs(60);

/// Something due at a time.
enum Event {
    FaultStart(u32),
    FaultEnd(u32),
    Connected(ConnRef),
    ConnectFailed(ConnRef),
    ConnReset(ConnRef),
    ToMeter(ConnRef, Vec<u8>),
    ToHeadend(ConnRef, Vec<u8>),
    ClientTimer(ConnRef),
    WakeTimeout { meter: u32, token: u32 },
    AaaAnswer(AuthId, AuthOutcome),
    Operator(Box<Answer>),
}

/// An operator call's answer, delivered to the head-end after the API's latency.
enum Answer {
    Gathered(MeterIx, Box<Result<Gathered, AdapterError>>),
    Reset(MeterIx, ResetKind, Result<String, AdapterError>),
    Outlook(Vec<CellOutlook>),
}

/// A read of a wake-up meter waiting for the meter to call.
#[derive(Debug, Clone, Copy)]
struct WakeJob {
    from: Timestamp,
    to: Timestamp,
    token: u32,
}

/// One simulated meter: the device and what the links and faults do to it.
struct SimMeter {
    device: MeterDevice,
    /// The meter's system title and keys (the head-end holds the same, from the manifest).
    title: SystemTitle,
    keys: Keys,
    iccid: Iccid,
    reach: Reachability,
    /// The head-end's next invocation counter towards this meter (ciphered associations).
    client_ic: u32,
    hung: bool,
    keys_mismatch: bool,
    /// Index of the lossy-link fault on its link.
    lossy: Option<u32>,
    wake: Option<WakeJob>,
    /// Woken by SMS: it calls the head-end (with this push) once its data session is up.
    calling: Option<Vec<u8>>,
}

/// A simulation of one scenario with one seed, over operator adapter `A`.
pub struct Simulation<A> {
    scenario: Scenario,
    seed: u64,
    plan: Plan,
    now: Timestamp,
    end: Timestamp,
    base: Instant,
    queue: EventQueue<Event>,
    rng: ChaCha8Rng,
    net: Arc<Mutex<Network>>,
    aaa: Arc<Mutex<InProcessAaa>>,
    radius_down: bool,
    headend: Headend,
    adapter: A,
    meters: Vec<SimMeter>,
    /// Per profile: the same profile with a password the head-end does not know.
    mismatched: Vec<Profile>,
    by_iccid: HashMap<Iccid, u32>,
    conns: Vec<Option<Conn>>,
    free_conns: Vec<u32>,
    next_gen: u32,
    next_token: u32,
    stats: RunStats,
    tally: Tally,
}

impl<A: OperatorAdapter> Simulation<A> {
    /// Builds the world for `scenario` with `seed`; `adapter` makes the head-end's operator
    /// adapter over the shared network and the utility's RADIUS check (for its logbook).
    pub fn new(
        scenario: &Scenario,
        seed: u64,
        adapter: impl FnOnce(Arc<Mutex<Network>>, Arc<Mutex<InProcessAaa>>) -> A,
    ) -> Result<Self, crate::scenario::ScenarioError> {
        let plan = scenario.plan(seed)?;
        let start = scenario.start();
        let manifest = plan.fleet.operator_manifest();
        let config = OperatorConfig {
            records_per_sim: 32,
            events_per_sim: 32,
            ..OperatorConfig::default()
        };
        let network = Network::new(config, &manifest, seed, start);
        let aaa = InProcessAaa::new(
            manifest
                .meters
                .iter()
                .map(|m| (m.radius_user(), m.radius_password())),
        );
        let settings: Vec<Arc<MeterSettings>> = plan
            .fleet
            .profiles
            .iter()
            .map(|p| Arc::new(meter_settings(p, seed)))
            .collect();
        let mismatched = plan.fleet.profiles.iter().map(mismatched).collect();
        let start_secs = secs(start);
        let meters: Vec<SimMeter> = plan
            .fleet
            .meters
            .iter()
            .zip(&manifest.meters)
            .map(|(m, entry)| {
                let mut device =
                    MeterDevice::new(m.index, m.serial, settings[m.profile as usize].clone());
                device.set_modem(Modem::Detached, start_secs);
                let identity = plan.fleet.identity(m);
                SimMeter {
                    device,
                    title: identity.system_title,
                    keys: identity.keys,
                    iccid: entry.iccid.clone(),
                    reach: Reachability::Disconnected,
                    client_ic: 1,
                    hung: false,
                    keys_mismatch: false,
                    lossy: None,
                    wake: None,
                    calling: None,
                }
            })
            .collect();
        let by_iccid = meters
            .iter()
            .enumerate()
            .map(|(i, m)| (m.iccid.clone(), i as u32))
            .collect();
        let headend = Headend::new(scenario.policy.clone(), plan.fleet.meter_refs(), start);
        let net = Arc::new(Mutex::new(network));
        let aaa = Arc::new(Mutex::new(aaa));
        let adapter = adapter(net.clone(), aaa.clone());
        let first = plan.truth.captures().next().unwrap_or(start);
        let tally = Tally::new(meters.len(), first, scenario.end(), scenario.policy.cycle());
        let mut sim = Simulation {
            scenario: scenario.clone(),
            seed,
            plan,
            now: start,
            end: scenario.end(),
            base: Instant::now(),
            queue: EventQueue::default(),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x51_u64.rotate_left(40)),
            net,
            aaa,
            radius_down: false,
            headend,
            adapter,
            meters,
            mismatched,
            by_iccid,
            conns: Vec::new(),
            free_conns: Vec::new(),
            next_gen: 0,
            next_token: 0,
            stats: RunStats::default(),
            tally,
        };
        sim.schedule_faults();
        Ok(sim)
    }

    fn net(&self) -> MutexGuard<'_, Network> {
        self.net.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs to the end of the span; every record the head-end emits goes to `sink` too.
    pub fn run(mut self, sink: &mut dyn FnMut(Record)) -> SimOutcome {
        self.drain(sink);
        loop {
            let t_queue = self.queue.peek_time();
            let t_net = self.net().poll_timeout();
            let t_head = self.headend.poll_timeout();
            let Some(t) = [t_queue, t_net, t_head].into_iter().flatten().min() else {
                break;
            };
            if t >= self.end {
                break;
            }
            self.now = self.now.max(t);
            self.stats.events += 1;
            if t_net == Some(t) {
                let now = self.now;
                self.net().handle_timeout(now);
            } else if t_queue == Some(t) {
                let (_, event) = self.queue.pop().expect("peeked");
                self.handle(event);
            } else {
                self.headend.handle_timeout(self.now);
            }
            self.drain(sink);
        }
        self.finish()
    }

    fn finish(self) -> SimOutcome {
        let net = self.net.lock().unwrap_or_else(|e| e.into_inner());
        let cell_kpi = self
            .plan
            .fleet
            .cells
            .iter()
            .map(|c| {
                let id = CellId::new(c.id.clone()).expect("valid cell id");
                net.cell_kpi(&id, self.scenario.start(), self.end)
                    .map(|k| SetupKpi {
                        attempts: k.attempts,
                        successes: k.successes,
                    })
                    .unwrap_or_default()
            })
            .collect();
        drop(net);
        SimOutcome {
            outages: self.headend.outages().to_vec(),
            scenario: self.scenario,
            seed: self.seed,
            plan: self.plan,
            stats: self.stats,
            tally: self.tally,
            cell_kpi,
            meters: self.headend.meters().to_vec(),
        }
    }

    /// Drains the network's and the head-end's outputs until both are quiet.
    fn drain(&mut self, sink: &mut dyn FnMut(Record)) {
        loop {
            let mut busy = self.drain_network();
            while let Some(action) = self.headend.poll_action() {
                busy = true;
                self.act(action);
            }
            while let Some(record) = self.headend.poll_record() {
                busy = true;
                self.record(&record);
                sink(record);
            }
            if !busy {
                return;
            }
        }
    }

    fn drain_network(&mut self) -> bool {
        let mut busy = false;
        loop {
            let (aaa, event) = {
                let mut net = self.net();
                (net.poll_aaa(), net.poll_event())
            };
            if aaa.is_none() && event.is_none() {
                return busy;
            }
            busy = true;
            if let Some(AaaRequest::Authenticate(req)) = aaa {
                if !self.radius_down {
                    let outcome = self
                        .aaa
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .authenticate(&req);
                    self.queue
                        .push(self.now + RADIUS_LATENCY, Event::AaaAnswer(req.id, outcome));
                }
            }
            match event {
                Some(OperatorEvent::ReachabilityChanged {
                    iccid,
                    reachability,
                    ..
                }) => self.reachability(&iccid, reachability),
                Some(OperatorEvent::SmsDelivered { iccid, .. }) => self.sms_delivered(&iccid),
                _ => {}
            }
        }
    }

    /// The meter's modem follows the operator's view of its SIM.
    fn reachability(&mut self, iccid: &Iccid, reach: Reachability) {
        let Some(&m) = self.by_iccid.get(iccid) else {
            return;
        };
        let now = secs(self.now);
        let meter = &mut self.meters[m as usize];
        meter.reach = reach;
        meter.device.set_modem(modem_of(reach), now);
        if reach == Reachability::Data {
            if let Some(push) = meter.calling.take() {
                self.call_headend(m, push);
            }
        }
    }

    /// A wake-up SMS reached the modem: the meter calls once its data session is up.
    fn sms_delivered(&mut self, iccid: &Iccid) {
        let Some(&m) = self.by_iccid.get(iccid) else {
            return;
        };
        let now = secs(self.now);
        let profile =
            &self.plan.fleet.profiles[self.plan.fleet.meters[m as usize].profile as usize];
        let meter = &mut self.meters[m as usize];
        let Some(crate::meter::device::WakeAction::CallHeadEnd { push, .. }) =
            meter.device.wake_up(profile, now)
        else {
            return;
        };
        // The device assumes its session; the operator's model says whether it has one.
        meter.device.set_modem(modem_of(meter.reach), now);
        if meter.reach == Reachability::Data {
            self.call_headend(m, push);
        } else {
            meter.calling = Some(push);
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::FaultStart(i) => self.fault_edge(i as usize, true),
            Event::FaultEnd(i) => self.fault_edge(i as usize, false),
            Event::Connected(c) => self.connected(c),
            Event::ConnectFailed(c) => self.fail_conn(c, ReadFailure::Unreachable),
            Event::ConnReset(c) => self.fail_conn(c, ReadFailure::Unreachable),
            Event::ToMeter(c, bytes) => self.at_meter(c, bytes),
            Event::ToHeadend(c, bytes) => self.at_headend(c, bytes),
            Event::ClientTimer(c) => self.client_timer(c),
            Event::WakeTimeout { meter, token } => {
                let m = &mut self.meters[meter as usize];
                if m.wake.is_some_and(|w| w.token == token) {
                    m.wake = None;
                    self.answer_read(meter, ReadOutcome::Failed(ReadFailure::NoWakeUp));
                }
            }
            Event::AaaAnswer(id, outcome) => {
                let now = self.now;
                self.net().handle_auth_result(id, outcome, now);
            }
            Event::Operator(answer) => match *answer {
                Answer::Gathered(m, r) => self.headend.handle_gathered(self.now, m, *r),
                Answer::Reset(m, kind, r) => self.headend.handle_reset(self.now, m, kind, r),
                Answer::Outlook(o) => self.headend.handle_outlook(self.now, o),
            },
        }
    }

    /// Carries out one head-end action.
    fn act(&mut self, action: Action) {
        let now = self.now;
        let answer_at = now + self.scenario.link.api_latency;
        match action {
            Action::Read { meter, from, to } => self.start_read(meter as u32, from, to),
            Action::Escalate {
                meter,
                earlier_reject,
            } => {
                let meter_ref = &self.headend.meters()[meter];
                let r = ready(self.adapter.gather(meter_ref, now, earlier_reject.as_ref()));
                self.count_call("gather", r.is_ok());
                let answer = Answer::Gathered(meter, Box::new(r));
                self.queue
                    .push(answer_at, Event::Operator(Box::new(answer)));
            }
            Action::Reset {
                meter,
                kind,
                reason,
            } => {
                let r =
                    ready(
                        self.adapter
                            .reset(&self.headend.meters()[meter], kind, &reason, now),
                    );
                let name = match kind {
                    ResetKind::DataSession => "reset-data-session",
                    ResetKind::CancelLocation => "cancel-location",
                };
                self.count_call(name, r.is_ok());
                let answer = Answer::Reset(meter, kind, r);
                self.queue
                    .push(answer_at, Event::Operator(Box::new(answer)));
            }
            Action::Outlook { cells, from, until } => {
                let r = ready(self.adapter.outlook(&cells, from, until));
                self.count_call("outlook", r.is_ok());
                let answer = Answer::Outlook(r.unwrap_or_default());
                self.queue
                    .push(answer_at, Event::Operator(Box::new(answer)));
            }
        }
    }

    fn count_call(&mut self, kind: &str, ok: bool) {
        *self.stats.operator_calls.entry(kind.into()).or_default() += 1;
        if !ok {
            self.stats.operator_errors += 1;
        }
    }

    /// Starts a read: a connection to a direct meter, a wake-up SMS to the others.
    fn start_read(&mut self, meter: u32, from: Timestamp, to: Timestamp) {
        self.stats.reads += 1;
        if !self
            .plan
            .fleet
            .is_wake_up(&self.plan.fleet.meters[meter as usize])
        {
            return self.connect(meter, from, to);
        }
        let now = self.now;
        let meter_ref = &self.headend.meters()[meter as usize];
        let r = ready(self.adapter.wake_up(meter_ref, now));
        self.count_call("wake-up-sms", r.is_ok());
        if r.is_err() {
            return self.answer_read(meter, ReadOutcome::Failed(ReadFailure::NoWakeUp));
        }
        self.next_token += 1;
        let token = self.next_token;
        self.meters[meter as usize].wake = Some(WakeJob { from, to, token });
        self.queue
            .push(now + WAKE_WAIT, Event::WakeTimeout { meter, token });
    }

    /// Gives the head-end its answer to a read.
    fn answer_read(&mut self, meter: u32, outcome: ReadOutcome) {
        match &outcome {
            ReadOutcome::Read(_) => self.stats.reads_ok += 1,
            ReadOutcome::Failed(why) => {
                let name = match why {
                    ReadFailure::Unreachable => "unreachable",
                    ReadFailure::Silent => "silent",
                    ReadFailure::AuthenticationFailed => "authentication-failed",
                    ReadFailure::NoWakeUp => "no-wake-up",
                    ReadFailure::Invalid(_) => "invalid",
                    ReadFailure::NoData => "no-data",
                };
                *self.stats.read_failures.entry(name.into()).or_default() += 1;
            }
        }
        self.headend
            .handle_read(self.now, meter as MeterIx, outcome);
    }

    /// Tallies what the head-end stores, checking each value against the meter's load model.
    fn record(&mut self, record: &Record) {
        let Record::Readings(readings) = record else {
            return;
        };
        for r in readings {
            let Some(m) = crate::meter::manifest::meter_index(&r.meter) else {
                continue;
            };
            match r.source {
                ReadingSource::OnTime => self.tally.on_time += 1,
                ReadingSource::Backfilled => self.tally.backfilled += 1,
                ReadingSource::Pushed => self.tally.pushed += 1,
            }
            self.tally.mark(m, r.reading.interval);
            let model = self.meters[m as usize].device.app.model();
            let e = model.energy_at(secs(r.reading.interval));
            if (e.import_wh as u32 as u64, e.export_wh as u32 as u64)
                != (r.reading.import_wh, r.reading.export_wh)
            {
                self.tally.wrong_values += 1;
                if self.tally.wrong_examples.len() < 5 {
                    self.tally.wrong_examples.push(format!(
                        "{} at {}: read A+ {} Wh, the meter's model says {}",
                        r.meter, r.reading.interval, r.reading.import_wh, e.import_wh
                    ));
                }
            }
        }
    }

    /// The link to meter `m` as it is now.
    fn link(&self, m: u32) -> LinkState {
        let base = &self.scenario.link;
        let mut state = LinkState {
            latency: base.latency,
            extra_latency: Duration::ZERO,
            loss: base.loss,
            resets: base.resets,
        };
        if let Some(i) = self.meters[m as usize].lossy {
            if let FaultKind::LossyLink {
                loss,
                resets,
                extra_latency,
            } = self.plan.faults[i as usize].fault.kind
            {
                state.loss = 1.0 - (1.0 - state.loss) * (1.0 - loss);
                state.resets = 1.0 - (1.0 - state.resets) * (1.0 - resets);
                state.extra_latency = extra_latency;
            }
        }
        state
    }

    /// The virtual instant `t` as a monotonic `Instant` for the session state machines.
    fn instant(&self, t: Timestamp) -> Instant {
        self.base + t.since(self.scenario.start())
    }

    fn timestamp(&self, i: Instant) -> Timestamp {
        self.scenario.start() + i.saturating_duration_since(self.base)
    }
}

/// The profile as a meter whose keys changed sees it: another LLS password (HLS meters get
/// other keys through their identity).
fn mismatched(p: &Profile) -> Profile {
    let mut p = p.clone();
    if let Management::Lls { password } = &mut p.security.management {
        password.push_str("-rotated");
    }
    p
}

/// A simulation whose head-end talks to the operator through the in-process adapter, acting as
/// the utility's head-end and reading the embedded RADIUS server's logbook.
pub fn in_process(
    scenario: &Scenario,
    seed: u64,
) -> Result<Simulation<InProcessOperator>, crate::scenario::ScenarioError> {
    let params = EvidenceParams {
        utc_offset_minutes: scenario.policy.utc_offset_minutes,
        ..EvidenceParams::default()
    };
    Simulation::new(scenario, seed, |net, aaa| {
        let actor = Actor {
            tenant: TenantId::new("utility").expect("a valid tenant"),
            principal: "reanimator-headend".into(),
        };
        InProcessOperator::new(net, actor, params)
            .with_logbook(InProcessOperator::embedded_logbook(aaa))
    })
}

fn modem_of(r: Reachability) -> Modem {
    match r {
        Reachability::Data => Modem::Online,
        Reachability::Sms => Modem::NoDataSession,
        Reachability::Disconnected => Modem::Detached,
    }
}

/// Unix seconds of a timestamp.
fn secs(t: Timestamp) -> i64 {
    (t.as_millis() / 1000) as i64
}

/// The value of a future that is ready at once (the in-process adapter's are).
fn ready<T>(
    f: impl std::future::Future<Output = Result<T, AdapterError>>,
) -> Result<T, AdapterError> {
    f.now_or_never().unwrap_or_else(|| {
        Err(AdapterError::Failed(
            "the operator adapter did not answer at once; the simulation needs an in-process adapter"
                .into(),
        ))
    })
}
