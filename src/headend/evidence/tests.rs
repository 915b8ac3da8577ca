use super::*;
use crate::headend::diagnosis::{diagnose, RootCause};
use crate::headend::fleet::ReadMode;

const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// 2026-11-26T02:30:00Z.
fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-26T02:30:00Z").unwrap()
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("2026-11-26T{s}:00Z")).unwrap()
}

fn meter() -> MeterRef {
    MeterRef {
        id: "meter-000001".into(),
        mode: ReadMode::Direct,
        iccid: "8945000000000000001".into(),
        msisdn: "+4520000001".into(),
        cell: "cell-0001".into(),
    }
}

fn aaa(t: &str, kind: AaaKind) -> AaaRecord {
    AaaRecord {
        at: at(t),
        kind: kind.clone(),
        user: "8945000000000000001".into(),
        line: format!("{kind:?} at {t}."),
    }
}

fn session(phase: SessionPhase, since: &str) -> SessionRecord {
    SessionRecord {
        phase,
        since: at(since),
        started: None,
        last_traffic: None,
        last_setup_failure: None,
        last_terminate: None,
        consecutive_failures: 0,
    }
}

fn failed(mut s: SessionRecord, code: &str, t: &str) -> SessionRecord {
    s.last_setup_failure = Some((code.into(), at(t)));
    s.consecutive_failures = 1;
    s
}

fn reach(reach: Reach, since: &str, reason: Option<&str>) -> ReachabilityRecord {
    ReachabilityRecord {
        reach,
        since: at(since),
        last_activity: Some(at(since)),
        detach_reason: reason.map(str::to_string),
    }
}

/// A meter whose network side is fine: session up with recent traffic, SIM active, cell serving.
fn healthy() -> OperatorRecords {
    let mut up = session(SessionPhase::SessionUp, "01:00");
    up.started = Some(at("01:00"));
    up.last_traffic = Some(at("02:29"));
    OperatorRecords {
        session: Some(up),
        aaa: vec![
            aaa("01:00", AaaKind::AccessRequest),
            aaa("01:00", AaaKind::AccessAccept),
            aaa("01:00", AaaKind::AccountingStart),
        ],
        logbook: Vec::new(),
        sim: Some(SimRecord {
            status: "ACTIVATED".into(),
            data_barred: false,
            quota_exhausted: false,
            cell: "cell-0001".into(),
        }),
        maintenance: Vec::new(),
        cell: Some(CellRecord {
            id: "cell-0001".into(),
            serving: true,
        }),
        forecasts: Vec::new(),
        reachability: Some(reach(Reach::Data, "02:29", None)),
        kpi: Some(KpiRecord {
            from: now() - 2 * HOUR,
            until: now(),
            attempts: 1,
            successes: 1,
        }),
    }
}

fn with(f: impl FnOnce(&mut OperatorRecords)) -> OperatorRecords {
    let mut r = healthy();
    f(&mut r);
    r
}

fn window(id: &str, from: &str, until: &str) -> WindowRecord {
    WindowRecord {
        id: id.into(),
        cells: vec!["cell-0001".into()],
        from: at(from),
        until: at(until),
        description: "Planned maintenance".into(),
    }
}

fn gather(r: &OperatorRecords) -> Gathered {
    assemble(&meter(), r, None, now(), &EvidenceParams::default())
}

