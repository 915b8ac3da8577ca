//! The network driven in virtual time, with the in-process RADIUS check answering at once.

use std::time::Duration;

use super::*;
use crate::operator::actions::{Actor, ResetKind};
use crate::operator::calendar::Level;
use crate::operator::geohash::{self, Point};
use crate::operator::ids::TenantId;
use crate::operator::InProcessAaa;

const T0: Timestamp = Timestamp(1_795_658_400_000); // 2026-11-26T02:00:00Z

struct World {
    net: Network,
    aaa: InProcessAaa,
    now: Timestamp,
    events: Vec<OperatorEvent>,
}

fn fleet() -> FleetManifest {
    let mut f = FleetManifest::generate(2, 3);
    f.meters[5].tenant = TenantId::new("other").unwrap();
    f
}

impl World {
    fn new(seed: u64) -> World {
        let fleet = fleet();
        let aaa = InProcessAaa::new(
            fleet
                .meters
                .iter()
                .map(|m| (m.radius_user(), m.radius_password())),
        );
        let net = Network::new(OperatorConfig::default(), &fleet, seed, T0);
        World {
            net,
            aaa,
            now: T0,
            events: Vec::new(),
        }
    }

    /// Runs the network until `now + d`, answering RADIUS in process.
    fn run(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            self.drain();
            match self.net.poll_timeout() {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.net.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = until;
        self.net.handle_timeout(until);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(req) = self.net.poll_aaa() {
            if let AaaRequest::Authenticate(r) = req {
                let outcome = self.aaa.authenticate(&r);
                self.net.handle_auth_result(r.id, outcome, self.now);
            }
        }
        while let Some(e) = self.net.poll_event() {
            self.events.push(e);
        }
    }

    fn iccid(&self, n: usize) -> Iccid {
        fleet().meters[n].iccid.clone()
    }

    fn state(&self, n: usize) -> &'static str {
        let f = fleet();
        self.net
            .session_info(&f.meters[n].tenant, &f.meters[n].iccid)
            .unwrap()
            .state
    }
}

fn utility() -> TenantId {
    TenantId::new("utility").unwrap()
}

fn actor() -> Actor {
    Actor {
        tenant: utility(),
        principal: "headend".into(),
    }
}

fn both() -> ResetKind {
    ResetKind {
        delete_data_session: true,
        cancel_location: false,
    }
}

#[test]
fn the_fleet_comes_up_with_records_and_kpis() {
    let mut w = World::new(1);
    w.run(Duration::from_secs(60));
    for n in 0..6 {
        assert_eq!(w.state(n), "SESSION_UP", "meter {n}");
    }
    let recs = w
        .net
        .aaa_records(&utility(), &w.iccid(0), None, 10)
        .unwrap();
    let kinds: Vec<_> = recs.iter().map(|r| r.kind).collect();
    use crate::operator::aaa::AaaRecordKind::*;
    assert_eq!(kinds, vec![AccessRequest, AccessAccept, AccountingStart]);
    assert!(recs[1].line.contains("admitted"), "{}", recs[1].line);
    let kpi = w.net.sim_kpi(&utility(), &w.iccid(0), T0, w.now).unwrap();
    assert_eq!(
        (kpi.attempts, kpi.successes, kpi.success_rate),
        (1, 1, Some(1.0))
    );
    let cell = w
        .net
        .cell_kpi(&CellId::new("cell-0001").unwrap(), T0, w.now)
        .unwrap();
    assert_eq!((cell.attempts, cell.successes), (3, 3));
    let ups = w
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                OperatorEvent::ReachabilityChanged {
                    reachability: Reachability::Data,
                    ..
                }
            )
        })
        .count();
    assert_eq!(ups, 6);
}

#[test]
fn a_changed_credential_gives_rejects_that_a_reset_cannot_cure() {
    let mut w = World::new(2);
    w.run(Duration::from_secs(60));
    let user = w.net.radius_user(&w.iccid(0)).unwrap().to_string();
    w.aaa.set_password(&user, "changed", "alice", w.now);
    let op = w
        .net
        .reset_connectivity(&actor(), &w.iccid(0), both(), "test", w.now)
        .unwrap();
    w.run(Duration::from_secs(120));
    assert_eq!(
        w.net
            .operation(&utility(), &op.operation_id)
            .unwrap()
            .status,
        crate::operator::actions::OperationStatus::Completed
    );
    assert_eq!(w.state(0), "REGISTERED");
    let info = w.net.session_info(&utility(), &w.iccid(0)).unwrap();
    assert_eq!(
        info.last_setup_failure,
        Some(crate::operator::modem::SetupFailure::AaaReject)
    );
    let recs = w
        .net
        .aaa_records(&utility(), &w.iccid(0), None, 100)
        .unwrap();
    let reject = recs
        .iter()
        .find(|r| r.kind == crate::operator::aaa::AaaRecordKind::AccessReject)
        .expect("a reject");
    assert!(reject.line.contains("refused"), "{}", reject.line);
    let stop = recs
        .iter()
        .find(|r| r.kind == crate::operator::aaa::AaaRecordKind::AccountingStop)
        .unwrap();
    assert_eq!(
        stop.terminate_cause,
        Some(crate::operator::aaa::TerminateCause::AdminReset)
    );
    let kpi = w.net.sim_kpi(&utility(), &w.iccid(0), T0, w.now).unwrap();
    assert!(kpi.success_rate.unwrap() < 0.5, "{kpi:?}");
    assert!(w.events.iter().any(
        |e| matches!(e, OperatorEvent::OperationCompleted(o) if o.operation_id == op.operation_id)
    ));
}

