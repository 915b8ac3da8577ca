//! The operator's network: every SIM's modem, the cells, the calendar, the records, and the SIM
//! platform's actions, in one deterministic state machine.
//!
//! # Driving it
//!
//! The network never reads a clock, draws its own randomness or touches a socket. A driver
//! (tokio in `net`, or the discrete-event simulator) calls, in any order and always with a
//! non-decreasing `now`:
//!
//! 1. [`Network::handle_timeout`] when [`Network::poll_timeout`] says a deadline has come;
//! 2. the query, action and fault methods when a request arrives;
//! 3. [`Network::handle_auth_result`] when the RADIUS side answers an Access-Request;
//!
//! and after each of these drains [`Network::poll_aaa`] (Access- and Accounting-Requests to send)
//! and [`Network::poll_event`] (notifications to deliver), then asks `poll_timeout` again.
//! Randomness comes from a ChaCha8 generator seeded at construction: the same seed, inputs and
//! times give the same network, byte for byte.

mod actions;
mod faults;
mod predict;
mod queries;

pub use actions::{ActionError, SmsRequest, StatusChange};
pub use faults::{FaultError, MaintenanceRequest, StuckKind};
pub use predict::{PcdError, PcdQuery, PcdResult, PcdSlot, PcdStatus};
pub use queries::{CellView, ConnectivityStatus, KpiReport, SessionInfo, SimDetails};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::aaa::{
    AaaRecord, AaaRequest, AccountingKind, AccountingRequest, AuthId, AuthOutcome, AuthRequest,
};
use super::actions::{AuditEntry, Operation};
use super::calendar::{Forecast, MaintenanceWindow, Outage};
use super::cell::{Cell, CellCondition};
use super::config::OperatorConfig;
use super::events::{OperatorEvent, Reachability, SimEvent};
use super::ids::{CellId, Iccid, Msisdn, TenantId};
use super::kpi::KpiSeries;
use super::manifest::FleetManifest;
use super::modem::{
    Conditions, DataSession, Delay, DetachCause, Effect, Input, Modem, ModemState, NewSession,
    Timer,
};
use super::monitoring::{
    LocationInfo, LossReason, MonitoringReport, MonitoringType, PdnConnectionInformation,
    PdnStatus, ReachabilityType,
};
use super::ratelimit::TokenBucket;
use super::sim::Sim;
use super::sms::Sms;
use super::time::Timestamp;

/// A cell and what hangs off it.
#[derive(Debug)]
struct CellRecord {
    cell: Cell,
    condition: CellCondition,
    sims: Vec<usize>,
    kpi: KpiSeries,
}

/// A SIM, its modem and its records.
#[derive(Debug)]
struct SimRecord {
    sim: Sim,
    modem: Modem,
    cell: usize,
    timer_gen: u64,
    /// When the current setup attempt began (its KPI bucket).
    attempt_at: Option<Timestamp>,
    kpi: KpiSeries,
    aaa: VecDeque<AaaRecord>,
    events: VecDeque<SimEvent>,
    sms_queue: Vec<String>,
    reachability: Reachability,
    reachability_since: Timestamp,
    last_loss: Option<(LossReason, Timestamp)>,
    pending_reset: Option<String>,
}

/// Everything that can come due.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Modem { sim: usize, gen: u64, timer: Timer },
    SmsDeliver(String),
    SmsExpire(String),
    Operation(String),
    MaintenanceAnnounce(usize),
    MaintenanceStart(usize),
    MaintenanceEnd(usize),
    OutageEnd(usize),
    ForecastStart(usize),
    ForecastEnd(usize),
}

/// Limit buckets are kept per tenant and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LimitKind {
    Api,
    Reset,
    CancelLocation,
    StatusChange,
    Sms,
}

/// The simulated operator network. See the module documentation for the call order.
#[derive(Debug)]
pub struct Network {
    config: OperatorConfig,
    rng: ChaCha8Rng,
    now: Timestamp,
    cells: Vec<CellRecord>,
    cell_index: HashMap<CellId, usize>,
    sims: Vec<SimRecord>,
    by_iccid: HashMap<Iccid, usize>,
    by_msisdn: HashMap<Msisdn, usize>,
    timers: BinaryHeap<Reverse<(Timestamp, u64, Due)>>,
    timer_seq: u64,
    aaa_out: VecDeque<AaaRequest>,
    events_out: VecDeque<OperatorEvent>,
    pending_auth: HashMap<AuthId, AuthRequest>,
    sms: HashMap<String, Sms>,
    next_sms: u64,
    operations: HashMap<String, Operation>,
    next_operation: u64,
    maintenance: Vec<MaintenanceWindow>,
    outages: Vec<Outage>,
    forecasts: Vec<Forecast>,
    limits: HashMap<(TenantId, LimitKind), TokenBucket>,
    audit: VecDeque<AuditEntry>,
    next_session: u64,
}