#[test]
fn each_root_cause_follows_from_its_records() {
    use RootCause as C;
    use SessionPhase as P;
    let table: Vec<(&str, OperatorRecords, Option<DlmsAttempt>, C)> = vec![
        (
            "healthy network, no DLMS result",
            healthy(),
            None,
            C::Unknown,
        ),
        (
            "maintenance covers the cell now",
            with(|r| {
                r.maintenance = vec![window("mw-0001", "02:00", "04:00")];
                r.cell.as_mut().unwrap().serving = false;
                r.session = Some(session(P::Detached, "02:00"));
                r.reachability = Some(reach(Reach::Unreachable, "02:00", Some("NO_COVERAGE")));
            }),
            None,
            C::PlannedMaintenance,
        ),
        (
            "SIM deactivated",
            with(|r| {
                r.sim.as_mut().unwrap().status = "DEACTIVATED".into();
                r.session = Some(session(P::Detached, "02:00"));
            }),
            None,
            C::SimInactive,
        ),
        (
            "SIM deactivated, no SIM record: the set-up failure says so",
            with(|r| {
                r.sim = None;
                r.session = Some(failed(
                    session(P::Registered, "02:00"),
                    "SIM_INACTIVE",
                    "02:00",
                ));
            }),
            None,
            C::SimInactive,
        ),
        (
            "data barred",
            with(|r| {
                r.sim.as_mut().unwrap().data_barred = true;
                r.session = Some(failed(
                    session(P::Registered, "02:00"),
                    "DATA_SERVICE_BARRED",
                    "02:00",
                ));
            }),
            None,
            C::DataBarred,
        ),
        (
            "data allowance used up",
            with(|r| {
                r.sim.as_mut().unwrap().quota_exhausted = true;
                r.session = Some(failed(
                    session(P::Registered, "02:00"),
                    "QUOTA_EXHAUSTED",
                    "02:00",
                ));
            }),
            None,
            C::DataBarred,
        ),
        (
            "RADIUS rejects",
            with(|r| {
                r.aaa.push(aaa("02:00", AaaKind::AccessReject));
                r.session = Some(failed(
                    session(P::Registered, "02:00"),
                    "AAA_REJECT",
                    "02:00",
                ));
            }),
            None,
            C::AaaReject,
        ),
        (
            "RADIUS rejects, no AAA records: the set-up failure says so",
            with(|r| {
                r.aaa.clear();
                r.session = Some(failed(
                    session(P::Registered, "02:00"),
                    "AAA_REJECT",
                    "02:00",
                ));
            }),
            None,
            C::AaaReject,
        ),
        (
            "RADIUS does not answer",
            with(|r| {
                r.aaa.push(aaa("02:00", AaaKind::AccessTimeout));
                r.session = Some(failed(
                    session(P::Registered, "02:00"),
                    "AAA_UNREACHABLE",
                    "02:00",
                ));
            }),
            None,
            C::AaaUnreachable,
        ),
        (
            "registered without a data session",
            with(|r| {
                let mut s = session(P::Registered, "02:00");
                s.last_terminate = Some(("NAS_ERROR".into(), at("02:00")));
                r.session = Some(s);
                r.reachability = Some(reach(Reach::SmsOnly, "02:00", None));
            }),
            None,
            C::NoDataSession,
        ),
        (
            "session up without traffic for an hour",
            with(|r| r.session.as_mut().unwrap().last_traffic = Some(at("01:30"))),
            None,
            C::StaleSession,
        ),
        (
            "signed off without a word",
            with(|r| {
                r.session = Some(session(P::Detached, "02:00"));
                r.reachability = Some(reach(Reach::Unreachable, "02:00", Some("NOT_HEARD")));
            }),
            None,
            C::DeviceDetached,
        ),
        (
            "the cell is out of service, no maintenance announced",
            with(|r| {
                r.cell.as_mut().unwrap().serving = false;
                r.session = Some(session(P::Detached, "02:00"));
                r.reachability = Some(reach(Reach::Unreachable, "02:00", Some("NO_COVERAGE")));
            }),
            None,
            C::RadioFailure,
        ),
        (
            "detached in a cell forecast marginal: the meter, not the area",
            with(|r| {
                r.session = Some(session(P::Detached, "02:00"));
                r.reachability = Some(reach(Reach::Unreachable, "02:00", Some("NOT_HEARD")));
                r.forecasts = vec![ForecastRecord {
                    from: at("02:00"),
                    until: at("03:00"),
                    level: ForecastLevel::Marginal,
                }];
            }),
            None,
            C::DeviceDetached,
        ),
        (
            "no session record, a degradation forecast now",
            with(|r| {
                r.session = None;
                r.forecasts = vec![ForecastRecord {
                    from: at("02:00"),
                    until: at("03:00"),
                    level: ForecastLevel::Marginal,
                }];
            }),
            None,
            C::AreaDegraded,
        ),
        (
            "no session record, not heard of for two days",
            with(|r| {
                r.session = None;
                r.reachability.as_mut().unwrap().last_activity = Some(now() - 48 * HOUR);
            }),
            None,
            C::SilentTimeout,
        ),
        (
            "network fine, the meter refuses the keys",
            healthy(),
            Some(DlmsAttempt::AuthenticationFailed),
            C::DlmsAuthFailed,
        ),
        (
            "network fine, the meter's application is silent",
            healthy(),
            Some(DlmsAttempt::Silent),
            C::MeterNotResponding,
        ),
        (
            "network fine, the meter answers without the readings asked",
            healthy(),
            Some(DlmsAttempt::NoData),
            C::MeterNoData,
        ),
        (
            "a session without traffic at the operator, but the meter answered TCP",
            with(|r| r.session.as_mut().unwrap().last_traffic = None),
            Some(DlmsAttempt::Silent),
            C::MeterNotResponding,
        ),
        (
            "a session without traffic and the meter unreachable: stale",
            with(|r| r.session.as_mut().unwrap().last_traffic = None),
            Some(DlmsAttempt::Unreachable),
            C::StaleSession,
        ),
    ];
    let mut covered: Vec<C> = Vec::new();
    for (name, records, dlms, cause) in table {
        let mut g = gather(&records);
        if let Some(attempt) = dlms {
            apply_dlms(&mut g.evidence, attempt);
        }
        assert_eq!(
            diagnose(&g.evidence).cause,
            cause,
            "{name}: {:?}",
            g.evidence
        );
        assert!(!g.items.is_empty(), "{name}: no evidence lines");
        covered.push(cause);
    }
    for cause in RootCause::ALL {
        assert!(covered.contains(&cause), "no row gives {cause:?}");
    }
}

