//! The head-end's two operator adapters against the same injected faults: the in-process one over
//! a real `Network` in virtual time, the HTTP one against a real `reanimator operator` on
//! loopback. Both must reach the same root cause.

#[path = "operator/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use harness::{fleet, iccid, start_with, Operator, SCENARIO, UTILITY};
use reanimator::headend::diagnosis::{diagnose, AaaVerdict, Remedy, RootCause, SessionState};
use reanimator::headend::evidence::EvidenceParams;
use reanimator::headend::fleet::{MeterRef, ReadMode};
use reanimator::headend::in_process::InProcessOperator;
use reanimator::headend::operator_adapter::{
    AdapterError, Gathered, OperatorAdapter, OutlookKind, ResetKind,
};
use reanimator::net::operator_client::{HttpOperator, HttpOperatorConfig, LogbookSource};
use reanimator::net::operator_http;
use reanimator::operator::actions::Actor;
use reanimator::operator::calendar::Level;
use reanimator::operator::ids::{CellId, Iccid, TenantId};
use reanimator::operator::network::{MaintenanceRequest, StuckKind};
use reanimator::operator::ratelimit::Rate;
use reanimator::operator::sim::SimStatus;
use reanimator::operator::{AaaRequest, InProcessAaa, Network, OperatorConfig, Timestamp};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// The head-end's view of fleet meter `n`.
fn meter(n: usize) -> MeterRef {
    let m = &fleet().meters[n];
    MeterRef {
        id: m.id.clone(),
        mode: ReadMode::Direct,
        iccid: m.iccid.to_string(),
        msisdn: m.msisdn.to_string(),
        cell: m.cell.to_string(),
    }
}

fn params(stale_after: Duration) -> EvidenceParams {
    EvidenceParams {
        stale_after,
        ..EvidenceParams::default()
    }
}

/// Fast modems, and room for one connectivity reset at a time (so a second one is refused).
fn config() -> OperatorConfig {
    let mut c = OperatorConfig::default();
    c.limits.reset = Rate::new(1, 0.2);
    c
}

/// A fault the scenario injects into meter 0 (cell-0001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    CredentialChange,
    NoDataSession,
    Stale,
    Maintenance,
    PowerLoss,
    SimDeactivated,
    DataBarred,
    CellOutage,
}

/// Each fault, the stale threshold the head-end uses, and the cause both adapters must find.
const CASES: [(Fault, Duration, RootCause); 9] = [
    (Fault::None, Duration::from_secs(1800), RootCause::Unknown),
    (
        Fault::CredentialChange,
        Duration::from_secs(1800),
        RootCause::AaaReject,
    ),
    (
        Fault::NoDataSession,
        Duration::from_secs(1800),
        RootCause::NoDataSession,
    ),
    (
        Fault::Stale,
        Duration::from_millis(500),
        RootCause::StaleSession,
    ),
    (
        Fault::Maintenance,
        Duration::from_secs(1800),
        RootCause::PlannedMaintenance,
    ),
    (
        Fault::PowerLoss,
        Duration::from_secs(1800),
        RootCause::DeviceDetached,
    ),
    (
        Fault::SimDeactivated,
        Duration::from_secs(1800),
        RootCause::SimInactive,
    ),
    (
        Fault::DataBarred,
        Duration::from_secs(1800),
        RootCause::DataBarred,
    ),
    (
        Fault::CellOutage,
        Duration::from_secs(1800),
        RootCause::RadioFailure,
    ),
];

/// What must agree between the adapters (times differ: virtual against wall clock).
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    cause: RootCause,
    remedy: Remedy,
    session: Option<SessionState>,
    aaa: Option<AaaVerdict>,
    changed_by: Option<String>,
    sim_active: Option<bool>,
    data_barred: bool,
    maintenance: bool,
    cell_outage: bool,
    /// Whether one covers now, and no connectivity (its end depends on when each world runs).
    degradation_forecast: Option<bool>,
    beyond_check_in: bool,
    sources: Vec<String>,
}