impl Network {
    /// A network serving `fleet`, every modem powered and about to attach.
    pub fn new(
        config: OperatorConfig,
        fleet: &FleetManifest,
        seed: u64,
        now: Timestamp,
    ) -> Network {
        let mut net = Network {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            now,
            cells: Vec::new(),
            cell_index: HashMap::new(),
            sims: Vec::with_capacity(fleet.meters.len()),
            by_iccid: HashMap::with_capacity(fleet.meters.len()),
            by_msisdn: HashMap::with_capacity(fleet.meters.len()),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            aaa_out: VecDeque::new(),
            events_out: VecDeque::new(),
            pending_auth: HashMap::new(),
            sms: HashMap::new(),
            next_sms: 0,
            operations: HashMap::new(),
            next_operation: 0,
            maintenance: Vec::new(),
            outages: Vec::new(),
            forecasts: Vec::new(),
            limits: HashMap::new(),
            audit: VecDeque::new(),
            next_session: 0,
        };
        for entry in fleet.all_cells() {
            net.cell_index.insert(entry.id.clone(), net.cells.len());
            let area = entry.area.clone().unwrap_or_else(|| {
                format!("area-{}", &entry.geohash[..entry.geohash.len().min(5)])
            });
            net.cells.push(CellRecord {
                cell: Cell {
                    id: entry.id,
                    geohash: entry.geohash,
                    area,
                },
                condition: CellCondition::default(),
                sims: Vec::new(),
                kpi: KpiSeries::default(),
            });
        }
        for m in &fleet.meters {
            let idx = net.sims.len();
            let cell = net.cell_index[&m.cell];
            net.cells[cell].sims.push(idx);
            let sim = Sim {
                iccid: m.iccid.clone(),
                imsi: m.imsi.clone(),
                msisdn: m.msisdn.clone(),
                tenant: m.tenant.clone(),
                status: m.status,
                apn: m.apn(),
                device: m.id.clone(),
                data_mode: m.data_mode,
                data_limit_bytes: m.data_limit_bytes,
                data_used_bytes: 0,
                data_barred: false,
                radius_user: m.radius_user(),
                radius_password: m.radius_password(),
            };
            net.by_iccid.insert(sim.iccid.clone(), idx);
            net.by_msisdn.insert(sim.msisdn.clone(), idx);
            let mut modem = Modem::new(m.data_mode, now);
            if !m.status.may_attach() {
                modem.state = ModemState::Detached {
                    cause: DetachCause::SimInactive,
                };
            }
            let may_attach = m.status.may_attach();
            net.sims.push(SimRecord {
                sim,
                modem,
                cell,
                timer_gen: 0,
                attempt_at: None,
                kpi: KpiSeries::default(),
                aaa: VecDeque::new(),
                events: VecDeque::new(),
                sms_queue: Vec::new(),
                reachability: Reachability::Disconnected,
                reachability_since: now,
                last_loss: None,
                pending_reset: None,
            });
            if may_attach {
                let spread = net.config.startup_spread.as_millis() as u64;
                let at = now + Duration::from_millis(net.rng.gen_range(0..=spread));
                net.arm_at(idx, Timer::Attach, at);
            }
        }
        net
    }

    /// The configuration in force.
    pub fn config(&self) -> &OperatorConfig {
        &self.config
    }

