//! The policy driven in virtual time against a tiny scripted world: each meter either answers,
//! or fails until a given reset (or time) cures it.

use std::time::Duration;

use super::*;
use crate::headend::diagnosis::{
    AaaVerdict, Evidence, ForecastDegradation, RootCause, SessionState,
};
use crate::headend::evidence::AaaKind;
use crate::headend::fleet::ReadMode;
use crate::headend::outage::EvidenceItem;

const START: Timestamp = Timestamp::from_secs(1_764_115_200); // 2025-11-26 00:00 UTC
const MINUTE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Fault {
    Healthy,
    /// Registered without a data session: a data-session reset cures it.
    NoSession,
    /// The utility's RADIUS refuses the SIM: nothing the head-end does cures it.
    AaaReject,
    /// Silent until this time (maintenance, power): no reset needed or possible.
    DownUntil(Timestamp),
    /// Answers every read without rows (its clock or profile is wrong).
    Empty,
}

struct World {
    faults: Vec<Fault>,
    reads: usize,
    resets: Vec<(MeterIx, ResetKind, Timestamp)>,
    max_in_flight: usize,
    stored: Vec<StoredReading>,
    /// What each escalation passed on from the one before.
    escalations: Vec<Option<AaaRecord>>,
    /// Reads under way: done at, meter, from, to.
    in_flight: Vec<(Timestamp, MeterIx, Timestamp, Timestamp)>,
    now: Timestamp,
}

fn meters(n: usize) -> Vec<MeterRef> {
    (0..n)
        .map(|i| MeterRef {
            id: format!("m{i}"),
            mode: ReadMode::Direct,
            iccid: format!("8945{i:015}"),
            msisdn: format!("+4520{i:06}"),
            cell: format!("cell-{}", i % 2),
        })
        .collect()
}

fn policy() -> Policy {
    Policy {
        escalate_after: 1,
        ..Policy::default()
    }
}

fn rows(from: Timestamp, to: Timestamp) -> Vec<Reading> {
    let mut t = from;
    let mut v = Vec::new();
    while t <= to {
        v.push(Reading {
            interval: t,
            status: 0,
            import_wh: t.as_millis() / 1000,
            export_wh: 0,
        });
        t = t + Duration::from_secs(900);
    }
    v
}

impl World {
    fn new(faults: Vec<Fault>) -> Self {
        World {
            faults,
            reads: 0,
            resets: Vec::new(),
            max_in_flight: 0,
            stored: Vec::new(),
            escalations: Vec::new(),
            in_flight: Vec::new(),
            now: START,
        }
    }

    /// The operator's answer; a refusal run begins at the first escalation that saw it.
    fn evidence(
        &self,
        meter: MeterIx,
        now: Timestamp,
        earlier_reject: Option<AaaRecord>,
    ) -> Gathered {
        let mut e = Evidence::default();
        let mut first_reject = None;
        match self.faults[meter] {
            Fault::NoSession => e.session = Some(SessionState::RegisteredNoSession),
            Fault::AaaReject => {
                e.aaa = Some((AaaVerdict::Rejected, "01:58".into()));
                first_reject = earlier_reject.or(Some(AaaRecord {
                    at: now,
                    kind: AaaKind::AccessReject,
                    user: format!("user-{meter}"),
                    line: "Refused.".into(),
                }));
            }
            Fault::DownUntil(t) if t > now => e.maintenance_until = Some("later".into()),
            _ => e.session = Some(SessionState::Up),
        }
        Gathered {
            evidence: e,
            items: Vec::new(),
            first_reject,
        }
    }

