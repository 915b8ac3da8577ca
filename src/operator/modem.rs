//! The state machine of one SIM's modem as the network sees it.
//!
//! ```text
//! Detached ──attach──▶ Registered ──request──▶ SessionRequested ──network checks──▶ Authenticating
//!    ▲                    ▲  ▲                        │ refused (barred, quota, radio)      │
//!    │                    │  └────────────────────────┘◀───── Access-Reject / timeout ─────┘
//!    │                    └──── released (terminate cause) ◀── SessionUp ◀── Access-Accept
//!    └── power loss, cell down, cancel location, SIM deactivated (from any attached state)
//! ```
//!
//! Stuck states that a reset cures: `Registered` with `stuck_no_session` (the modem never asks for
//! a data session again), and `SessionUp` with `stale` (the session exists but passes no traffic).
//!
//! [`Modem::step`] is a pure transition: it takes an input and the conditions around the modem
//! (cell serving, SIM status, barring, radio) and returns effects for the network to carry out.
//! The network owns timers: an [`Effect::Arm`] replaces the modem's pending timer, and a timer
//! fires only if its generation is still the modem's current one.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::aaa::{AuthOutcome, TerminateCause};
use super::monitoring::LossReason;
use super::sim::DataMode;
use super::time::Timestamp;

/// Why a modem is off the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DetachCause {
    /// Not attached yet since the simulation started.
    NeverAttached,
    /// The device lost power: no network activity at all.
    PowerLoss,
    /// The operator cancelled its location (a reset); it re-registers on its own, or not.
    CancelLocation,
    /// Its cell is not serving (planned maintenance, outage, no coverage).
    NoCoverage,
    /// The SIM is not in a status that may attach.
    SimInactive,
}

/// A data session (PDP context / PDU session) that is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSession {
    pub id: String,
    pub ip: Ipv4Addr,
    pub started: Timestamp,
    pub last_traffic: Option<Timestamp>,
    pub octets: u64,
    /// Up on paper but passing no traffic.
    pub stale: bool,
    /// Traffic passed since the last idle check (on-demand sessions).
    #[serde(skip)]
    pub traffic_since_check: bool,
}

/// Where the modem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModemState {
    Detached {
        cause: DetachCause,
    },
    /// Attached (reachable by SMS), no data session.
    Registered,
    /// The modem asked for a data session; the network checks SIM, barring, quota and radio.
    SessionRequested,
    /// Waiting for the utility's RADIUS server to answer Access-Request number `seq`.
    Authenticating {
        seq: u32,
    },
    SessionUp(DataSession),
}

impl ModemState {
    pub fn name(&self) -> &'static str {
        match self {
            ModemState::Detached { .. } => "DETACHED",
            ModemState::Registered => "REGISTERED",
            ModemState::SessionRequested => "SESSION_REQUESTED",
            ModemState::Authenticating { .. } => "AUTHENTICATING",
            ModemState::SessionUp(_) => "SESSION_UP",
        }
    }

    pub fn attached(&self) -> bool {
        !matches!(self, ModemState::Detached { .. })
    }
}

/// The modem's timers (at most one pending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Try to register.
    Attach,
    /// Ask for a data session.
    Session,
    /// The network finishes its checks of a session request.
    NetworkCheck,
    /// Give up waiting for the RADIUS answer.
    AuthDeadline,
    /// Check an on-demand session for idleness.
    Idle,
}

/// How long a timer waits; the network turns these into durations with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    Attach,
    /// Re-attach after a cancel location.
    Reattach,
    SessionStart,
    NetworkCheck,
    AuthDeadline,
    Idle,
    /// After `n` consecutive failures.
    Backoff(u32),
}

/// Why the network refused a session request before or at RADIUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SetupFailure {
    DataServiceBarred,
    QuotaExhausted,
    SimInactive,
    RadioFailure,
    /// Access-Reject from the utility's RADIUS server.
    AaaReject,
    /// The utility's RADIUS server did not answer.
    AaaUnreachable,
}

