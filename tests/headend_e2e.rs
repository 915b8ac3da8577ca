//! Issue #5 §6: the head-end end to end, with real processes of this binary on loopback:
//! `meters` (a profile capturing every 20 s), `operator` (carrying each SIM's state to its
//! meter) and `headend` or `sidecar` on a 20-second cycle. Faults go in through the operator's
//! scenario API, one per meter, as the network would suffer them; the checks read the head-end's
//! store and its outage log (`reanimator outages`).
//!
//! The tests run in parallel, each with its own fleet, operator and store; their length is
//! the cycles they must see (about two minutes each), not CPU.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reanimator::cosem::LoadModel;
use reanimator::headend::diagnosis::{Remedy, RootCause};
use reanimator::headend::outage::{ActionKind, Outage};
use reanimator::headend::reading::{ReadingSource, StoredReading};
use reanimator::meter::manifest::FleetManifest;
use reanimator::meter::profile::{Profile, SHIPPED};
use reanimator::store::{OutageFilter, Store};
use reanimator::time::Timestamp;
use serde_json::{json, Value};

#[path = "support/process.rs"]
mod process;
use process::{command, free_port, read_status, start_meters, start_operator, wait_for, Killed};

/// The meters' capture period, and the head-end's cycle and service window.
const CYCLE: Duration = Duration::from_secs(20);

fn now() -> Timestamp {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Timestamp::from_millis(ms.as_millis() as u64)
}

/// Sleeps until the clock is between `from` and `to` into a cycle; returns that cycle's start.
fn wait_for_phase(from: Duration, to: Duration) -> Timestamp {
    loop {
        let now = now();
        let phase = now.since(now.floor(CYCLE));
        if phase >= from && phase < to {
            return now.floor(CYCLE);
        }
        std::thread::sleep(if phase < from {
            from - phase
        } else {
            CYCLE - phase + from
        });
    }
}

fn sleep_until(t: Timestamp) {
    std::thread::sleep(t.since(now()));
}

fn secs(t: Timestamp) -> i64 {
    (t.as_millis() / 1000) as i64
}

/// A request to the operator or the sidecar; the answer's status and JSON body (`Null` if none).
fn http(method: &str, url: &str, token: &str, body: &str) -> (u16, Value) {
    let (code, text) = process::http(method, url, token, body);
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Runs `f` on a fresh current-thread runtime (the store is async).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A meter's stored readings, oldest first.
fn readings(store: &Path, meter: &str) -> Vec<StoredReading> {
    block_on(async {
        let store = Store::open(store.to_str().unwrap()).await.unwrap();
        let until = Timestamp::from_secs(4_000_000_000);
        store
            .readings(meter, Timestamp::from_millis(0), until)
            .await
            .unwrap()
    })
}

/// Every outage in the store.
fn stored_outages(store: &Path) -> Vec<Outage> {
    block_on(async {
        let store = Store::open(store.to_str().unwrap()).await.unwrap();
        store.outages(&OutageFilter::default()).await.unwrap()
    })
}

/// The one outage of `meter` in `log`.
fn only_outage<'a>(log: &'a [Outage], meter: &str) -> &'a Outage {
    let of: Vec<&Outage> = log.iter().filter(|o| o.meter == meter).collect();
    assert_eq!(of.len(), 1, "one outage of {meter}: {log:#?}");
    of[0]
}

fn count(o: &Outage, kind: ActionKind) -> usize {
    o.actions.iter().filter(|a| a.kind == kind).count()
}

fn resets(o: &Outage) -> usize {
    count(o, ActionKind::ResetDataSession) + count(o, ActionKind::CancelLocation)
}