    /// Runs the head-end until `until`, answering every action at once.
    fn run(&mut self, h: &mut Headend, until: Timestamp) {
        let mut now = self.now;
        loop {
            self.drain(h, now);
            // Reads take ten seconds.
            let next_done = self.in_flight.iter().map(|r| r.0).min();
            let next = h.poll_timeout().into_iter().chain(next_done).min().unwrap();
            if next > until {
                self.now = until;
                return;
            }
            now = next.max(now);
            let (done, rest) = std::mem::take(&mut self.in_flight)
                .into_iter()
                .partition(|r| r.0 <= now);
            self.in_flight = rest;
            let done: Vec<_> = done;
            for (_, meter, from, to) in done {
                let outcome = match self.faults[meter] {
                    Fault::Healthy => ReadOutcome::Read(rows(from, to)),
                    Fault::DownUntil(t) if t <= now => ReadOutcome::Read(rows(from, to)),
                    Fault::Empty => ReadOutcome::Read(Vec::new()),
                    _ => ReadOutcome::Failed(ReadFailure::Unreachable),
                };
                h.handle_read(now, meter, outcome);
            }
            h.handle_timeout(now);
        }
    }

    fn drain(&mut self, h: &mut Headend, now: Timestamp) {
        loop {
            while let Some(r) = h.poll_record() {
                if let Record::Readings(v) = r {
                    self.stored.extend(v);
                }
            }
            let Some(action) = h.poll_action() else {
                return;
            };
            match action {
                Action::Read { meter, from, to } => {
                    self.reads += 1;
                    self.in_flight
                        .push((now + Duration::from_secs(10), meter, from, to));
                    self.max_in_flight = self.max_in_flight.max(self.in_flight.len());
                }
                Action::Escalate {
                    meter,
                    earlier_reject,
                } => {
                    self.escalations.push(earlier_reject.clone());
                    let g = self.evidence(meter, now, earlier_reject);
                    h.handle_gathered(now, meter, Ok(g));
                }
                Action::Reset { meter, kind, .. } => {
                    self.resets.push((meter, kind, now));
                    if self.faults[meter] == Fault::NoSession && kind == ResetKind::DataSession {
                        self.faults[meter] = Fault::Healthy;
                    }
                    h.handle_reset(now, meter, kind, Ok("op-1".into()));
                }
                Action::Outlook { .. } => h.handle_outlook(now, Vec::new()),
            }
        }
    }
}

#[test]
fn reads_every_meter_once_per_cycle_when_all_is_well() {
    let mut h = Headend::new(policy(), meters(50), START);
    let mut w = World::new(vec![Fault::Healthy; 50]);
    w.run(&mut h, START + 4 * 15 * MINUTE - Duration::from_secs(1));
    assert_eq!(w.reads, 50 * 4);
    assert_eq!(w.stored.len(), 50 * 4);
    assert!(w.stored.iter().all(|r| r.source == ReadingSource::OnTime));
    assert!(h.outages().is_empty());
}

#[test]
fn never_exceeds_the_concurrency_limit() {
    let p = Policy {
        concurrency: 3,
        spread: 0.0,
        ..policy()
    };
    let mut h = Headend::new(p, meters(20), START);
    let mut w = World::new(vec![Fault::Healthy; 20]);
    w.run(&mut h, START + 14 * MINUTE);
    assert_eq!(w.max_in_flight, 3);
    assert_eq!(w.stored.len(), 20);
}

#[test]
fn reanimates_a_meter_without_data_session_inside_the_same_window() {
    let mut h = Headend::new(policy(), meters(2), START);
    let mut w = World::new(vec![Fault::Healthy, Fault::NoSession]);
    w.run(&mut h, START + 15 * MINUTE - Duration::from_secs(1));
    assert_eq!(w.resets.len(), 1);
    assert_eq!(w.resets[0].1, ResetKind::DataSession);
    let o = &h.outages()[0];
    assert_eq!(o.cause, Some(RootCause::NoDataSession));
    assert!(o.end.is_some(), "closed inside the window: {o:?}");
    assert_eq!(o.readings_missed, 0);
    assert_eq!(w.stored.len(), 2);
}