impl SetupFailure {
    pub fn explain(self) -> &'static str {
        match self {
            SetupFailure::DataServiceBarred => "the data service of this SIM is barred",
            SetupFailure::QuotaExhausted => "the SIM has used up its data allowance",
            SetupFailure::SimInactive => "the SIM is not active",
            SetupFailure::RadioFailure => "the radio link failed while setting up the session",
            SetupFailure::AaaReject => "the utility's RADIUS server refused the SIM's credentials",
            SetupFailure::AaaUnreachable => "the utility's RADIUS server did not answer",
        }
    }
}

/// What the network must do after a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Arm(Timer, Delay),
    /// Send Access-Request number `seq`.
    Authenticate {
        seq: u32,
    },
    /// A session setup attempt reached the network (KPI numerator and denominator).
    SetupAttempt,
    SetupSucceeded,
    SetupFailed(SetupFailure),
    /// The session came up: send Accounting-Start, report PDN CREATED.
    SessionStarted,
    /// The session ended: send Accounting-Stop with this cause, report PDN RELEASED.
    SessionReleased(TerminateCause),
    /// Report LOSS_OF_CONNECTIVITY.
    LostConnectivity(LossReason),
    /// The modem registered (reachable by SMS): deliver queued SMS.
    Registered,
}

/// Inputs to the modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Timer(Timer),
    AuthResult {
        seq: u32,
        outcome: AuthOutcome,
    },
    PowerLoss,
    PowerRestore,
    CellDown,
    CellUp,
    SimDeactivated,
    SimActivated,
    /// The network withdraws the data service (barring, quota) from a live session.
    DataWithdrawn,
    DeleteDataSession,
    /// `stay_off`: this modem will not re-register until it is power-cycled.
    CancelLocation {
        stay_off: bool,
    },
    /// Fault: the modem stops asking for data sessions.
    InjectNoSession,
    /// Fault: the live session stops passing traffic.
    InjectStale,
    /// A (wake-up) SMS reached the modem.
    SmsDelivered,
}

/// What the network knows around the modem when it steps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conditions {
    pub cell_serving: bool,
    pub sim_may_attach: bool,
    pub data_barred: bool,
    pub quota_exhausted: bool,
    /// False when the radio fails this session setup (drawn by the network in a degraded cell).
    pub radio_ok: bool,
}

impl Conditions {
    pub const GOOD: Conditions = Conditions {
        cell_serving: true,
        sim_may_attach: true,
        data_barred: false,
        quota_exhausted: false,
        radio_ok: true,
    };
}

/// Values the network supplies when a session comes up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: String,
    pub ip: Ipv4Addr,
}

/// One SIM's modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modem {
    pub state: ModemState,
    /// When `state` was entered.
    pub since: Timestamp,
    pub powered: bool,
    pub data_mode: DataMode,
    pub stuck_no_session: bool,
    /// After a cancel location: off until a power cycle.
    pub stay_off: bool,
    /// Consecutive failed session setups (for backoff).
    pub failures: u32,
    pub last_release: Option<(TerminateCause, Timestamp)>,
    pub last_failure: Option<(SetupFailure, Timestamp)>,
    /// The last time the network heard from the modem.
    pub last_activity: Option<Timestamp>,
    /// The Access-Request counter.
    pub auth_seq: u32,
}

impl Modem {
    pub fn new(data_mode: DataMode, now: Timestamp) -> Modem {
        Modem {
            state: ModemState::Detached {
                cause: DetachCause::NeverAttached,
            },
            since: now,
            powered: true,
            data_mode,
            stuck_no_session: false,
            stay_off: false,
            failures: 0,
            last_release: None,
            last_failure: None,
            last_activity: None,
            auth_seq: 0,
        }
    }

    fn enter(&mut self, state: ModemState, now: Timestamp) {
        self.state = state;
        self.since = now;
    }

    fn wants_session(&self) -> bool {
        self.data_mode == DataMode::AlwaysOn && !self.stuck_no_session
    }