#[test]
fn a_reject_names_the_last_credential_change_before_the_first_reject() {
    let records = with(|r| {
        r.aaa.extend([
            aaa("01:30", AaaKind::AccessReject),
            aaa("01:40", AaaKind::AccessAccept),
            aaa("02:00", AaaKind::AccessReject),
            aaa("02:01", AaaKind::AccessRequest),
            aaa("02:10", AaaKind::AccessReject),
        ]);
        r.session = Some(failed(
            session(SessionPhase::Registered, "02:10"),
            "AAA_REJECT",
            "02:10",
        ));
        let change = |t: &str, user: &str, by: &str| CredentialChangeRecord {
            at: at(t),
            user: user.into(),
            by: by.into(),
        };
        r.logbook = vec![
            change("00:10", "8945000000000000001", "bob"),
            change("01:58", "8945000000000000001", "alice"),
            change("01:59", "8945000000000000009", "carol"),
            change("02:05", "8945000000000000001", "dave"),
        ];
    });
    let params = EvidenceParams {
        utc_offset_minutes: 60,
        ..EvidenceParams::default()
    };
    let g = assemble(&meter(), &records, None, now(), &params);
    assert_eq!(
        diagnose(&g.evidence).sentence,
        "Since 03:00 the utility's RADIUS server has refused this meter's SIM: its password was changed at 02:58 by alice. Revert or update the credential; resetting the connection will not help."
    );
    let sources: Vec<&str> = g.items.iter().map(|i| i.source.as_str()).collect();
    assert!(sources.contains(&"logbook"), "{sources:?}");
    let times: Vec<Timestamp> = g.items.iter().map(|i| i.at).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "items in time order"
    );
    let run = g
        .items
        .iter()
        .find(|i| i.line.starts_with("2 refusals"))
        .unwrap();
    assert_eq!(run.at, at("02:10"), "{run:?}");
}