    /// The latest time the network was told.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The next deadline, if any.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Processes everything due at or before `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.advance(now);
        while let Some(Reverse((at, _, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Reverse((at, _, due)) = self.timers.pop().expect("peeked");
            self.on_due(due, at.max(self.now));
        }
    }

    /// The next RADIUS request to send.
    pub fn poll_aaa(&mut self) -> Option<AaaRequest> {
        self.aaa_out.pop_front()
    }

    /// The next notification to deliver.
    pub fn poll_event(&mut self) -> Option<OperatorEvent> {
        self.events_out.pop_front()
    }

    /// The RADIUS side answered (or gave up on) Access-Request `id`.
    pub fn handle_auth_result(&mut self, id: AuthId, outcome: AuthOutcome, now: Timestamp) {
        self.advance(now);
        let Some(req) = self.pending_auth.remove(&id) else {
            return;
        };
        let idx = (id.0 >> 32) as usize;
        let seq = id.0 as u32;
        if idx >= self.sims.len()
            || self.sims[idx].modem.state != (ModemState::Authenticating { seq })
        {
            return; // the modem moved on (timed out, detached): the late answer changes nothing
        }
        let ip = match &outcome {
            AuthOutcome::Accept { framed_ip } => {
                Some(framed_ip.unwrap_or_else(|| pool_address(idx)))
            }
            _ => None,
        };
        let record = AaaRecord::outcome(self.now, &req, &outcome, ip);
        self.push_aaa_record(idx, record);
        self.step(idx, Input::AuthResult { seq, outcome }, ip);
    }

    /// The network stops waiting for RADIUS: the record says the server did not answer.
    fn give_up_auth(&mut self, idx: usize) {
        let ModemState::Authenticating { seq } = self.sims[idx].modem.state else {
            return;
        };
        let id = AuthId(((idx as u64) << 32) | u64::from(seq));
        if let Some(req) = self.pending_auth.remove(&id) {
            let outcome = AuthOutcome::Timeout {
                after: self.config.auth_deadline,
            };
            let record = AaaRecord::outcome(self.now, &req, &outcome, None);
            self.push_aaa_record(idx, record);
        }
    }

    /// The device sent or received `octets` over its data session. Refused when no session is
    /// up or the session is stale (the traffic is lost).
    pub fn handle_traffic(
        &mut self,
        iccid: &Iccid,
        octets: u64,
        now: Timestamp,
    ) -> Result<(), &'static str> {
        self.advance(now);
        let idx = *self.by_iccid.get(iccid).ok_or("no such SIM")?;
        let rec = &mut self.sims[idx];
        let ModemState::SessionUp(session) = &mut rec.modem.state else {
            return Err("no data session");
        };
        if session.stale {
            return Err("the data session passes no traffic");
        }
        session.last_traffic = Some(now);
        session.traffic_since_check = true;
        session.octets += octets;
        rec.modem.last_activity = Some(now);
        rec.sim.data_used_bytes += octets;
        if rec.sim.quota_exhausted() {
            self.sim_event(
                idx,
                "DATA_ALLOWANCE_EXHAUSTED",
                "The SIM used up its data allowance; the network ended its data session.".into(),
                None,
            );
            self.step(idx, Input::DataWithdrawn, None);
        }
        Ok(())
    }

    fn advance(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
    }

    fn schedule(&mut self, at: Timestamp, due: Due) {
        self.timer_seq += 1;
        self.timers.push(Reverse((at, self.timer_seq, due)));
    }

    fn arm_at(&mut self, idx: usize, timer: Timer, at: Timestamp) {
        let rec = &mut self.sims[idx];
        rec.timer_gen += 1;
        let gen = rec.timer_gen;
        self.schedule(
            at,
            Due::Modem {
                sim: idx,
                gen,
                timer,
            },
        );
    }

    /// `base` ± jitter.
    fn jittered(&mut self, base: Duration) -> Duration {
        let j = self.config.jitter.clamp(0.0, 1.0);
        if j == 0.0 || base.is_zero() {
            return base;
        }
        base.mul_f64(self.rng.gen_range(1.0 - j..=1.0 + j))
    }

    fn delay(&mut self, delay: Delay) -> Duration {
        let c = &self.config;
        let base = match delay {
            Delay::Attach => c.attach_delay,
            Delay::Reattach => c.reattach_delay,
            Delay::SessionStart => c.session_delay,
            Delay::NetworkCheck => c.network_check_delay,
            Delay::AuthDeadline => return c.auth_deadline,
            Delay::Idle => return c.idle_timeout,
            Delay::Backoff(n) => {
                let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
                c.retry_base.saturating_mul(factor).min(c.retry_max)
            }
        };
        self.jittered(base)
    }