#[test]
fn maintenance_is_announced_takes_the_cell_down_and_brings_it_back() {
    let mut w = World::new(3);
    w.run(Duration::from_secs(60));
    let cell = CellId::new("cell-0001").unwrap();
    let start = w.now + Duration::from_secs(3600);
    let window = w
        .net
        .add_maintenance(
            MaintenanceRequest {
                cells: vec![cell.clone()],
                start,
                end: start + Duration::from_secs(1800),
                notice: Some(Duration::from_secs(600)),
                description: String::new(),
            },
            w.now,
        )
        .unwrap();
    assert!(
        w.net
            .maintenance_windows(None, T0, start + Duration::from_secs(7200))
            .is_empty(),
        "not announced yet"
    );
    w.run(Duration::from_secs(3000));
    assert!(w
        .events
        .iter()
        .any(|e| matches!(e, OperatorEvent::MaintenanceAnnounced(m) if m.id == window.id)));
    assert_eq!(
        w.net
            .maintenance_windows(Some(&cell), T0, start + Duration::from_secs(7200))
            .len(),
        1
    );
    w.run(Duration::from_secs(700));
    assert_eq!(w.state(0), "DETACHED");
    assert_eq!(w.state(3), "SESSION_UP", "another cell is unaffected");
    let status = w.net.connectivity_status(&utility(), &w.iccid(0)).unwrap();
    assert_eq!(
        (status.detach_reason, status.cell_serving),
        (Some("NO_COVERAGE"), false)
    );
    let loss = w.events.iter().any(|e| matches!(e, OperatorEvent::Monitoring(r) if r.iccid == w.iccid(0) && r.loss_of_connect_reason == Some(crate::operator::monitoring::LossReason::MaxDetectionTimeExpired)));
    assert!(loss);
    w.run(Duration::from_secs(1800));
    assert_eq!(w.state(0), "SESSION_UP");
}

#[test]
fn predicts_no_connectivity_during_announced_maintenance() {
    let mut w = World::new(4);
    let cell = CellId::new("cell-0001").unwrap();
    let view = w.net.cell(&cell).unwrap();
    let start = T0 + Duration::from_secs(7200);
    w.net
        .add_maintenance(
            MaintenanceRequest {
                cells: vec![cell],
                start,
                end: start + Duration::from_secs(3600),
                notice: None,
                description: "swap".into(),
            },
            w.now,
        )
        .unwrap();
    w.run(Duration::from_secs(1));
    let b = geohash::bounds(&view.geohash).unwrap();
    let polygon = vec![
        Point {
            latitude: b.min_lat,
            longitude: b.min_lon,
        },
        Point {
            latitude: b.max_lat,
            longitude: b.min_lon,
        },
        Point {
            latitude: b.max_lat,
            longitude: b.max_lon,
        },
        Point {
            latitude: b.min_lat,
            longitude: b.max_lon,
        },
    ];
    let q = PcdQuery {
        polygon: polygon.clone(),
        precision: 7,
        start: T0,
        end: T0 + Duration::from_secs(4 * 3600),
    };
    let r = w.net.predict(&q).unwrap();
    assert_eq!(r.status, PcdStatus::SupportedArea);
    assert_eq!(r.slots.len(), 4);
    assert_eq!(r.slots[0].cells.len(), 32);
    assert!(r.slots[0].cells.iter().all(|(_, l)| *l == Level::Good));
    assert!(r.slots[2].cells.iter().all(|(_, l)| *l == Level::No));
    let far = PcdQuery {
        polygon: polygon
            .iter()
            .map(|p| Point {
                latitude: p.latitude - 20.0,
                ..*p
            })
            .collect(),
        ..q
    };
    assert_eq!(
        w.net.predict(&far).unwrap().status,
        PcdStatus::AreaNotSupported
    );
}