#[test]
fn never_resets_for_a_radius_reject_and_stops_hammering() {
    let mut h = Headend::new(policy(), meters(1), START);
    let mut w = World::new(vec![Fault::AaaReject]);
    w.run(&mut h, START + 4 * 15 * MINUTE - Duration::from_secs(1));
    assert!(w.resets.is_empty());
    let o = &h.outages()[0];
    assert_eq!(o.cause, Some(RootCause::AaaReject));
    assert!(o.sentence.contains("01:58"), "{}", o.sentence);
    assert_eq!(o.readings_missed, 3, "three windows closed");
    // Three attempts in the first window, then one a cycle.
    assert_eq!(w.reads, 3 + 3);
}

#[test]
fn a_later_escalation_is_told_where_the_refusals_began() {
    let mut h = Headend::new(policy(), meters(1), START);
    let mut w = World::new(vec![Fault::AaaReject]);
    w.run(&mut h, START + 10 * 15 * MINUTE);
    assert!(w.escalations.len() >= 2, "{:?}", w.escalations);
    assert_eq!(w.escalations[0], None);
    let first = w.escalations[1]
        .clone()
        .expect("the first escalation's reject");
    assert!(w.escalations[1..]
        .iter()
        .all(|e| e.as_ref() == Some(&first)));
    // Once data flows again the outage is over and a new one starts afresh.
    w.faults[0] = Fault::Healthy;
    w.run(&mut h, START + 12 * 15 * MINUTE);
    assert!(h.outages()[0].end.is_some());
    w.faults[0] = Fault::AaaReject;
    let before = w.escalations.len();
    w.run(&mut h, START + 16 * 15 * MINUTE);
    assert_eq!(
        w.escalations.get(before),
        Some(&None),
        "{:?}",
        w.escalations
    );
}

#[test]
fn a_meter_answering_without_readings_is_one_outage_not_one_a_cycle() {
    let mut h = Headend::new(policy(), meters(1), START);
    let mut w = World::new(vec![Fault::Empty]);
    w.run(&mut h, START + 6 * 15 * MINUTE - Duration::from_secs(1));
    assert_eq!(h.outages().len(), 1, "{:#?}", h.outages());
    let o = &h.outages()[0];
    assert!(o.is_open());
    assert_eq!(o.cause, Some(RootCause::MeterNoData));
    assert_eq!(o.readings_missed, 5, "five windows closed");
    assert!(w.resets.is_empty());
    assert!(w.stored.is_empty());
}

#[test]
fn an_answer_without_rows_ends_an_outage_the_network_caused() {
    let mut h = Headend::new(policy(), meters(1), START);
    let mut w = World::new(vec![Fault::DownUntil(START + 24 * 60 * MINUTE)]);
    w.run(&mut h, START + 2 * 15 * MINUTE);
    assert!(h.outages()[0].is_open());
    // The meter is back but never captured what it missed, nor anything since.
    w.faults[0] = Fault::Empty;
    w.run(&mut h, START + 8 * 15 * MINUTE);
    let first = &h.outages()[0];
    assert!(first.end.is_some(), "{first:#?}");
    assert_eq!(first.cause, Some(RootCause::PlannedMaintenance));
    // What follows is the meter's own: answers without readings.
    assert_eq!(h.outages().len(), 2, "{:#?}", h.outages());
    assert_eq!(h.outages()[1].cause, Some(RootCause::MeterNoData));
}

#[test]
fn escalates_only_after_k_missed_cycles() {
    let p = Policy {
        escalate_after: 2,
        ..policy()
    };
    let mut h = Headend::new(p, meters(1), START);
    let mut w = World::new(vec![Fault::NoSession]);
    w.run(&mut h, START + 15 * MINUTE + MINUTE);
    assert!(w.resets.is_empty(), "not escalated after one cycle");
    assert!(h.outages()[0].cause.is_none());
    assert_eq!(h.outages()[0].detected, START + 15 * MINUTE);
    w.run(&mut h, START + 30 * MINUTE - Duration::from_secs(1));
    assert_eq!(w.resets.len(), 1);
}