    fn on_due(&mut self, due: Due, now: Timestamp) {
        match due {
            Due::Modem { sim, gen, timer } => {
                if self.sims[sim].timer_gen == gen {
                    if timer == Timer::AuthDeadline {
                        self.give_up_auth(sim);
                    }
                    self.step(sim, Input::Timer(timer), None);
                }
            }
            Due::SmsDeliver(id) => self.deliver_sms(&id),
            Due::SmsExpire(id) => self.expire_sms(&id),
            Due::Operation(id) => self.complete_operation(&id),
            Due::MaintenanceAnnounce(i) => {
                let window = self.maintenance[i].clone();
                self.events_out
                    .push_back(OperatorEvent::MaintenanceAnnounced(window));
            }
            Due::MaintenanceStart(i) => self.maintenance_edge(i, true),
            Due::MaintenanceEnd(i) => self.maintenance_edge(i, false),
            Due::OutageEnd(i) => self.end_outage(i, now),
            Due::ForecastStart(i) => self.forecast_edge(i, true),
            Due::ForecastEnd(i) => self.forecast_edge(i, false),
        }
    }

    fn conditions(&mut self, idx: usize, input: &Input) -> Conditions {
        let rec = &self.sims[idx];
        let cell = &self.cells[rec.cell].condition;
        let marginal = cell.forecast_marginal > 0;
        let mut cond = Conditions {
            cell_serving: cell.serving(),
            sim_may_attach: rec.sim.status.may_attach(),
            data_barred: rec.sim.data_barred,
            quota_exhausted: rec.sim.quota_exhausted(),
            radio_ok: true,
        };
        if marginal && *input == Input::Timer(Timer::NetworkCheck) {
            let p = self.config.marginal_failure.clamp(0.0, 1.0);
            cond.radio_ok = !self.rng.gen_bool(p);
        }
        cond
    }

    /// Steps one modem and carries out the effects.
    fn step(&mut self, idx: usize, input: Input, framed_ip: Option<Ipv4Addr>) {
        let cond = self.conditions(idx, &input);
        let now = self.now;
        let rec = &mut self.sims[idx];
        let before = (std::mem::discriminant(&rec.modem.state), rec.modem.since);
        let old_session = match &rec.modem.state {
            ModemState::SessionUp(s) => Some(s.clone()),
            _ => None,
        };
        let new_session = NewSession {
            id: format!("{:08X}", self.next_session + 1),
            ip: framed_ip.unwrap_or_else(|| pool_address(idx)),
        };
        let effects = rec.modem.step(input, cond, now, || new_session);
        if (std::mem::discriminant(&rec.modem.state), rec.modem.since) != before {
            rec.timer_gen += 1; // the old state's timer no longer applies
        }
        for effect in effects {
            self.apply(idx, effect, old_session.as_ref());
        }
        self.update_reachability(idx);
    }