#[test]
fn a_stuck_modem_is_reanimated_by_deleting_its_data_session() {
    let mut w = World::new(5);
    w.run(Duration::from_secs(60));
    w.net
        .inject_stuck(&w.iccid(1), StuckKind::NoDataSession, w.now)
        .unwrap();
    w.run(Duration::from_secs(600));
    assert_eq!(w.state(1), "REGISTERED", "stays stuck on its own");
    w.net
        .reset_connectivity(&actor(), &w.iccid(1), both(), "stuck", w.now)
        .unwrap();
    w.run(Duration::from_secs(60));
    assert_eq!(w.state(1), "SESSION_UP");
}

#[test]
fn a_stale_session_refuses_traffic_until_reset() {
    let mut w = World::new(6);
    w.run(Duration::from_secs(60));
    let iccid = w.iccid(2);
    assert!(w.net.handle_traffic(&iccid, 100, w.now).is_ok());
    w.net.inject_stuck(&iccid, StuckKind::Stale, w.now).unwrap();
    assert!(w.net.handle_traffic(&iccid, 100, w.now).is_err());
    assert_eq!(w.state(2), "SESSION_UP", "up on paper");
    w.net
        .reset_connectivity(&actor(), &iccid, both(), "stale", w.now)
        .unwrap();
    w.run(Duration::from_secs(60));
    assert!(w.net.handle_traffic(&iccid, 100, w.now).is_ok());
}

#[test]
fn sms_reaches_only_registered_modems_and_expires() {
    let mut w = World::new(7);
    w.run(Duration::from_secs(60));
    let iccid = w.iccid(0);
    w.net.inject_power_loss(&iccid, w.now).unwrap();
    let req = SmsRequest {
        text: "wake up".into(),
        validity: Some(Duration::from_secs(300)),
        reason: "read".into(),
    };
    let lost = w.net.send_sms(&actor(), &iccid, &req, w.now).unwrap();
    let kept = w
        .net
        .send_sms(
            &actor(),
            &iccid,
            &SmsRequest {
                validity: Some(Duration::from_secs(3600)),
                ..req.clone()
            },
            w.now,
        )
        .unwrap();
    w.run(Duration::from_secs(400));
    let status = |w: &World, id: &str| w.net.sms_receipt(&utility(), &iccid, id).unwrap().status;
    use crate::operator::sms::SmsStatus;
    assert_eq!(status(&w, &lost.id), SmsStatus::Expired);
    assert_eq!(status(&w, &kept.id), SmsStatus::Queued);
    w.net.inject_power_restore(&iccid, w.now).unwrap();
    w.run(Duration::from_secs(60));
    assert_eq!(status(&w, &kept.id), SmsStatus::Delivered);
    assert!(w
        .events
        .iter()
        .any(|e| matches!(e, OperatorEvent::SmsDelivered { sms_id, .. } if *sms_id == kept.id)));
    let err = w
        .net
        .send_sms(
            &actor(),
            &iccid,
            &SmsRequest {
                text: "x".repeat(161),
                ..req
            },
            w.now,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        ActionError::InvalidArgument { field: "text", .. }
    ));
}

#[test]
fn a_wake_up_sms_brings_an_on_demand_modem_online_until_idle() {
    let mut fleet = fleet();
    fleet.meters[0].data_mode = crate::operator::sim::DataMode::OnDemand;
    let aaa = InProcessAaa::new(
        fleet
            .meters
            .iter()
            .map(|m| (m.radius_user(), m.radius_password())),
    );
    let mut w = World {
        net: Network::new(OperatorConfig::default(), &fleet, 8, T0),
        aaa,
        now: T0,
        events: Vec::new(),
    };
    w.run(Duration::from_secs(60));
    assert_eq!(w.state(0), "REGISTERED");
    let req = SmsRequest {
        text: "wake".into(),
        validity: None,
        reason: "read".into(),
    };
    w.net.send_sms(&actor(), &w.iccid(0), &req, w.now).unwrap();
    w.run(Duration::from_secs(30));
    assert_eq!(w.state(0), "SESSION_UP");
    w.run(Duration::from_secs(700));
    assert_eq!(w.state(0), "REGISTERED");
    let info = w.net.session_info(&utility(), &w.iccid(0)).unwrap();
    assert_eq!(
        info.last_terminate_cause,
        Some(crate::operator::aaa::TerminateCause::IdleTimeout)
    );
}

#[test]
fn rejects_another_tenants_sim_as_not_found() {
    let mut w = World::new(9);
    w.run(Duration::from_secs(60));
    let theirs = w.iccid(5);
    assert_eq!(
        w.net.session_info(&utility(), &theirs),
        Err(ActionError::NotFound)
    );
    assert_eq!(
        w.net
            .reset_connectivity(&actor(), &theirs, both(), "", w.now),
        Err(ActionError::NotFound)
    );
    assert!(w
        .net
        .session_info(&TenantId::new("other").unwrap(), &theirs)
        .is_ok());
    let msisdn = fleet().meters[5].msisdn.clone();
    assert_eq!(w.net.iccid_by_msisdn(&utility(), &msisdn), None);
}