#[test]
fn backfills_what_the_meter_kept_after_maintenance() {
    let until = START + 61 * MINUTE;
    let mut h = Headend::new(policy(), meters(1), START);
    // The first interval is read before the maintenance begins.
    let mut w = World::new(vec![Fault::Healthy]);
    w.run(&mut h, START + 10 * MINUTE);
    w.faults[0] = Fault::DownUntil(until);
    w.run(&mut h, START + 2 * 60 * MINUTE);
    assert!(w.resets.is_empty(), "no reset during maintenance");
    let o = &h.outages()[0];
    assert_eq!(o.cause, Some(RootCause::PlannedMaintenance));
    assert_eq!(o.start, START + 15 * MINUTE);
    assert_eq!(o.readings_missed, 3);
    assert_eq!(o.readings_backfilled, 3);
    assert!(o.end.is_some());
    let mut got: Vec<_> = w.stored.iter().map(|r| r.reading.interval).collect();
    got.dedup();
    assert_eq!(
        got,
        rows(START, START + 105 * MINUTE)
            .iter()
            .map(|r| r.interval)
            .collect::<Vec<_>>()
    );
}

#[test]
fn holds_remedies_beyond_the_hourly_limit() {
    let p = Policy {
        remedies_per_hour: 1,
        ..policy()
    };
    let mut h = Headend::new(p, meters(2), START);
    let mut w = World::new(vec![Fault::NoSession, Fault::NoSession]);
    w.run(&mut h, START + 59 * MINUTE);
    assert_eq!(w.resets.len(), 1);
    w.run(&mut h, START + 2 * 60 * MINUTE);
    assert_eq!(w.resets.len(), 2);
    assert!(w.resets[1].2 >= w.resets[0].2 + Duration::from_secs(3600));
}

#[test]
fn restores_open_outages_and_resumes_from_the_stored_interval() {
    let mut h = Headend::new(policy(), meters(1), START);
    let mut w = World::new(vec![Fault::AaaReject]);
    w.run(&mut h, START + 20 * MINUTE);
    let open = h.outages()[0].clone();
    assert!(open.is_open());
    // A new process: the store gives back the outage and the newest stored interval.
    let now = START + 40 * MINUTE;
    let mut h2 = Headend::new(policy(), meters(1), now);
    h2.restore_reading(0, START - 15 * MINUTE);
    h2.restore_outage(open.clone());
    let mut w2 = World::new(vec![Fault::Healthy]);
    w2.now = now;
    w2.run(&mut h2, now + 10 * MINUTE);
    let o = &h2.outages()[0];
    assert_eq!(o.id, open.id);
    assert!(o.end.is_some());
    assert_eq!(w2.stored.first().map(|r| r.reading.interval), Some(START));
    // START's window closed before the restart, START + 15 min's while no head-end ran.
    assert_eq!((o.readings_missed, o.readings_backfilled), (2, 2), "{o:?}");
}

#[test]
fn a_restored_refusal_outage_tells_its_next_escalation_where_the_refusals_began() {
    let mut h = Headend::new(policy(), meters(1), START);
    let mut w = World::new(vec![Fault::AaaReject]);
    w.run(&mut h, START + 20 * MINUTE);
    let mut open = h.outages()[0].clone();
    let began = START + 2 * MINUTE;
    open.evidence = vec![
        EvidenceItem {
            source: "aaa-records".into(),
            at: START + 19 * MINUTE,
            line: "12 refusals in a row since 00:02".into(),
        },
        EvidenceItem {
            source: "aaa-records".into(),
            at: began,
            line: "Refused.".into(),
        },
    ];
    let now = START + 40 * MINUTE;
    let mut h2 = Headend::new(policy(), meters(1), now);
    h2.restore_outage(open);
    let mut w2 = World::new(vec![Fault::AaaReject]);
    w2.now = now;
    w2.run(&mut h2, now + 3 * 60 * MINUTE);
    let earlier = w2.escalations.first().cloned().flatten();
    let earlier = earlier.expect("an escalation told of the refusals");
    assert_eq!((earlier.at, earlier.line.as_str()), (began, "Refused."));
}