#[test]
fn the_aaa_verdict_is_the_latest_and_its_run_gives_since() {
    use AaaKind as K;
    type Row = (Vec<AaaRecord>, Option<(AaaVerdict, &'static str)>);
    let table: Vec<Row> = vec![
        (vec![], None),
        (vec![aaa("01:00", K::AccessRequest)], None),
        (
            vec![
                aaa("01:00", K::AccessAccept),
                aaa("02:00", K::AccountingStop),
            ],
            Some((AaaVerdict::Accepted, "01:00")),
        ),
        (
            vec![
                aaa("01:30", K::AccessReject),
                aaa("01:45", K::AccessTimeout),
                aaa("02:00", K::AccessReject),
                aaa("02:20", K::AccessReject),
            ],
            Some((AaaVerdict::Rejected, "02:00")),
        ),
        (
            // Out of order on input: sorted by time.
            vec![
                aaa("02:20", K::AccessTimeout),
                aaa("02:00", K::AccessTimeout),
                aaa("01:00", K::AccessAccept),
            ],
            Some((AaaVerdict::TimedOut, "02:00")),
        ),
    ];
    for (records, want) in table {
        let r = with(|r| r.aaa = records.clone());
        let got = gather(&r).evidence.aaa;
        assert_eq!(got, want.map(|(v, t)| (v, t.to_string())), "{records:?}");
    }
}

/// The operator keeps only a SIM's latest records: a refusal run an earlier escalation saw begin
/// still begins there, unless a verdict after it broke the run. One restored from a stored
/// outage has no user: the run's own gives it.
#[test]
fn a_refusal_run_longer_than_the_records_kept_starts_at_the_earlier_first_reject() {
    use AaaKind as K;
    let change = |t: &str, user: &str, by: &str| CredentialChangeRecord {
        at: at(t),
        user: user.into(),
        by: by.into(),
    };
    let logbook = vec![
        change("01:58", "8945000000000000001", "alice"),
        change("02:00", "8945000000000000009", "carol"),
    ];
    let earlier = aaa("02:05", K::AccessReject);
    let restored = first_reject_in(&[EvidenceItem {
        source: "aaa-records".into(),
        at: earlier.at,
        line: earlier.line.clone(),
    }])
    .unwrap();
    assert!(restored.user.is_empty());
    let rejected = vec![aaa("02:20", K::AccessReject)];
    let table = [
        (&earlier, rejected.clone(), "02:05", true),
        (&restored, rejected, "02:05", true),
        (
            &earlier,
            vec![aaa("02:10", K::AccessAccept), aaa("02:20", K::AccessReject)],
            "02:20",
            false,
        ),
        (
            &earlier,
            vec![aaa("02:20", K::AccessTimeout)],
            "02:20",
            false,
        ),
    ];
    for (given, records, since, carried) in table {
        let r = with(|r| {
            r.aaa = records.clone();
            r.logbook = logbook.clone();
        });
        let g = assemble(&meter(), &r, Some(given), now(), &EvidenceParams::default());
        assert_eq!(g.evidence.aaa.as_ref().unwrap().1, since, "{records:?}");
        let refused = g.evidence.aaa.as_ref().unwrap().0 == AaaVerdict::Rejected;
        assert_eq!(g.first_reject.is_some(), refused, "{records:?}");
        assert_eq!(g.first_reject.as_ref() == Some(&earlier), carried);
        if refused {
            let change = g.evidence.credential_change.as_ref().unwrap();
            assert_eq!(change.by, "alice", "the SIM's own user's change");
        }
        if carried {
            let lines: Vec<&str> = g.items.iter().map(|i| i.line.as_str()).collect();
            assert!(lines.contains(&earlier.line.as_str()), "{lines:?}");
            assert!(
                lines
                    .iter()
                    .any(|l| l.ends_with("before the first refusal at 02:05.")),
                "{lines:?}"
            );
            assert!(
                lines.iter().any(|l| l.starts_with(
                    "Refusals in a row since 02:05 (the operator still keeps the latest 1)"
                )),
                "{lines:?}"
            );
        }
    }
}

#[test]
fn a_session_is_stale_after_the_threshold_without_traffic() {
    let params = EvidenceParams::default();
    for (quiet, state) in [
        (
            params.stale_after - Duration::from_millis(1),
            SessionState::Up,
        ),
        (params.stale_after, SessionState::Stale),
    ] {
        let r = with(|r| r.session.as_mut().unwrap().last_traffic = Some(now() - quiet));
        assert_eq!(gather(&r).evidence.session, Some(state), "{quiet:?}");
    }
    // No traffic ever: the session's start counts.
    let r = with(|r| {
        let s = r.session.as_mut().unwrap();
        s.last_traffic = None;
        s.started = Some(now() - 5 * MIN);
    });
    assert_eq!(gather(&r).evidence.session, Some(SessionState::Up));
}

#[test]
fn maintenance_and_forecasts_count_only_when_covering_now() {
    let r = with(|r| {
        r.maintenance = vec![
            window("mw-0001", "00:00", "02:30"),
            window("mw-0002", "03:00", "04:00"),
        ];
        r.forecasts = vec![ForecastRecord {
            from: at("03:00"),
            until: at("04:00"),
            level: ForecastLevel::None,
        }];
    });
    let e = gather(&r).evidence;
    assert_eq!(
        (e.maintenance_until, e.degradation_forecast, e.cell_outage),
        (None, None, false)
    );
    // Overlapping windows on the cell: the later end; another cell's window is ignored.
    let r = with(|r| {
        let mut other = window("mw-0003", "02:00", "09:00");
        other.cells = vec!["cell-0002".into()];
        r.maintenance = vec![
            window("mw-0001", "02:00", "03:00"),
            window("mw-0002", "02:15", "05:30"),
            other,
        ];
        r.cell.as_mut().unwrap().serving = false;
        r.forecasts = vec![ForecastRecord {
            from: at("02:00"),
            until: at("06:00"),
            level: ForecastLevel::None,
        }];
    });
    let g = gather(&r);
    assert_eq!(g.evidence.maintenance_until.as_deref(), Some("05:30"));
    assert!(!g.evidence.cell_outage, "maintenance explains the cell");
    assert_eq!(
        g.evidence.degradation_forecast, None,
        "maintenance explains the forecast"
    );
    assert_eq!(
        g.items.iter().filter(|i| i.source == "maintenance").count(),
        2
    );
}

/// The forecast covering now runs on through the slots of its level after it; a worse level
/// later is another forecast.
#[test]
fn a_forecast_covering_now_ends_where_its_level_ends() {
    use ForecastLevel::{Marginal as MC, None as NC};
    let slot = |from: &str, until: &str, level| ForecastRecord {
        from: at(from),
        until: at(until),
        level,
    };
    let table = [
        (
            vec![
                slot("02:00", "03:00", NC),
                slot("03:00", "04:00", NC),
                slot("04:00", "05:00", MC),
            ],
            Some((true, "04:00")),
        ),
        (
            vec![slot("02:00", "03:00", MC), slot("03:00", "04:00", NC)],
            Some((false, "03:00")),
        ),
        (vec![slot("03:00", "04:00", NC)], None),
    ];
    for (slots, want) in table {
        let r = with(|r| r.forecasts = slots.clone());
        let got = gather(&r).evidence.degradation_forecast;
        let got = got.as_ref().map(|f| (f.no_connectivity, f.until.as_str()));
        assert_eq!(got, want, "{slots:?}");
    }
}

#[test]
fn beyond_check_in_counts_from_the_last_activity() {
    let params = EvidenceParams::default();
    for (silent, beyond) in [(params.check_in, false), (params.check_in + MIN, true)] {
        let r = with(|r| r.reachability.as_mut().unwrap().last_activity = Some(now() - silent));
        assert_eq!(gather(&r).evidence.beyond_check_in, beyond, "{silent:?}");
    }
    // Never heard of, unreachable for two days: counts from when it became unreachable.
    let r = with(|r| {
        r.reachability = Some(ReachabilityRecord {
            reach: Reach::Unreachable,
            since: now() - 48 * HOUR,
            last_activity: None,
            detach_reason: None,
        })
    });
    assert!(gather(&r).evidence.beyond_check_in);
}

#[test]
fn displays_times_on_the_head_ends_clock() {
    let n = now(); // 02:30 UTC
    for (t, offset, text) in [
        (at("01:58"), 0, "01:58"),
        (at("01:58"), 60, "02:58"),
        (at("01:58"), -120, "23:58 on 2026-11-25"),
        (at("23:00"), 0, "23:00"),
        (at("23:00"), 120, "01:00 on 2026-11-27"),
        (n + 24 * HOUR, 0, "02:30 on 2026-11-27"),
        (at("00:10"), -330, "18:40"),
    ] {
        assert_eq!(display_time(t, n, offset), text, "{t} {offset}");
    }
}

#[test]
fn merges_forecast_slots_and_leaves_out_what_maintenance_explains() {
    let slot = |from: &str, until: &str, level| ForecastRecord {
        from: at(from),
        until: at(until),
        level,
    };
    use ForecastLevel as L;
    let merged = merge_forecasts(&[
        slot("03:00", "04:00", L::Marginal),
        slot("01:00", "02:00", L::Marginal),
        slot("02:00", "03:00", L::None),
        slot("06:00", "07:00", L::Marginal),
    ]);
    assert_eq!(
        merged,
        vec![
            slot("01:00", "04:00", L::None),
            slot("06:00", "07:00", L::Marginal)
        ]
    );
    let windows = vec![window("mw-0001", "06:00", "07:00")];
    let forecasts = vec![
        ("cell-0001".to_string(), slot("06:00", "07:00", L::None)),
        ("cell-0002".to_string(), slot("01:00", "02:00", L::Marginal)),
        ("cell-0002".to_string(), slot("02:00", "03:00", L::Marginal)),
    ];
    let out = assemble_outlook(&windows, &forecasts, at("00:00"), at("12:00"));
    let got: Vec<(&str, Timestamp, Timestamp, OutlookKind)> = out
        .iter()
        .map(|o| (o.cell.as_str(), o.from, o.until, o.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "cell-0002",
                at("01:00"),
                at("03:00"),
                OutlookKind::Degradation
            ),
            (
                "cell-0001",
                at("06:00"),
                at("07:00"),
                OutlookKind::Maintenance
            ),
        ]
    );
    assert!(assemble_outlook(&windows, &forecasts, at("08:00"), at("12:00")).is_empty());
}

#[test]
fn names_every_record_it_relied_on() {
    let r = with(|r| {
        r.session = Some(failed(
            session(SessionPhase::Registered, "02:00"),
            "AAA_REJECT",
            "02:00",
        ));
        r.aaa.push(aaa("02:00", AaaKind::AccessReject));
        r.logbook = vec![CredentialChangeRecord {
            at: at("01:58"),
            user: "8945000000000000001".into(),
            by: "alice".into(),
        }];
    });
    let g = gather(&r);
    let mut sources: Vec<&str> = g.items.iter().map(|i| i.source.as_str()).collect();
    sources.sort();
    sources.dedup();
    assert_eq!(
        sources,
        [
            "aaa-records",
            "kpi",
            "logbook",
            "reachability",
            "session-status",
            "sim"
        ]
    );
    let session = g
        .items
        .iter()
        .find(|i| i.source == "session-status")
        .unwrap();
    assert_eq!(
        session.line,
        "The meter's modem is on the mobile network (reachable by SMS) but has had no data connection since 02:00. The last attempt to set one up failed at 02:00: the utility's RADIUS server refused the SIM's credentials."
    );
    assert!(
        g.items.iter().all(|i| i.line.ends_with('.')),
        "{:?}",
        g.items
    );
}