/// Waits for a process started with `--run-for` to stop by itself, successfully.
fn finish(child: &mut Killed, within: Duration, log: &str) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{status}:\n{log}");
            return status;
        }
        assert!(Instant::now() < deadline, "still running:\n{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A fleet of meters, one per cell, capturing every 20 s, and the operator on its manifest.
struct World {
    dir: tempfile::TempDir,
    fleet: FleetManifest,
    profile: Profile,
    operator: String,
    /// The head-end's listener for inbound meters.
    inbound: u16,
    _meters: Killed,
    _operator: Killed,
}

impl World {
    /// `count` meters of the shipped profile `basic`, the first at `listen`.
    fn start(count: u32, listen: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let inbound = free_port();
        let text = SHIPPED[0].1.replacen(
            "[meter]\n",
            &format!("[meter]\ncapture_period_s = {}\n", CYCLE.as_secs()),
            1,
        );
        let profile = Profile::parse("fast.toml", &text).unwrap();
        assert_eq!(profile.capture_period_s as u64, CYCLE.as_secs());
        std::fs::write(dir.path().join("fast.toml"), &text).unwrap();
        let manifest = dir.path().join("fleet.json");
        let count = count.to_string();
        let profile_path = dir.path().join("fast.toml").display().to_string();
        let fleet_args = [
            "--profile",
            &profile_path,
            "--count",
            &count,
            "--cells",
            &count,
            "--listen",
            listen,
        ];
        let logs = Some(dir.path());
        let ready = Duration::from_secs(20);
        let meters = start_meters(&fleet_args, &manifest, logs, ready);
        let operator_args = ["--scenario-token", "scen", "--time-scale", "0.01"];
        let (operator, operator_addr) = start_operator(&operator_args, &manifest, logs, ready);
        let fleet: FleetManifest =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        // Faults are injected into a known state: every modem attached with its data session up.
        wait_for(
            "every meter's data session",
            Duration::from_secs(30),
            || {
                fleet.meters.iter().all(|m| {
                    let url = format!(
                        "http://{operator_addr}/sim-management/v0/sims/{}/connectivity-status",
                        m.iccid
                    );
                    http("GET", &url, "secret", "").1["connectivity"] == "ONLINE"
                })
            },
        );
        World {
            dir,
            fleet,
            profile,
            operator: format!("http://{operator_addr}"),
            inbound,
            _meters: meters,
            _operator: operator,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn id(&self, meter: usize) -> &str {
        &self.fleet.meters[meter].id
    }

    fn iccid(&self, meter: usize) -> &str {
        &self.fleet.meters[meter].iccid
    }

    /// Injects a fault through the scenario API; its answer.
    fn inject(&self, fault: Value) -> Value {
        let url = format!("{}/scenario/v0/inject", self.operator);
        let (code, body) = http("POST", &url, "scen", &fault.to_string());
        assert_eq!(code, 200, "{fault} -> {body}");
        body
    }

    /// A copy of the fleet's manifest, edited: what the head-end believes about its meters.
    fn manifest_copy(&self, name: &str, edit: impl FnOnce(&mut FleetManifest)) -> PathBuf {
        let mut copy = self.fleet.clone();
        edit(&mut copy);
        let path = self.path(name);
        std::fs::write(&path, serde_json::to_string(&copy).unwrap()).unwrap();
        path
    }

    /// Writes `NAME.toml`, a head-end configuration on `manifest` with its store in `NAME.db`.
    fn config(&self, name: &str, manifest: &Path) -> PathBuf {
        let text = format!(
            r#"[meters]
manifest = "{manifest}"
profile = "{profile}"

[operator]
url = "{operator}"
token = "secret"
scenario-token = "scen"

[listen]
inbound = "127.0.0.1:{inbound}"

[store]
location = "{store}"

[policy]
cycle-secs = {cycle}
window-secs = {cycle}
escalate-after = 1
retry-backoff-secs = 2
settle-secs = 2
"#,
            manifest = manifest.display(),
            profile = self.path("fast.toml").display(),
            operator = self.operator,
            inbound = self.inbound,
            store = self.path(&format!("{name}.db")).display(),
            cycle = CYCLE.as_secs(),
        );
        let path = self.path(&format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Starts `reanimator COMMAND --config CONFIG [--run-for S]` with `env` set, its output
    /// in `LOG`.
    fn spawn(
        &self,
        command_name: &str,
        config: &Path,
        run_for: Option<Duration>,
        env: &[(&str, &str)],
        log: &str,
    ) -> Killed {
        let out = std::fs::File::create(self.path(log)).unwrap();
        let mut c = command();
        c.args([command_name, "--config"]).arg(config);
        c.envs(env.iter().copied());
        if let Some(d) = run_for {
            c.args(["--run-for", &format!("{:.1}", d.as_secs_f64())]);
        }
        Killed(
            c.stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap(),
        )
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// `reanimator outages --config CONFIG --json [more]`.
    fn outages(&self, config: &Path, more: &[&str]) -> Vec<Outage> {
        let out = command()
            .args(["outages", "--json", "--config"])
            .arg(config)
            .args(more)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Checks that every reading equals the meters' deterministic load model.
    fn assert_model_values(&self, meter: usize, rows: &[StoredReading]) {
        let m = &self.fleet.meters[meter];
        let model = LoadModel::new(self.fleet.seed, m.serial, self.profile.utc_offset_minutes);
        for r in rows {
            let e = model.energy_at(secs(r.reading.interval));
            let got = (r.reading.import_wh, r.reading.export_wh, r.reading.status);
            assert_eq!(got, (e.import_wh, e.export_wh, 0), "{} {r:?}", m.id);
        }
    }
}

/// Asserts the readings are one per cycle, without a gap, from `first` to at least `last`.
fn assert_every_interval(meter: &str, rows: &[StoredReading], first: Timestamp, last: Timestamp) {
    let got: Vec<u64> = rows
        .iter()
        .map(|r| r.reading.interval.as_millis())
        .collect();
    let newest = got.last().copied().unwrap_or(0).max(last.as_millis());
    let want: Vec<u64> = (first.as_millis()..=newest)
        .step_by(CYCLE.as_millis() as usize)
        .collect();
    assert_eq!(got, want, "{meter}: the intervals stored");
}

#[test]
fn a_fleet_with_one_fault_per_meter_is_read_diagnosed_and_reanimated() {
    let w = World::start(8, "127.40.0.1:4059");
    // One fault per meter (each in its own cell); 1, 2 and 7 stay healthy.
    let (stuck, aaa, maintenance, power, keys) = (0, 3, 4, 5, 6);
    let healthy = [1, 2, 7];
    let manifest = w.manifest_copy("headend-fleet.json", |f| {
        f.meters[keys].password = Some("not-the-password".into());
    });
    let config = w.config("headend", &manifest);
    let store = w.path("headend.db");

    w.inject(json!({"kind": "stuck-session", "iccid": w.iccid(stuck), "stuck": "no-data-session"}));
    let change = w.inject(
        json!({"kind": "credential-change", "iccid": w.iccid(aaa), "side": "server", "by": "alice"}),
    );
    let changed_at = Timestamp::parse_rfc3339(change["time"].as_str().unwrap()).unwrap();
    // The change alone leaves the session up: the network drops it, and setting up the next
    // one meets the changed password.
    let reset = format!(
        "{}/sim-management/v0/sims/{}/connectivity-reset",
        w.operator,
        w.iccid(aaa)
    );
    let (code, body) = http(
        "POST",
        &reset,
        "secret",
        r#"{"deleteDataSession":true,"reason":"the network drops the session"}"#,
    );
    assert_eq!(code, 202, "{body}");
    w.inject(json!({"kind": "power-loss", "iccid": w.iccid(power)}));

    // Start just after a cycle starts, so the first service window is whole.
    let start = wait_for_phase(Duration::from_millis(200), Duration::from_millis(2500));
    // Maintenance from the second cycle to the middle of the third: two intervals missed,
    // collected in the fourth.
    let at = |s: u64| (start + Duration::from_secs(s)).to_rfc3339();
    let cell = &w.fleet.meters[maintenance].cell;
    w.inject(json!({"kind": "maintenance-window", "cells": [cell],
        "startTime": at(5), "endTime": at(50), "noticeSeconds": 0}));
    let stop = start + Duration::from_secs(75);
    let mut headend = w.spawn(
        "headend",
        &config,
        Some(stop.since(now())),
        &[],
        "headend.log",
    );
    finish(
        &mut headend,
        Duration::from_secs(120),
        &w.log("headend.log"),
    );

    // On time, not at its next timer (the next cycle, 5 s later).
    assert!(now() < stop + Duration::from_secs(3), "--run-for overran");

    let log = w.outages(&config, &[]);
    let last = start + 3 * CYCLE;
    assert_eq!(log.len(), 5, "one outage per faulty meter: {log:#?}");
    let mut ids: Vec<u64> = log.iter().map(|o| o.id).collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3, 4, 5], "numbered in opening order");
    for o in &log {
        assert_eq!(
            o.wasted_actions(),
            0,
            "no reset where none can cure: {o:#?}"
        );
    }

    // 1. Healthy meters: one reading per cycle, each equal to the load model; no outage.
    for m in healthy {
        assert!(log.iter().all(|o| o.meter != w.id(m)), "{log:#?}");
        let rows = readings(&store, w.id(m));
        assert_every_interval(w.id(m), &rows, start, last);
        assert!(rows.iter().all(|r| r.source == ReadingSource::OnTime));
        w.assert_model_values(m, &rows);
    }

    // 2. A stuck data session: diagnosed, reset once, back inside the same window.
    let o = only_outage(&log, w.id(stuck));
    assert_eq!(o.cause, Some(RootCause::NoDataSession), "{o:#?}");
    assert!(!o.is_open(), "{o:#?}");
    assert_eq!(o.readings_missed, 0, "{o:#?}");
    assert_eq!(count(o, ActionKind::ResetDataSession), 1, "{o:#?}");
    assert_eq!(count(o, ActionKind::CancelLocation), 0, "{o:#?}");
    assert!(o.actions.iter().all(|a| a.ok), "{o:#?}");
    let rows = readings(&store, w.id(stuck));
    assert_every_interval(w.id(stuck), &rows, start, last);
    w.assert_model_values(stuck, &rows);

    // 3. A changed RADIUS password: AAA_REJECT quoting the logbook, no reset tried.
    let o = only_outage(&log, w.id(aaa));
    assert_eq!(o.cause, Some(RootCause::AaaReject), "{o:#?}");
    assert_eq!(o.remedy, Some(Remedy::Report), "{o:#?}");
    let quote = format!("changed at {} by alice", changed_at.local_hh_mm(0));
    assert!(o.sentence.contains(&quote), "{quote:?} in {:?}", o.sentence);
    assert!(o.sentence.contains("will not help"), "{}", o.sentence);
    assert!(o.evidence.iter().any(|e| e.source == "logbook"), "{o:#?}");
    assert_eq!(resets(o), 0, "{o:#?}");
    assert!(o.is_open());

    // 4. Planned maintenance: waited out, then every missed interval collected.
    let o = only_outage(&log, w.id(maintenance));
    assert_eq!(o.cause, Some(RootCause::PlannedMaintenance), "{o:#?}");
    assert_eq!(o.remedy, Some(Remedy::Wait), "{o:#?}");
    assert_eq!(resets(o), 0, "{o:#?}");
    assert!(!o.is_open(), "{o:#?}");
    assert!(o.readings_missed >= 2, "{o:#?}");
    assert_eq!(o.readings_backfilled, o.readings_missed, "{o:#?}");
    let rows = readings(&store, w.id(maintenance));
    assert_every_interval(w.id(maintenance), &rows, start, last);
    let backfilled = rows
        .iter()
        .filter(|r| r.source == ReadingSource::Backfilled)
        .count();
    assert_eq!(backfilled as u32, o.readings_backfilled, "{rows:#?}");
    w.assert_model_values(maintenance, &rows);

    // 5. Power loss: detached, someone must go and look.
    let o = only_outage(&log, w.id(power));
    assert_eq!(o.cause, Some(RootCause::DeviceDetached), "{o:#?}");
    assert_eq!(o.remedy, Some(Remedy::FieldVisit), "{o:#?}");
    assert!(o.sentence.contains("Send someone"), "{}", o.sentence);
    assert_eq!(resets(o), 0, "{o:#?}");
    assert!(o.is_open());

    // 6. The head-end holds the wrong password for one meter.
    let o = only_outage(&log, w.id(keys));
    assert_eq!(o.cause, Some(RootCause::DlmsAuthFailed), "{o:#?}");
    assert_eq!(o.remedy, Some(Remedy::Report), "{o:#?}");
    assert_eq!(resets(o), 0, "{o:#?}");
    assert!(readings(&store, w.id(keys)).is_empty());

    // The log's filters and its plain-language form.
    let open = w.outages(&config, &["--open"]);
    let mut open: Vec<&str> = open.iter().map(|o| o.meter.as_str()).collect();
    open.sort();
    assert_eq!(open, [w.id(aaa), w.id(power), w.id(keys)]);
    let text = command()
        .args(["outages", "--meter", w.id(aaa), "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("AAA_REJECT") && text.contains(&quote),
        "{text}"
    );
}

#[test]
fn the_sidecar_diagnoses_and_reanimates_from_posted_signals() {
    let w = World::start(4, "127.41.0.1:4059");
    let listen = format!("127.0.0.1:{}", free_port());
    let config = w.config("sidecar", &w.path("fleet.json"));
    let meter = 2;
    w.inject(json!({"kind": "stuck-session", "iccid": w.iccid(meter), "stuck": "no-data-session"}));
    // Where to listen comes from the environment; a variable of something else is no key.
    let env = [
        ("REANIMATOR_SIDECAR_LISTEN", listen.as_str()),
        (
            "REANIMATOR_PG_URL",
            "postgres://someone@127.0.0.1/elsewhere",
        ),
    ];
    let _sidecar = w.spawn("sidecar", &config, None, &env, "sidecar.log");
    wait_for("the sidecar", Duration::from_secs(20), || {
        TcpStream::connect(&listen).is_ok()
    });
    let signals = format!("http://{listen}/sidecar/v0/signals");
    let outages = || -> Vec<Outage> {
        let url = format!("http://{listen}/sidecar/v0/outages?meter={}", w.id(meter));
        let (code, body) = http("GET", &url, "", "");
        assert_eq!(code, 200, "{body}");
        serde_json::from_value(body["outages"].clone()).unwrap()
    };
    let post = |signal: &Value| {
        let (code, body) = http("POST", &signals, "", &signal.to_string());
        assert_eq!(code, 202, "{signal} -> {body}");
        body["duplicate"].as_bool().unwrap()
    };

    let missed = now().floor(CYCLE).to_rfc3339();
    let s1 = json!({"id": "s1", "meter": w.id(meter), "missed": [missed]});
    assert!(!post(&s1), "a fresh signal");
    wait_for(
        "the sidecar to reset the session",
        Duration::from_secs(30),
        || {
            outages()
                .first()
                .is_some_and(|o| count(o, ActionKind::ResetDataSession) == 1)
        },
    );
    let o = &outages()[0];
    assert_eq!(o.cause, Some(RootCause::NoDataSession), "{o:#?}");
    assert_eq!(o.readings_missed, 1, "{o:#?}");
    assert!(o.actions.iter().all(|a| a.ok), "{o:#?}");
    let address = &w.fleet.meters[meter].address;
    wait_for(
        "the reset to bring the meter back",
        Duration::from_secs(20),
        || read_status(address) == Some(0),
    );

    assert!(post(&s1), "the same signal again");
    let again = outages();
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0].readings_missed, 1, "{again:#?}");
    assert_eq!(count(&again[0], ActionKind::ResetDataSession), 1);

    assert!(!post(
        &json!({"id": "s2", "meter": w.id(meter), "missed": [], "recovered": 1})
    ));
    wait_for("the outage to close", Duration::from_secs(10), || {
        !outages()[0].is_open()
    });
    let o = &outages()[0];
    assert_eq!((o.id, o.readings_backfilled), (again[0].id, 1), "{o:#?}");
}

#[test]
fn a_kill_9_mid_cycle_loses_no_reading_and_resumes_the_open_outage() {
    let w = World::start(4, "127.42.0.1:4059");
    let config = w.config("headend", &w.path("fleet.json"));
    let store = w.path("headend.db");
    let lost = 0;
    let healthy = [1, 2, 3];
    w.inject(json!({"kind": "power-loss", "iccid": w.iccid(lost)}));
    let mut first = w.spawn("headend", &config, None, &[], "headend-1.log");
    wait_for(
        "two readings of every healthy meter and a diagnosed outage",
        Duration::from_secs(90),
        || {
            let diagnosed = stored_outages(&store)
                .iter()
                .any(|o| o.meter == w.id(lost) && o.cause.is_some());
            diagnosed
                && healthy
                    .iter()
                    .all(|&m| readings(&store, w.id(m)).len() >= 2)
        },
    );
    // Mid-cycle, while this cycle's reads come in.
    let cycle = wait_for_phase(Duration::from_millis(3500), Duration::from_secs(6));
    let before: Vec<Vec<StoredReading>> =
        healthy.iter().map(|&m| readings(&store, w.id(m))).collect();
    let open_before = stored_outages(&store);
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    assert_eq!(open_before.len(), 1, "{open_before:#?}");
    let open_before = &open_before[0];

    // Down for the rest of this cycle and all of the next: that interval's window closes unseen.
    sleep_until(cycle + 2 * CYCLE + Duration::from_millis(1500));
    let mut second = w.spawn(
        "headend",
        &config,
        Some(Duration::from_secs(25)),
        &[],
        "headend-2.log",
    );
    finish(
        &mut second,
        Duration::from_secs(60),
        &w.log("headend-2.log"),
    );
    let stopped = now();
    assert!(
        w.log("headend-2.log").contains("resumed 1 open outages"),
        "{}",
        w.log("headend-2.log")
    );

    for (i, &m) in healthy.iter().enumerate() {
        let after = readings(&store, w.id(m));
        for r in &before[i] {
            assert!(after.contains(r), "{r:?} lost: {after:#?}");
        }
        let first = after[0].reading.interval;
        assert_every_interval(w.id(m), &after, first, cycle + 2 * CYCLE);
        let missed_while_down = cycle + CYCLE;
        let row = after
            .iter()
            .find(|r| r.reading.interval == missed_while_down);
        assert_eq!(
            row.map(|r| r.source),
            Some(ReadingSource::Backfilled),
            "{after:#?}"
        );
        w.assert_model_values(m, &after);
    }
    let log = stored_outages(&store);
    assert_eq!(log.len(), 1, "no new outage: {log:#?}");
    let o = &log[0];
    assert_eq!(
        (o.id, &o.meter, o.start),
        (open_before.id, &open_before.meter, open_before.start)
    );
    assert!(o.is_open(), "{o:#?}");
    assert_eq!(o.cause, Some(RootCause::DeviceDetached), "{o:#?}");
    // Every interval whose window closed counts, those while no head-end ran included.
    let last_closed = stopped.floor(CYCLE) - CYCLE;
    let missed = last_closed.since(o.start).as_secs() / CYCLE.as_secs() + 1;
    assert_eq!(o.readings_missed as u64, missed, "{o:#?}");
}