fn shape(g: &Gathered) -> Shape {
    let e = &g.evidence;
    let d = diagnose(e);
    let mut sources: Vec<String> = g.items.iter().map(|i| i.source.clone()).collect();
    sources.sort();
    sources.dedup();
    Shape {
        cause: d.cause,
        remedy: d.remedy,
        session: e.session,
        aaa: e.aaa.as_ref().map(|(v, _)| v.clone()),
        changed_by: e.credential_change.as_ref().map(|c| c.by.clone()),
        sim_active: e.sim_active,
        data_barred: e.data_barred,
        maintenance: e.maintenance_until.is_some(),
        cell_outage: e.cell_outage,
        degradation_forecast: e.degradation_forecast.as_ref().map(|f| f.no_connectivity),
        beyond_check_in: e.beyond_check_in,
        sources,
    }
}

// ---------------------------------------------------------------------------------------------
// The in-process world: the network, the embedded utility RADIUS server, a virtual clock, and
// meters that pass traffic every 15 s while their session lets them.

/// 2026-11-26T01:00:00Z.
const T0: Timestamp = Timestamp::from_secs(1_795_654_800);

struct World {
    net: Arc<Mutex<Network>>,
    aaa: Arc<Mutex<InProcessAaa>>,
    now: Timestamp,
}

impl World {
    fn start() -> World {
        let fleet = fleet();
        let aaa = InProcessAaa::new(
            fleet
                .meters
                .iter()
                .map(|m| (m.radius_user(), m.radius_password())),
        );
        let net = Network::new(config(), &fleet, 7, T0);
        let mut w = World {
            net: Arc::new(Mutex::new(net)),
            aaa: Arc::new(Mutex::new(aaa)),
            now: T0,
        };
        w.run_for(MINUTE);
        w
    }

    fn adapter(&self, p: EvidenceParams) -> InProcessOperator {
        let actor = Actor {
            tenant: TenantId::new("utility").unwrap(),
            principal: "headend".into(),
        };
        InProcessOperator::new(self.net.clone(), actor, p)
            .with_logbook(InProcessOperator::embedded_logbook(self.aaa.clone()))
    }

    /// Advances virtual time, carrying RADIUS requests to the embedded server; every 15 s each
    /// meter passes traffic if its session lets it.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        let mut net = self.net.lock().unwrap();
        let mut traffic = self.now;
        for _ in 0..1_000_000 {
            let timer = net.poll_timeout().filter(|t| *t <= end);
            let due = (traffic <= end).then_some(traffic);
            let Some(at) = timer.into_iter().chain(due).min() else {
                break;
            };
            if Some(at) == due {
                for m in fleet().meters {
                    let _ = net.handle_traffic(&m.iccid, 100, at);
                }
                traffic = traffic + Duration::from_secs(15);
            }
            net.handle_timeout(at);
            self.drain(&mut net, at);
        }
        self.now = end;
    }

    fn drain(&self, net: &mut Network, now: Timestamp) {
        while let Some(req) = net.poll_aaa() {
            if let AaaRequest::Authenticate(r) = req {
                let outcome = self.aaa.lock().unwrap().authenticate(&r);
                net.handle_auth_result(r.id, outcome, now);
            }
        }
        while net.poll_event().is_some() {}
    }

    fn inject(&mut self, fault: Fault, adapter: &InProcessOperator) {
        let id = Iccid::new(iccid(0)).unwrap();
        let now = self.now;
        {
            let mut net = self.net.lock().unwrap();
            match fault {
                Fault::None => {}
                Fault::CredentialChange => {
                    let user = net.radius_user(&id).unwrap().to_string();
                    self.aaa
                        .lock()
                        .unwrap()
                        .set_password(&user, "changed", "alice", now);
                }
                Fault::NoDataSession => net
                    .inject_stuck(&id, StuckKind::NoDataSession, now)
                    .unwrap(),
                Fault::Stale => net.inject_stuck(&id, StuckKind::Stale, now).unwrap(),
                Fault::Maintenance => {
                    let req = MaintenanceRequest {
                        cells: vec![CellId::new("cell-0001").unwrap()],
                        start: now,
                        end: now + 2 * HOUR,
                        notice: None,
                        description: "Antenna replacement".into(),
                    };
                    net.add_maintenance(req, now).unwrap();
                }
                Fault::PowerLoss => net.inject_power_loss(&id, now).unwrap(),
                Fault::SimDeactivated => net
                    .inject_sim_status(&id, SimStatus::Deactivated, now)
                    .unwrap(),
                Fault::DataBarred => net.inject_data_barred(&id, true, now).unwrap(),
                Fault::CellOutage => {
                    net.add_outage(&CellId::new("cell-0001").unwrap(), None, now)
                        .unwrap();
                }
            }
        }
        if fault == Fault::CredentialChange {
            // The next session set-up meets the changed password.
            let m = meter(0);
            let reset = adapter.reset(&m, ResetKind::DataSession, "test", now);
            reset.now_or_never().unwrap().unwrap();
        }
        self.run_for(2 * MINUTE);
    }
}