#[test]
fn a_degradation_announced_ahead_is_the_area_not_an_unplanned_outage() {
    // What the operator's records say about a detached meter whose cell is down while its
    // connectivity forecast says NC (or, queried a moment earlier, nothing yet): the same for a
    // forecast come true and for an outage.
    let nc = ForecastDegradation {
        no_connectivity: true,
        until: "03:00".into(),
    };
    let cause = |told_ahead: bool, forecast: Option<ForecastDegradation>| {
        let evidence = Evidence {
            session: Some(SessionState::Detached),
            cell_outage: true,
            degradation_forecast: forecast,
            ..Evidence::default()
        };
        let mut h = Headend::sidecar(policy(), meters(1), START, false);
        let at = START + 60 * MINUTE;
        let seen = |from, until| CellOutlook {
            cell: "cell-0".into(),
            from,
            until,
            kind: OutlookKind::Degradation,
        };
        if told_ahead {
            h.handle_outlook(START, vec![seen(at, at + 60 * MINUTE)]);
        }
        // Under way, the forecast shows longer: the same degradation (or an outage's NC).
        h.handle_outlook(at + 30 * MINUTE, vec![seen(at, at + 120 * MINUTE)]);
        let now = at + 90 * MINUTE;
        h.handle_missing(now, 0, &[at]);
        let cell_line = EvidenceItem {
            source: "cell".into(),
            at: now,
            line: "Cell cell-0 is not serving now and no maintenance is announced for it: an unplanned outage.".into(),
        };
        let gathered = Gathered {
            evidence: evidence.clone(),
            items: vec![cell_line],
            first_reject: None,
        };
        h.handle_gathered(now, 0, Ok(gathered));
        let o = &h.outages()[0];
        (o.cause, o.evidence.len(), o.sentence.clone())
    };
    let (code, lines, sentence) = cause(true, Some(nc.clone()));
    assert_eq!(
        (code, lines),
        (Some(RootCause::AreaDegraded), 0),
        "no 'unplanned outage' line under a forecast come true"
    );
    assert!(
        sentence.contains("no mobile coverage in this meter's area until 03:00"),
        "{sentence}"
    );
    // Without the operator's forecast in the records, the one told ahead gives the end.
    let (code, _, sentence) = cause(true, None);
    assert_eq!(code, Some(RootCause::AreaDegraded));
    assert!(
        sentence.contains("until 02:00") || sentence.contains("until 03:00"),
        "{sentence}"
    );
    let (code, lines, _) = cause(false, Some(nc));
    assert_eq!((code, lines), (Some(RootCause::RadioFailure), 1));
}

#[test]
fn a_forecast_hours_ahead_neither_blocks_the_reads_until_then_nor_waits_for_its_slot() {
    let mut h = Headend::new(policy(), meters(4), START);
    let from = START + 155 * MINUTE; // 02:35, inside the 02:30 window
    let ahead = CellOutlook {
        cell: "cell-0".into(),
        from,
        until: from + 60 * MINUTE,
        kind: OutlookKind::Degradation,
    };
    h.handle_outlook(START, vec![ahead]);
    let mut w = World::new(vec![Fault::Healthy; 4]);
    w.run(&mut h, from - Duration::from_secs(30));
    assert!(h.outages().is_empty(), "{:?}", h.outages());
    let read = |m: &str, t: Timestamp| {
        w.stored
            .iter()
            .any(|r| r.meter == m && r.reading.interval == t)
    };
    assert!((0..10).all(|k| read("m2", START + k * 15 * MINUTE)));
    assert!(
        read("m2", START + 150 * MINUTE),
        "m2's slot is at 02:37; the forecast from 02:35 moves its read before it"
    );
}