    fn apply(&mut self, idx: usize, effect: Effect, old_session: Option<&DataSession>) {
        let now = self.now;
        match effect {
            Effect::Arm(timer, delay) => {
                let d = self.delay(delay);
                self.arm_at(idx, timer, now + d);
            }
            Effect::Authenticate { seq } => {
                let s = &self.sims[idx].sim;
                let req = AuthRequest {
                    id: AuthId(((idx as u64) << 32) | u64::from(seq)),
                    iccid: s.iccid.clone(),
                    imsi: s.imsi.clone(),
                    msisdn: s.msisdn.clone(),
                    user: s.radius_user.clone(),
                    password: s.radius_password.clone(),
                    apn: s.apn.clone(),
                };
                self.push_aaa_record(idx, AaaRecord::access_request(now, &req));
                self.pending_auth.insert(req.id, req.clone());
                self.aaa_out.push_back(AaaRequest::Authenticate(req));
            }
            Effect::SetupAttempt => {
                let rec = &mut self.sims[idx];
                rec.attempt_at = Some(now);
                rec.kpi.attempt(now);
                self.cells[rec.cell].kpi.attempt(now);
            }
            Effect::SetupSucceeded => {
                let rec = &mut self.sims[idx];
                if let Some(at) = rec.attempt_at.take() {
                    rec.kpi.success(at);
                    self.cells[rec.cell].kpi.success(at);
                }
            }
            Effect::SetupFailed(failure) => {
                self.sims[idx].attempt_at = None;
                let line = format!("A data session could not be set up: {}.", failure.explain());
                self.sim_event(idx, "SESSION_SETUP_FAILED", line, None);
            }
            Effect::SessionStarted => {
                self.next_session += 1;
                let ModemState::SessionUp(session) = &self.sims[idx].modem.state else {
                    return;
                };
                let session = session.clone();
                self.account(idx, AccountingKind::Start, &session, None);
                self.pdn_report(idx, PdnStatus::Created, Some(session.ip));
                let line = format!("A data session is up with IP address {}.", session.ip);
                self.sim_event(idx, "SESSION_UP", line, None);
            }
            Effect::SessionReleased(cause) => {
                let Some(session) = old_session else { return };
                self.account(idx, AccountingKind::Stop, session, Some(cause));
                self.pdn_report(idx, PdnStatus::Released, Some(session.ip));
                let line = format!(
                    "The data session ended: {} ({}).",
                    cause.explain(),
                    cause.radius_name()
                );
                self.sim_event(idx, "SESSION_RELEASED", line, None);
            }
            Effect::LostConnectivity(reason) => {
                self.sims[idx].last_loss = Some((reason, now));
                let mut report = self.report(idx, MonitoringType::LossOfConnectivity);
                report.loss_of_connect_reason = Some(reason);
                self.events_out.push_back(OperatorEvent::Monitoring(report));
                let line = match reason {
                    LossReason::UeDetached => "The network detached the device; it must register again.",
                    LossReason::MaxDetectionTimeExpired => "The network lost contact with the device (nothing heard from it).",
                    LossReason::Purged => "The network removed the device's registration because its SIM is not active.",
                };
                self.sim_event(idx, "LOSS_OF_CONNECTIVITY", line.into(), None);
            }
            Effect::Registered => {
                let cell = self.cells[self.sims[idx].cell].cell.id.clone();
                self.sim_event(
                    idx,
                    "REGISTERED",
                    format!("The device registered on the network in cell {cell}."),
                    None,
                );
                let queued = self.sims[idx].sms_queue.clone();
                let delay = self.config.sms_delivery_delay;
                for id in queued {
                    let d = self.jittered(delay);
                    self.schedule(now + d, Due::SmsDeliver(id));
                }
            }
        }
    }

    fn account(
        &mut self,
        idx: usize,
        kind: AccountingKind,
        session: &DataSession,
        cause: Option<super::aaa::TerminateCause>,
    ) {
        let now = self.now;
        let s = &self.sims[idx].sim;
        let req = AccountingRequest {
            iccid: s.iccid.clone(),
            imsi: s.imsi.clone(),
            msisdn: s.msisdn.clone(),
            user: s.radius_user.clone(),
            apn: s.apn.clone(),
            kind,
            session_id: session.id.clone(),
            ip: session.ip,
            terminate_cause: cause,
            session_time: now.since(session.started),
            octets: session.octets,
        };
        self.push_aaa_record(idx, AaaRecord::accounting(now, &req));
        self.aaa_out.push_back(AaaRequest::Account(req));
    }

    fn report(&self, idx: usize, monitoring_type: MonitoringType) -> MonitoringReport {
        let rec = &self.sims[idx];
        let cell = &self.cells[rec.cell].cell;
        MonitoringReport {
            tenant: rec.sim.tenant.clone(),
            iccid: rec.sim.iccid.clone(),
            msisdn: rec.sim.msisdn.clone(),
            monitoring_type,
            event_time: self.now,
            loss_of_connect_reason: None,
            reachability_type: None,
            pdn_conn_info_list: Vec::new(),
            location_info: Some(LocationInfo {
                cell_id: cell.id.clone(),
                tracking_area_id: cell.area.clone(),
            }),
        }
    }

    fn pdn_report(&mut self, idx: usize, status: PdnStatus, ip: Option<Ipv4Addr>) {
        let mut report = self.report(idx, MonitoringType::PdnConnectivityStatus);
        report.pdn_conn_info_list = vec![PdnConnectionInformation {
            status,
            apn: self.sims[idx].sim.apn.clone(),
            pdn_type: "IPV4",
            ipv4_addr: ip,
        }];
        self.events_out.push_back(OperatorEvent::Monitoring(report));
    }