    /// Applies one input. `new_session` supplies the id and address if a session comes up.
    pub fn step(
        &mut self,
        input: Input,
        cond: Conditions,
        now: Timestamp,
        new_session: impl FnOnce() -> NewSession,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        match input {
            Input::PowerLoss => {
                self.powered = false;
                self.leave_network(
                    DetachCause::PowerLoss,
                    TerminateCause::LostCarrier,
                    LossReason::MaxDetectionTimeExpired,
                    now,
                    &mut fx,
                );
            }
            Input::PowerRestore => {
                // A power cycle also clears firmware-level stuck states.
                let was_off = !self.powered || self.stay_off;
                self.powered = true;
                self.stay_off = false;
                self.stuck_no_session = false;
                if was_off && !self.state.attached() {
                    fx.push(Effect::Arm(Timer::Attach, Delay::Attach));
                }
            }
            Input::CellDown => {
                self.leave_network(
                    DetachCause::NoCoverage,
                    TerminateCause::LostService,
                    LossReason::MaxDetectionTimeExpired,
                    now,
                    &mut fx,
                );
            }
            Input::CellUp => {
                if self.state
                    == (ModemState::Detached {
                        cause: DetachCause::NoCoverage,
                    })
                    && self.powered
                    && !self.stay_off
                {
                    fx.push(Effect::Arm(Timer::Attach, Delay::Attach));
                }
            }
            Input::SimDeactivated => {
                self.leave_network(
                    DetachCause::SimInactive,
                    TerminateCause::AdminReset,
                    LossReason::Purged,
                    now,
                    &mut fx,
                );
            }
            Input::SimActivated => {
                if self.state
                    == (ModemState::Detached {
                        cause: DetachCause::SimInactive,
                    })
                    && self.powered
                    && !self.stay_off
                {
                    fx.push(Effect::Arm(Timer::Attach, Delay::Attach));
                }
            }
            Input::CancelLocation { stay_off } => {
                self.stuck_no_session = false;
                if self.state.attached() {
                    self.leave_network(
                        DetachCause::CancelLocation,
                        TerminateCause::AdminReset,
                        LossReason::UeDetached,
                        now,
                        &mut fx,
                    );
                    if stay_off {
                        self.stay_off = true;
                    } else {
                        fx.push(Effect::Arm(Timer::Attach, Delay::Reattach));
                    }
                }
            }
            Input::DeleteDataSession => {
                self.stuck_no_session = false;
                match &self.state {
                    ModemState::SessionUp(_) => {
                        self.release(TerminateCause::AdminReset, now, &mut fx);
                        self.failures = 0;
                        if self.wants_session() {
                            fx.push(Effect::Arm(Timer::Session, Delay::SessionStart));
                        }
                    }
                    ModemState::Registered if self.wants_session() => {
                        self.failures = 0;
                        fx.push(Effect::Arm(Timer::Session, Delay::SessionStart));
                    }
                    _ => {}
                }
            }
            Input::InjectNoSession => {
                if self.state.attached() {
                    self.stuck_no_session = true;
                    if matches!(self.state, ModemState::SessionUp(_)) {
                        self.release(TerminateCause::NasError, now, &mut fx);
                    } else {
                        self.enter(ModemState::Registered, now);
                    }
                }
            }
            Input::InjectStale => {
                if let ModemState::SessionUp(s) = &mut self.state {
                    s.stale = true;
                }
            }
            Input::DataWithdrawn => {
                if matches!(self.state, ModemState::SessionUp(_)) {
                    self.release(TerminateCause::ServiceUnavailable, now, &mut fx);
                    if self.wants_session() {
                        fx.push(Effect::Arm(
                            Timer::Session,
                            Delay::Backoff(self.failures.max(1)),
                        ));
                    }
                }
            }
            Input::SmsDelivered => {
                self.last_activity = Some(now);
                if self.state == ModemState::Registered
                    && self.data_mode == DataMode::OnDemand
                    && !self.stuck_no_session
                {
                    fx.push(Effect::Arm(Timer::Session, Delay::SessionStart));
                }
            }
            Input::Timer(timer) => self.on_timer(timer, cond, now, &mut fx),
            Input::AuthResult { seq, outcome } => {
                if self.state == (ModemState::Authenticating { seq }) {
                    self.on_auth_result(outcome, now, new_session, &mut fx);
                }
            }
        }
        fx
    }