fn in_process_case(fault: Fault, stale_after: Duration) -> Gathered {
    let mut w = World::start();
    let adapter = w.adapter(params(stale_after));
    w.inject(fault, &adapter);
    adapter
        .gather(&meter(0), w.now, None)
        .now_or_never()
        .unwrap()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The HTTP world: `reanimator operator` on loopback with fast modems.

async fn start_operator() -> Operator {
    start_with(config().time_scaled(0.01)).await
}

fn http_adapter(op: &Operator, p: EvidenceParams) -> HttpOperator {
    let mut c = HttpOperatorConfig::new(op.base.clone(), UTILITY);
    c.logbook = LogbookSource::Scenario {
        token: SCENARIO.into(),
    };
    c.cell_geohashes = geohashes();
    c.params = p;
    HttpOperator::new(c).unwrap()
}

fn geohashes() -> HashMap<String, String> {
    fleet()
        .all_cells()
        .into_iter()
        .map(|c| (c.id.to_string(), c.geohash))
        .collect()
}

async fn inject_http(op: &Operator, fault: Fault, adapter: &HttpOperator) {
    let id = iccid(0);
    let now = operator_http::now();
    let body = match fault {
        Fault::None => return,
        Fault::CredentialChange => {
            json!({"kind": "credential-change", "iccid": id, "side": "server", "by": "alice"})
        }
        Fault::NoDataSession => {
            json!({"kind": "stuck-session", "iccid": id, "stuck": "no-data-session"})
        }
        Fault::Stale => json!({"kind": "stuck-session", "iccid": id, "stuck": "stale"}),
        Fault::Maintenance => json!({"kind": "maintenance-window", "cells": ["cell-0001"],
            "startTime": now.to_rfc3339(), "endTime": (now + 2 * HOUR).to_rfc3339(),
            "description": "Antenna replacement"}),
        Fault::PowerLoss => json!({"kind": "power-loss", "iccid": id}),
        Fault::SimDeactivated => json!({"kind": "sim-deactivation", "iccid": id}),
        Fault::DataBarred => json!({"kind": "data-barred", "iccid": id, "barred": true}),
        Fault::CellOutage => json!({"kind": "cell-outage", "cellId": "cell-0001"}),
    };
    op.inject(body).await;
    if fault == Fault::CredentialChange {
        adapter
            .reset(&meter(0), ResetKind::DataSession, "test", now)
            .await
            .unwrap();
    }
}

/// Gathers until the cause is `want` (the fault's effects arrive on the operator's real clock),
/// at most 10 s; returns the last gather.
async fn gather_until(adapter: &HttpOperator, want: RootCause) -> Gathered {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let g = adapter
            .gather(&meter(0), operator_http::now(), None)
            .await
            .unwrap();
        if diagnose(&g.evidence).cause == want || Instant::now() > deadline {
            return g;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn http_case(fault: Fault, stale_after: Duration, want: RootCause) -> Gathered {
    let op = start_operator().await;
    let adapter = http_adapter(&op, params(stale_after));
    inject_http(&op, fault, &adapter).await;
    gather_until(&adapter, want).await
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_adapters_find_the_same_cause_for_each_fault() {
    for (fault, stale_after, want) in CASES {
        let local = in_process_case(fault, stale_after);
        let remote = http_case(fault, stale_after, want).await;
        let (l, r) = (shape(&local), shape(&remote));
        assert_eq!(l.cause, want, "{fault:?} in process: {:#?}", local);
        assert_eq!(r.cause, want, "{fault:?} over HTTP: {:#?}", remote);
        assert_eq!(l, r, "{fault:?}: the adapters disagree");
    }
}

#[test]
fn a_credential_change_names_who_changed_it() {
    let g = in_process_case(Fault::CredentialChange, 30 * MINUTE);
    let sentence = diagnose(&g.evidence).sentence;
    // The change at 01:01 (virtual), the first reject a few seconds after the reset.
    assert!(
        sentence.starts_with("Since 01:01 the utility's RADIUS server has refused this meter's SIM: its password was changed at 01:01 by alice."),
        "{sentence}"
    );
    let logbook = g.items.iter().find(|i| i.source == "logbook").unwrap();
    assert!(logbook.line.contains("alice"), "{logbook:?}");
}

#[test]
fn in_process_futures_are_ready_on_first_poll() {
    let w = World::start();
    let a = w.adapter(EvidenceParams::default());
    let m = meter(1);
    assert!(a.gather(&m, w.now, None).now_or_never().unwrap().is_ok());
    assert!(a.wake_up(&m, w.now).now_or_never().unwrap().is_ok());
    let cells = vec!["cell-0001".to_string()];
    assert!(a
        .outlook(&cells, w.now, w.now + HOUR)
        .now_or_never()
        .unwrap()
        .is_ok());
    let op = a
        .reset(&m, ResetKind::DataSession, "test", w.now)
        .now_or_never();
    assert_eq!(op, Some(Ok("op-000001".to_string())));
}

#[test]
fn an_in_process_reset_cures_a_stuck_session() {
    let mut w = World::start();
    let a = w.adapter(EvidenceParams::default());
    w.inject(Fault::NoDataSession, &a);
    let m = meter(0);
    let before = a.gather(&m, w.now, None).now_or_never().unwrap().unwrap();
    assert_eq!(diagnose(&before.evidence).cause, RootCause::NoDataSession);
    a.reset(
        &m,
        ResetKind::DataSession,
        "registered without a data session",
        w.now,
    )
    .now_or_never()
    .unwrap()
    .unwrap();
    w.run_for(MINUTE);
    let after = a.gather(&m, w.now, None).now_or_never().unwrap().unwrap();
    assert_eq!(after.evidence.session, Some(SessionState::Up), "{after:#?}");
    assert_eq!(diagnose(&after.evidence).cause, RootCause::Unknown);
}

#[test]
fn an_in_process_wake_up_reaches_the_modem() {
    let mut w = World::start();
    let a = w.adapter(EvidenceParams::default());
    a.wake_up(&meter(2), w.now).now_or_never().unwrap().unwrap();
    w.run_for(MINUTE);
    let net = w.net.lock().unwrap();
    let events = net
        .sim_events(
            &TenantId::new("utility").unwrap(),
            &Iccid::new(iccid(2)).unwrap(),
            None,
            100,
        )
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "SMS_DELIVERED"),
        "{events:?}"
    );
}

#[test]
fn in_process_refusals_map_to_adapter_errors() {
    let w = World::start();
    let a = w.adapter(EvidenceParams::default());
    let now = w.now;
    let mut malformed = meter(0);
    malformed.iccid = "not-an-iccid".into();
    for m in [meter(5), malformed] {
        let err = a.gather(&m, now, None).now_or_never().unwrap().unwrap_err();
        assert_eq!(err, AdapterError::UnknownSim, "{}", m.iccid);
    }
    let (m0, m1) = (meter(0), meter(1));
    let first = a.reset(&m0, ResetKind::DataSession, "test", now);
    assert!(first.now_or_never().unwrap().is_ok());
    let second = a.reset(&m1, ResetKind::CancelLocation, "test", now);
    assert_eq!(
        second.now_or_never().unwrap(),
        Err(AdapterError::RateLimited {
            retry_after_secs: 5
        })
    );
}

#[test]
fn the_in_process_outlook_shows_maintenance_and_forecasts_ahead() {
    let w = World::start();
    let a = w.adapter(EvidenceParams::default());
    let now = w.now;
    let start = now.floor(HOUR) + 2 * HOUR;
    {
        let mut net = w.net.lock().unwrap();
        let req = MaintenanceRequest {
            cells: vec![CellId::new("cell-0001").unwrap()],
            start,
            end: start + 2 * HOUR,
            notice: None,
            description: String::new(),
        };
        net.add_maintenance(req, now).unwrap();
        let hash = fleet().all_cells()[1].geohash.clone();
        net.add_forecast(&hash, start, start + HOUR, Level::Marginal, now)
            .unwrap();
    }
    let cells = vec!["cell-0001".to_string(), "cell-0002".to_string()];
    let outlook = a
        .outlook(&cells, now, now + 6 * HOUR)
        .now_or_never()
        .unwrap()
        .unwrap();
    let got: Vec<(&str, Timestamp, Timestamp, OutlookKind)> = outlook
        .iter()
        .map(|o| (o.cell.as_str(), o.from, o.until, o.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "cell-0001",
                start,
                start + 2 * HOUR,
                OutlookKind::Maintenance
            ),
            ("cell-0002", start, start + HOUR, OutlookKind::Degradation),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_adapter_resets_wakes_and_maps_refusals() {
    let op = start_operator().await;
    let a = http_adapter(&op, EvidenceParams::default());
    let now = operator_http::now();
    assert_eq!(
        a.gather(&meter(5), now, None).await.unwrap_err(),
        AdapterError::UnknownSim,
        "another tenant's SIM"
    );
    a.wake_up(&meter(2), now).await.unwrap();
    let op_id = a
        .reset(&meter(0), ResetKind::DataSession, "test", now)
        .await
        .unwrap();
    assert!(op_id.starts_with("op-"), "{op_id}");
    let (status, done) = op
        .get(UTILITY, &format!("/sim-management/v0/operations/{op_id}"))
        .await;
    assert_eq!(status.as_u16(), 200, "{done}");
    assert_eq!(
        a.reset(&meter(1), ResetKind::CancelLocation, "test", now)
            .await,
        Err(AdapterError::RateLimited {
            retry_after_secs: 5
        })
    );
    let bad = HttpOperator::new(HttpOperatorConfig::new("https://127.0.0.1:1", "t"));
    assert!(matches!(bad, Err(AdapterError::Failed(_))));
    let wrong_token = HttpOperator::new(HttpOperatorConfig::new(op.base.clone(), "nope")).unwrap();
    let err = wrong_token.gather(&meter(0), now, None).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Failed(m) if m.contains("401 UNAUTHENTICATED")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_outlook_shows_maintenance_and_forecasts_ahead() {
    let op = start_operator().await;
    let a = http_adapter(&op, EvidenceParams::default());
    let now = operator_http::now();
    let start = now.floor(HOUR) + 2 * HOUR;
    let hash = fleet().all_cells()[1].geohash.clone();
    op.inject(json!({"kind": "maintenance-window", "cells": ["cell-0001"],
        "startTime": start.to_rfc3339(), "endTime": (start + 2 * HOUR).to_rfc3339()}))
        .await;
    op.inject(json!({"kind": "forecast", "geohash": hash, "level": "MC",
        "startTime": start.to_rfc3339(), "endTime": (start + HOUR).to_rfc3339()}))
        .await;
    let cells = vec!["cell-0001".to_string(), "cell-0002".to_string()];
    let outlook = a.outlook(&cells, now, now + 6 * HOUR).await.unwrap();
    let got: Vec<(&str, Timestamp, Timestamp, OutlookKind)> = outlook
        .iter()
        .map(|o| (o.cell.as_str(), o.from, o.until, o.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "cell-0001",
                start,
                start + 2 * HOUR,
                OutlookKind::Maintenance
            ),
            ("cell-0002", start, start + HOUR, OutlookKind::Degradation),
        ]
    );
}