    fn update_reachability(&mut self, idx: usize) {
        let rec = &self.sims[idx];
        let now_reach = match &rec.modem.state {
            ModemState::SessionUp(_) => Reachability::Data,
            ModemState::Detached { .. } => Reachability::Disconnected,
            _ => Reachability::Sms,
        };
        if now_reach == rec.reachability {
            return;
        }
        let rec = &mut self.sims[idx];
        rec.reachability = now_reach;
        rec.reachability_since = self.now;
        let event = OperatorEvent::ReachabilityChanged {
            tenant: rec.sim.tenant.clone(),
            iccid: rec.sim.iccid.clone(),
            msisdn: rec.sim.msisdn.clone(),
            reachability: now_reach,
            at: self.now,
        };
        self.events_out.push_back(event);
        let kind = match now_reach {
            Reachability::Data => Some(ReachabilityType::Data),
            Reachability::Sms => Some(ReachabilityType::Sms),
            Reachability::Disconnected => None,
        };
        if let Some(kind) = kind {
            let mut report = self.report(idx, MonitoringType::UeReachability);
            report.reachability_type = Some(kind);
            self.events_out.push_back(OperatorEvent::Monitoring(report));
        }
    }

    fn push_aaa_record(&mut self, idx: usize, record: AaaRecord) {
        let max = self.config.records_per_sim.max(1);
        let records = &mut self.sims[idx].aaa;
        if records.len() == max {
            records.pop_front();
        }
        records.push_back(record);
    }

    fn sim_event(
        &mut self,
        idx: usize,
        kind: &'static str,
        line: String,
        operation_id: Option<String>,
    ) {
        let max = self.config.events_per_sim.max(1);
        let events = &mut self.sims[idx].events;
        if events.len() == max {
            events.pop_front();
        }
        events.push_back(SimEvent {
            time: self.now,
            kind,
            line,
            operation_id,
        });
    }

    fn deliver_sms(&mut self, id: &str) {
        let now = self.now;
        let Some(sms) = self.sms.get(id) else { return };
        if sms.status != super::sms::SmsStatus::Queued {
            return;
        }
        let idx = self.by_iccid[&sms.iccid];
        let rec = &self.sims[idx];
        if !rec.modem.state.attached() || !self.cells[rec.cell].condition.serving() {
            return; // stays queued; delivered when the modem registers
        }
        let sms = self.sms.get_mut(id).expect("present");
        sms.status = super::sms::SmsStatus::Delivered;
        sms.delivered_at = Some(now);
        let text = sms.text.clone();
        let rec = &mut self.sims[idx];
        rec.sms_queue.retain(|q| q != id);
        let event = OperatorEvent::SmsDelivered {
            tenant: rec.sim.tenant.clone(),
            iccid: rec.sim.iccid.clone(),
            msisdn: rec.sim.msisdn.clone(),
            sms_id: id.to_string(),
            text,
            at: now,
        };
        self.events_out.push_back(event);
        self.sim_event(
            idx,
            "SMS_DELIVERED",
            format!("SMS {id} reached the device."),
            None,
        );
        self.step(idx, Input::SmsDelivered, None);
    }

    fn expire_sms(&mut self, id: &str) {
        let Some(sms) = self.sms.get_mut(id) else {
            return;
        };
        if sms.status != super::sms::SmsStatus::Queued {
            return;
        }
        sms.status = super::sms::SmsStatus::Expired;
        let idx = self.by_iccid[&sms.iccid];
        self.sims[idx].sms_queue.retain(|q| q != id);
        self.sim_event(idx, "SMS_EXPIRED", format!("SMS {id} expired undelivered: the device was not registered on the network during its validity."), None);
    }

    /// Re-evaluates a cell after its condition changed; steps its modems if it went down or up.
    fn cell_changed(&mut self, cell: usize, was_serving: bool, why: &str) {
        let serving = self.cells[cell].condition.serving();
        if serving == was_serving {
            return;
        }
        let sims = self.cells[cell].sims.clone();
        let id = self.cells[cell].cell.id.clone();
        for idx in sims {
            if serving {
                self.sim_event(
                    idx,
                    "CELL_UP",
                    format!("Cell {id} is serving again ({why})."),
                    None,
                );
                self.step(idx, Input::CellUp, None);
            } else {
                self.sim_event(
                    idx,
                    "CELL_DOWN",
                    format!("Cell {id} stopped serving: {why}."),
                    None,
                );
                self.step(idx, Input::CellDown, None);
            }
        }
    }
}

/// The address the network's pool gives SIM `idx` (10.64.0.0/10).
fn pool_address(idx: usize) -> Ipv4Addr {
    let n = 0x0A40_0000u32 + (idx as u32 % 0x003F_FFFE) + 1;
    Ipv4Addr::from(n)
}

#[cfg(test)]
mod tests;