    fn on_timer(&mut self, timer: Timer, cond: Conditions, now: Timestamp, fx: &mut Vec<Effect>) {
        match (timer, &self.state) {
            (Timer::Attach, ModemState::Detached { .. }) => {
                if !self.powered || self.stay_off {
                    return;
                }
                if !cond.cell_serving {
                    self.enter(
                        ModemState::Detached {
                            cause: DetachCause::NoCoverage,
                        },
                        now,
                    );
                } else if !cond.sim_may_attach {
                    self.enter(
                        ModemState::Detached {
                            cause: DetachCause::SimInactive,
                        },
                        now,
                    );
                } else {
                    self.enter(ModemState::Registered, now);
                    self.last_activity = Some(now);
                    self.failures = 0;
                    fx.push(Effect::Registered);
                    if self.wants_session() {
                        fx.push(Effect::Arm(Timer::Session, Delay::SessionStart));
                    }
                }
            }
            (Timer::Session, ModemState::Registered) => {
                if self.stuck_no_session {
                    return;
                }
                self.enter(ModemState::SessionRequested, now);
                self.last_activity = Some(now);
                fx.push(Effect::SetupAttempt);
                fx.push(Effect::Arm(Timer::NetworkCheck, Delay::NetworkCheck));
            }
            (Timer::NetworkCheck, ModemState::SessionRequested) => {
                let refused = if !cond.sim_may_attach {
                    Some(SetupFailure::SimInactive)
                } else if cond.data_barred {
                    Some(SetupFailure::DataServiceBarred)
                } else if cond.quota_exhausted {
                    Some(SetupFailure::QuotaExhausted)
                } else if !cond.radio_ok {
                    Some(SetupFailure::RadioFailure)
                } else {
                    None
                };
                match refused {
                    Some(failure) => self.fail(failure, now, fx),
                    None => {
                        self.auth_seq = self.auth_seq.wrapping_add(1);
                        let seq = self.auth_seq;
                        self.enter(ModemState::Authenticating { seq }, now);
                        fx.push(Effect::Authenticate { seq });
                        fx.push(Effect::Arm(Timer::AuthDeadline, Delay::AuthDeadline));
                    }
                }
            }
            (Timer::AuthDeadline, ModemState::Authenticating { .. }) => {
                self.fail(SetupFailure::AaaUnreachable, now, fx);
            }
            (Timer::Idle, ModemState::SessionUp(_)) if self.data_mode == DataMode::OnDemand => {
                let ModemState::SessionUp(session) = &mut self.state else {
                    return;
                };
                if session.traffic_since_check && !session.stale {
                    // Traffic since the last check: look again one idle period later.
                    session.traffic_since_check = false;
                    fx.push(Effect::Arm(Timer::Idle, Delay::Idle));
                } else {
                    self.release(TerminateCause::IdleTimeout, now, fx);
                }
            }
            _ => {} // a timer for a state the modem has left
        }
    }

    fn on_auth_result(
        &mut self,
        outcome: AuthOutcome,
        now: Timestamp,
        new_session: impl FnOnce() -> NewSession,
        fx: &mut Vec<Effect>,
    ) {
        match outcome {
            AuthOutcome::Accept { .. } => {
                let NewSession { id, ip } = new_session();
                self.enter(
                    ModemState::SessionUp(DataSession {
                        id,
                        ip,
                        started: now,
                        last_traffic: None,
                        octets: 0,
                        stale: false,
                        traffic_since_check: false,
                    }),
                    now,
                );
                self.failures = 0;
                self.last_activity = Some(now);
                fx.push(Effect::SetupSucceeded);
                fx.push(Effect::SessionStarted);
                if self.data_mode == DataMode::OnDemand {
                    fx.push(Effect::Arm(Timer::Idle, Delay::Idle));
                }
            }
            AuthOutcome::Reject { .. } => self.fail(SetupFailure::AaaReject, now, fx),
            AuthOutcome::Timeout { .. } => self.fail(SetupFailure::AaaUnreachable, now, fx),
        }
    }