#[test]
fn rate_limits_resets_and_audits_every_attempt() {
    let mut w = World::new(10);
    w.run(Duration::from_secs(60));
    let mut limited = None;
    'rounds: for _ in 0..5 {
        for n in 0..5 {
            match w
                .net
                .reset_connectivity(&actor(), &w.iccid(n), both(), "burst", w.now)
            {
                Ok(_) => {}
                Err(ActionError::RateLimited { retry_after, .. }) => {
                    limited = Some(retry_after);
                    break 'rounds;
                }
                Err(e) => panic!("{e}"),
            }
        }
        w.run(Duration::from_secs(5)); // the resets complete; the SIMs are free again
    }
    let retry_after = limited.expect("a burst beyond 10 resets is limited");
    assert!(retry_after <= Duration::from_secs(5), "{retry_after:?}");
    let trail = w.net.audit_trail(&utility(), 100);
    assert!(trail
        .iter()
        .any(|a| a.outcome == crate::operator::actions::AuditOutcome::RateLimited));
    assert!(trail.iter().all(|a| a.who == "headend" && a.why == "burst"));
    assert!(w
        .net
        .audit_trail(&TenantId::new("other").unwrap(), 100)
        .is_empty());
}

#[test]
fn a_deactivated_sim_is_purged_and_refused() {
    let mut w = World::new(11);
    w.run(Duration::from_secs(60));
    w.net
        .inject_sim_status(
            &w.iccid(0),
            crate::operator::sim::SimStatus::Deactivated,
            w.now,
        )
        .unwrap();
    w.run(Duration::from_secs(60));
    assert_eq!(w.state(0), "DETACHED");
    let status = w.net.connectivity_status(&utility(), &w.iccid(0)).unwrap();
    assert_eq!(
        (status.connectivity, status.last_loss_of_connect_reason),
        ("BLOCKED", Some(4))
    );
    w.net
        .change_status(
            &actor(),
            &w.iccid(0),
            &StatusChange {
                status: crate::operator::sim::SimStatus::Activated,
                reason: "fix".into(),
            },
            w.now,
        )
        .unwrap();
    w.run(Duration::from_secs(60));
    assert_eq!(w.state(0), "SESSION_UP");
}

#[test]
fn barred_data_fails_setup_before_radius() {
    let mut w = World::new(12);
    w.run(Duration::from_secs(60));
    w.net.inject_data_barred(&w.iccid(0), true, w.now).unwrap();
    w.run(Duration::from_secs(120));
    let info = w.net.session_info(&utility(), &w.iccid(0)).unwrap();
    assert_eq!(
        info.last_setup_failure,
        Some(crate::operator::modem::SetupFailure::DataServiceBarred)
    );
    let requests = w
        .net
        .aaa_records(&utility(), &w.iccid(0), None, 100)
        .unwrap()
        .iter()
        .filter(|r| r.kind == crate::operator::aaa::AaaRecordKind::AccessRequest)
        .count();
    assert_eq!(
        requests, 1,
        "only the first, successful session reached RADIUS"
    );
}

#[test]
fn an_outage_ends_on_restore_and_a_forecast_degrades_its_area() {
    let mut w = World::new(13);
    w.run(Duration::from_secs(60));
    let cell = CellId::new("cell-0002").unwrap();
    w.net.add_outage(&cell, None, w.now).unwrap();
    w.run(Duration::from_secs(10));
    assert_eq!(w.state(3), "DETACHED");
    assert_eq!(w.net.restore_cell(&cell, w.now).unwrap(), 1);
    w.run(Duration::from_secs(60));
    assert_eq!(w.state(3), "SESSION_UP");
    let gh = w.net.cell(&cell).unwrap().geohash;
    w.net
        .add_forecast(
            &gh,
            w.now,
            w.now + Duration::from_secs(600),
            Level::No,
            w.now,
        )
        .unwrap();
    w.run(Duration::from_secs(10));
    assert_eq!(w.state(3), "DETACHED");
    assert_eq!(w.state(0), "SESSION_UP");
    w.run(Duration::from_secs(700));
    assert_eq!(w.state(3), "SESSION_UP");
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let history = |seed| {
        let mut w = World::new(seed);
        w.run(Duration::from_secs(30));
        w.net.inject_power_loss(&w.iccid(0), w.now).unwrap();
        w.run(Duration::from_secs(30));
        format!("{:?}", w.events)
    };
    assert_eq!(history(42), history(42));
    assert_ne!(history(42), history(43));
}