    fn fail(&mut self, failure: SetupFailure, now: Timestamp, fx: &mut Vec<Effect>) {
        self.enter(ModemState::Registered, now);
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some((failure, now));
        fx.push(Effect::SetupFailed(failure));
        // An on-demand modem gives up until the next wake-up; an always-on one retries.
        if self.wants_session() {
            fx.push(Effect::Arm(Timer::Session, Delay::Backoff(self.failures)));
        }
    }

    fn release(&mut self, cause: TerminateCause, now: Timestamp, fx: &mut Vec<Effect>) {
        self.enter(ModemState::Registered, now);
        self.last_release = Some((cause, now));
        fx.push(Effect::SessionReleased(cause));
    }

    fn leave_network(
        &mut self,
        detach: DetachCause,
        terminate: TerminateCause,
        loss: LossReason,
        now: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        match &self.state {
            ModemState::Detached { .. } => {
                // Already off: only remember the more telling cause.
                if detach == DetachCause::PowerLoss || detach == DetachCause::SimInactive {
                    self.enter(ModemState::Detached { cause: detach }, now);
                }
            }
            state => {
                if matches!(state, ModemState::SessionUp(_)) {
                    self.last_release = Some((terminate, now));
                    fx.push(Effect::SessionReleased(terminate));
                }
                fx.push(Effect::LostConnectivity(loss));
                self.enter(ModemState::Detached { cause: detach }, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const T: Timestamp = Timestamp(1_000_000);

    fn session(stale: bool) -> ModemState {
        ModemState::SessionUp(DataSession {
            id: "S1".into(),
            ip: Ipv4Addr::new(10, 64, 0, 1),
            started: Timestamp(0),
            last_traffic: None,
            octets: 0,
            stale,
            traffic_since_check: false,
        })
    }

    fn detached(cause: DetachCause) -> ModemState {
        ModemState::Detached { cause }
    }

    fn modem(state: ModemState, mode: DataMode) -> Modem {
        let mut m = Modem::new(mode, Timestamp(0));
        m.powered = state != detached(DetachCause::PowerLoss);
        m.state = state;
        m.auth_seq = 1;
        m
    }

    const BAD_CELL: Conditions = Conditions {
        cell_serving: false,
        ..Conditions::GOOD
    };
    const INACTIVE: Conditions = Conditions {
        sim_may_attach: false,
        ..Conditions::GOOD
    };
    const BARRED: Conditions = Conditions {
        data_barred: true,
        ..Conditions::GOOD
    };
    const QUOTA: Conditions = Conditions {
        quota_exhausted: true,
        ..Conditions::GOOD
    };
    const RADIO: Conditions = Conditions {
        radio_ok: false,
        ..Conditions::GOOD
    };

    fn accept() -> Input {
        Input::AuthResult {
            seq: 1,
            outcome: AuthOutcome::Accept { framed_ip: None },
        }
    }

    fn reject() -> Input {
        Input::AuthResult {
            seq: 1,
            outcome: AuthOutcome::Reject {
                reply_message: None,
            },
        }
    }

    use DataMode::{AlwaysOn as ON, OnDemand as OD};
    use Delay as D;
    use Effect as E;
    use TerminateCause as TC;

    /// (name, state before, data mode, conditions, input, state after, effects).
    #[allow(clippy::type_complexity)]
    fn table() -> Vec<(
        &'static str,
        ModemState,
        DataMode,
        Conditions,
        Input,
        &'static str,
        Vec<Effect>,
    )> {
        let auth = ModemState::Authenticating { seq: 1 };
        vec![
            (
                "attach registers and asks for a session",
                detached(DetachCause::NeverAttached),
                ON,
                Conditions::GOOD,
                Input::Timer(Timer::Attach),
                "REGISTERED",
                vec![E::Registered, E::Arm(Timer::Session, D::SessionStart)],
            ),
            (
                "an on-demand modem registers and waits",
                detached(DetachCause::NeverAttached),
                OD,
                Conditions::GOOD,
                Input::Timer(Timer::Attach),
                "REGISTERED",
                vec![E::Registered],
            ),
            (
                "attach without a serving cell finds no coverage",
                detached(DetachCause::NeverAttached),
                ON,
                BAD_CELL,
                Input::Timer(Timer::Attach),
                "DETACHED",
                vec![],
            ),
            (
                "attach with an inactive SIM is refused",
                detached(DetachCause::NeverAttached),
                ON,
                INACTIVE,
                Input::Timer(Timer::Attach),
                "DETACHED",
                vec![],
            ),
            (
                "the session timer requests a session",
                ModemState::Registered,
                ON,
                Conditions::GOOD,
                Input::Timer(Timer::Session),
                "SESSION_REQUESTED",
                vec![
                    E::SetupAttempt,
                    E::Arm(Timer::NetworkCheck, D::NetworkCheck),
                ],
            ),
            (
                "network checks pass: Access-Request goes out",
                ModemState::SessionRequested,
                ON,
                Conditions::GOOD,
                Input::Timer(Timer::NetworkCheck),
                "AUTHENTICATING",
                vec![
                    E::Authenticate { seq: 2 },
                    E::Arm(Timer::AuthDeadline, D::AuthDeadline),
                ],
            ),
            (
                "barred data is refused before RADIUS",
                ModemState::SessionRequested,
                ON,
                BARRED,
                Input::Timer(Timer::NetworkCheck),
                "REGISTERED",
                vec![
                    E::SetupFailed(SetupFailure::DataServiceBarred),
                    E::Arm(Timer::Session, D::Backoff(1)),
                ],
            ),
            (
                "an exhausted allowance is refused",
                ModemState::SessionRequested,
                ON,
                QUOTA,
                Input::Timer(Timer::NetworkCheck),
                "REGISTERED",
                vec![
                    E::SetupFailed(SetupFailure::QuotaExhausted),
                    E::Arm(Timer::Session, D::Backoff(1)),
                ],
            ),
            (
                "a radio failure fails the setup",
                ModemState::SessionRequested,
                ON,
                RADIO,
                Input::Timer(Timer::NetworkCheck),
                "REGISTERED",
                vec![
                    E::SetupFailed(SetupFailure::RadioFailure),
                    E::Arm(Timer::Session, D::Backoff(1)),
                ],
            ),
            (
                "Access-Accept brings the session up",
                auth.clone(),
                ON,
                Conditions::GOOD,
                accept(),
                "SESSION_UP",
                vec![E::SetupSucceeded, E::SessionStarted],
            ),
            (
                "an on-demand session watches for idleness",
                auth.clone(),
                OD,
                Conditions::GOOD,
                accept(),
                "SESSION_UP",
                vec![
                    E::SetupSucceeded,
                    E::SessionStarted,
                    E::Arm(Timer::Idle, D::Idle),
                ],
            ),
            (
                "Access-Reject fails the setup and backs off",
                auth.clone(),
                ON,
                Conditions::GOOD,
                reject(),
                "REGISTERED",
                vec![
                    E::SetupFailed(SetupFailure::AaaReject),
                    E::Arm(Timer::Session, D::Backoff(1)),
                ],
            ),
            (
                "an on-demand modem gives up after a reject",
                auth.clone(),
                OD,
                Conditions::GOOD,
                reject(),
                "REGISTERED",
                vec![E::SetupFailed(SetupFailure::AaaReject)],
            ),
            (
                "a RADIUS timeout fails the setup",
                auth.clone(),
                ON,
                Conditions::GOOD,
                Input::AuthResult {
                    seq: 1,
                    outcome: AuthOutcome::Timeout {
                        after: Duration::from_secs(3),
                    },
                },
                "REGISTERED",
                vec![
                    E::SetupFailed(SetupFailure::AaaUnreachable),
                    E::Arm(Timer::Session, D::Backoff(1)),
                ],
            ),
            (
                "the network's own deadline fails the setup",
                auth.clone(),
                ON,
                Conditions::GOOD,
                Input::Timer(Timer::AuthDeadline),
                "REGISTERED",
                vec![
                    E::SetupFailed(SetupFailure::AaaUnreachable),
                    E::Arm(Timer::Session, D::Backoff(1)),
                ],
            ),
            (
                "a late answer to an older request is ignored",
                auth.clone(),
                ON,
                Conditions::GOOD,
                Input::AuthResult {
                    seq: 7,
                    outcome: AuthOutcome::Accept { framed_ip: None },
                },
                "AUTHENTICATING",
                vec![],
            ),
            (
                "power loss ends the session silently",
                session(false),
                ON,
                Conditions::GOOD,
                Input::PowerLoss,
                "DETACHED",
                vec![
                    E::SessionReleased(TC::LostCarrier),
                    E::LostConnectivity(LossReason::MaxDetectionTimeExpired),
                ],
            ),
            (
                "power restore re-attaches",
                detached(DetachCause::PowerLoss),
                ON,
                Conditions::GOOD,
                Input::PowerRestore,
                "DETACHED",
                vec![E::Arm(Timer::Attach, D::Attach)],
            ),
            (
                "a cell going down detaches",
                ModemState::Registered,
                ON,
                Conditions::GOOD,
                Input::CellDown,
                "DETACHED",
                vec![E::LostConnectivity(LossReason::MaxDetectionTimeExpired)],
            ),
            (
                "a session in a failing cell is lost",
                session(false),
                ON,
                Conditions::GOOD,
                Input::CellDown,
                "DETACHED",
                vec![
                    E::SessionReleased(TC::LostService),
                    E::LostConnectivity(LossReason::MaxDetectionTimeExpired),
                ],
            ),
            (
                "the cell coming back re-attaches",
                detached(DetachCause::NoCoverage),
                ON,
                Conditions::GOOD,
                Input::CellUp,
                "DETACHED",
                vec![E::Arm(Timer::Attach, D::Attach)],
            ),
            (
                "a cell coming back does not wake an unpowered modem",
                detached(DetachCause::PowerLoss),
                ON,
                Conditions::GOOD,
                Input::CellUp,
                "DETACHED",
                vec![],
            ),
            (
                "deactivating the SIM purges it",
                session(false),
                ON,
                Conditions::GOOD,
                Input::SimDeactivated,
                "DETACHED",
                vec![
                    E::SessionReleased(TC::AdminReset),
                    E::LostConnectivity(LossReason::Purged),
                ],
            ),
            (
                "reactivating the SIM re-attaches",
                detached(DetachCause::SimInactive),
                ON,
                Conditions::GOOD,
                Input::SimActivated,
                "DETACHED",
                vec![E::Arm(Timer::Attach, D::Attach)],
            ),
            (
                "delete data session releases and re-requests",
                session(true),
                ON,
                Conditions::GOOD,
                Input::DeleteDataSession,
                "REGISTERED",
                vec![
                    E::SessionReleased(TC::AdminReset),
                    E::Arm(Timer::Session, D::SessionStart),
                ],
            ),
            (
                "delete data session nudges a registered modem",
                ModemState::Registered,
                ON,
                Conditions::GOOD,
                Input::DeleteDataSession,
                "REGISTERED",
                vec![E::Arm(Timer::Session, D::SessionStart)],
            ),
            (
                "cancel location detaches and re-registers later",
                session(false),
                ON,
                Conditions::GOOD,
                Input::CancelLocation { stay_off: false },
                "DETACHED",
                vec![
                    E::SessionReleased(TC::AdminReset),
                    E::LostConnectivity(LossReason::UeDetached),
                    E::Arm(Timer::Attach, D::Reattach),
                ],
            ),
            (
                "cancel location may leave the modem off",
                ModemState::Registered,
                ON,
                Conditions::GOOD,
                Input::CancelLocation { stay_off: true },
                "DETACHED",
                vec![E::LostConnectivity(LossReason::UeDetached)],
            ),
            (
                "cancel location of a detached modem does nothing",
                detached(DetachCause::PowerLoss),
                ON,
                Conditions::GOOD,
                Input::CancelLocation { stay_off: false },
                "DETACHED",
                vec![],
            ),
            (
                "stuck: the session drops and is not asked again",
                session(false),
                ON,
                Conditions::GOOD,
                Input::InjectNoSession,
                "REGISTERED",
                vec![E::SessionReleased(TC::NasError)],
            ),
            (
                "stale: the session stays up",
                session(false),
                ON,
                Conditions::GOOD,
                Input::InjectStale,
                "SESSION_UP",
                vec![],
            ),
            (
                "withdrawn data ends the session",
                session(false),
                ON,
                Conditions::GOOD,
                Input::DataWithdrawn,
                "REGISTERED",
                vec![
                    E::SessionReleased(TC::ServiceUnavailable),
                    E::Arm(Timer::Session, D::Backoff(1)),
                ],
            ),
            (
                "a wake-up SMS makes an on-demand modem ask for a session",
                ModemState::Registered,
                OD,
                Conditions::GOOD,
                Input::SmsDelivered,
                "REGISTERED",
                vec![E::Arm(Timer::Session, D::SessionStart)],
            ),
            (
                "an idle on-demand session is released",
                session(false),
                OD,
                Conditions::GOOD,
                Input::Timer(Timer::Idle),
                "REGISTERED",
                vec![E::SessionReleased(TC::IdleTimeout)],
            ),
            (
                "a stale timer of a left state is ignored",
                ModemState::Registered,
                ON,
                Conditions::GOOD,
                Input::Timer(Timer::AuthDeadline),
                "REGISTERED",
                vec![],
            ),
        ]
    }

    #[test]
    fn transitions_follow_the_table() {
        for (name, before, mode, cond, input, after, effects) in table() {
            let mut m = modem(before, mode);
            let fx = m.step(input, cond, T, || NewSession {
                id: "S2".into(),
                ip: Ipv4Addr::new(10, 64, 0, 2),
            });
            assert_eq!(m.state.name(), after, "{name}: state");
            assert_eq!(fx, effects, "{name}: effects");
        }
    }

    #[test]
    fn a_stuck_modem_stays_stuck_until_reset() {
        let mut m = modem(ModemState::Registered, ON);
        m.step(
            Input::InjectNoSession,
            Conditions::GOOD,
            T,
            || unreachable!(),
        );
        assert!(m
            .step(
                Input::Timer(Timer::Session),
                Conditions::GOOD,
                T,
                || unreachable!()
            )
            .is_empty());
        assert_eq!(m.state, ModemState::Registered);
        let fx = m.step(
            Input::DeleteDataSession,
            Conditions::GOOD,
            T,
            || unreachable!(),
        );
        assert_eq!(fx, vec![E::Arm(Timer::Session, D::SessionStart)]);
        assert_eq!(
            m.step(
                Input::Timer(Timer::Session),
                Conditions::GOOD,
                T,
                || unreachable!()
            )[0],
            E::SetupAttempt
        );
    }

    #[test]
    fn a_modem_left_off_by_cancel_location_needs_a_power_cycle() {
        let mut m = modem(ModemState::Registered, ON);
        m.step(
            Input::CancelLocation { stay_off: true },
            Conditions::GOOD,
            T,
            || unreachable!(),
        );
        assert!(m
            .step(
                Input::Timer(Timer::Attach),
                Conditions::GOOD,
                T,
                || unreachable!()
            )
            .is_empty());
        assert_eq!(m.state.name(), "DETACHED");
        assert_eq!(
            m.step(Input::PowerRestore, Conditions::GOOD, T, || unreachable!()),
            vec![E::Arm(Timer::Attach, D::Attach)]
        );
        m.step(
            Input::Timer(Timer::Attach),
            Conditions::GOOD,
            T,
            || unreachable!(),
        );
        assert_eq!(m.state, ModemState::Registered);
    }

    #[test]
    fn failures_back_off_further_each_time() {
        let mut m = modem(ModemState::Authenticating { seq: 1 }, ON);
        m.step(reject(), Conditions::GOOD, T, || unreachable!());
        m.step(
            Input::Timer(Timer::Session),
            Conditions::GOOD,
            T,
            || unreachable!(),
        );
        let fx = m.step(
            Input::Timer(Timer::NetworkCheck),
            Conditions::GOOD,
            T,
            || unreachable!(),
        );
        assert_eq!(fx[0], E::Authenticate { seq: 2 });
        let fx = m.step(
            Input::AuthResult {
                seq: 2,
                outcome: AuthOutcome::Reject {
                    reply_message: None,
                },
            },
            Conditions::GOOD,
            T,
            || unreachable!(),
        );
        assert_eq!(fx[1], E::Arm(Timer::Session, D::Backoff(2)));
    }
}
