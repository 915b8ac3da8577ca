//! The store against both backends: the same cases on a fresh SQLite file and on a fresh
//! PostgreSQL database, then what only one backend has (SQLite's crash safety under kill -9,
//! PostgreSQL's reconnection).

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reanimator::headend::diagnosis::{Remedy, RootCause};
use reanimator::headend::outage::{ActionKind, ActionRecord, EvidenceItem, Outage};
use reanimator::headend::reading::{Reading, ReadingSource, StoredReading};
use reanimator::store::{LogbookEntry, OutageFilter, Store, StoreCounts, StoreError};
use reanimator::time::Timestamp;

/// 2026-11-26T00:00:00Z.
const T0: u64 = 1_795_651_200_000;
const QUARTER: u64 = 900_000;

fn at(quarter: u64) -> Timestamp {
    Timestamp::from_millis(T0 + quarter * QUARTER)
}

fn reading(meter: &str, quarter: u64, source: ReadingSource) -> StoredReading {
    StoredReading {
        meter: meter.to_string(),
        reading: Reading {
            interval: at(quarter),
            status: (quarter % 3) as u8 * 0x40,
            import_wh: 10_000 + quarter * 25,
            export_wh: quarter,
        },
        source,
        received_at: at(quarter) + Duration::from_millis(1234),
    }
}

fn outage(meter: &str, start: u64) -> Outage {
    Outage {
        id: 999,
        meter: meter.to_string(),
        start: at(start),
        detected: at(start + 1),
        cause: None,
        remedy: None,
        sentence: String::new(),
        evidence: Vec::new(),
        actions: Vec::new(),
        end: None,
        readings_missed: 0,
        readings_backfilled: 0,
        sla_class: None,
    }
}

fn evidence(source: &str, quarter: u64, line: &str) -> EvidenceItem {
    EvidenceItem {
        source: source.to_string(),
        at: at(quarter),
        line: line.to_string(),
    }
}

fn action(kind: ActionKind, quarter: u64, ok: bool, result: &str) -> ActionRecord {
    ActionRecord {
        at: at(quarter),
        kind,
        ok,
        result: result.to_string(),
    }
}

async fn open(location: &str) -> Store {
    Store::open(location)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn all_outages(store: &Store) -> Vec<Outage> {
    store.outages(&OutageFilter::default()).await.unwrap()
}

/// The cases, each taking the location of an empty store.
mod cases {
    use super::*;

    pub async fn can_round_trip_readings_idempotently(location: &str) {
        let store = open(location).await;
        assert_eq!(store.save_readings(&[]).await.unwrap(), 0);
        let first: Vec<StoredReading> = (0..3)
            .map(|q| reading("m1", q, ReadingSource::OnTime))
            .chain([reading("m2", 0, ReadingSource::Pushed)])
            .collect();
        assert_eq!(store.save_readings(&first).await.unwrap(), 4);
        // Overlapping again: only quarter 3 is new, and the first write of quarter 1 stays.
        let mut again: Vec<StoredReading> = (1..4)
            .map(|q| reading("m1", q, ReadingSource::Backfilled))
            .collect();
        again[0].reading.import_wh = 1;
        assert_eq!(store.save_readings(&again).await.unwrap(), 1);
        let twice = [
            reading("m3", 0, ReadingSource::OnTime),
            reading("m3", 0, ReadingSource::OnTime),
        ];
        assert_eq!(store.save_readings(&twice).await.unwrap(), 1);

        let m1 = store.readings("m1", at(0), at(3)).await.unwrap();
        let mut want = first[..3].to_vec();
        want.push(again[2].clone());
        assert_eq!(m1, want);
        assert_eq!(
            store.readings("m1", at(1), at(2)).await.unwrap(),
            first[1..3].to_vec(),
            "both bounds are inclusive"
        );
        assert_eq!(
            store.readings("m2", at(0), at(0)).await.unwrap(),
            vec![first[3].clone()]
        );
        assert!(store
            .readings("nobody", at(0), at(9))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.counts().await.unwrap().readings, 6);
    }

    pub async fn reports_the_latest_interval_per_meter(location: &str) {
        let store = open(location).await;
        assert!(store.latest_intervals().await.unwrap().is_empty());
        let rows: Vec<StoredReading> = [("a", 5), ("a", 2), ("b", 1), ("a", 7), ("c", 0), ("b", 3)]
            .iter()
            .map(|&(m, q)| reading(m, q, ReadingSource::OnTime))
            .collect();
        store.save_readings(&rows[..3]).await.unwrap();
        store.save_readings(&rows[3..]).await.unwrap();
        let want: HashMap<String, Timestamp> = [("a", at(7)), ("b", at(3)), ("c", at(0))]
            .into_iter()
            .map(|(m, t)| (m.to_string(), t))
            .collect();
        assert_eq!(store.latest_intervals().await.unwrap(), want);
    }

    pub async fn upserts_outages_by_meter_and_start(location: &str) {
        let store = open(location).await;
        let mut o1 = outage("m1", 10);
        let id1 = store.save_outage(&o1).await.unwrap();
        let id2 = store.save_outage(&outage("m2", 10)).await.unwrap();
        assert_ne!(id1, id2);
        let ids: Vec<u64> = all_outages(&store).await.iter().map(|o| o.id).collect();
        assert_eq!(ids, [id1, id2], "the store's ids, not the caller's 999");

        o1.cause = Some(RootCause::StaleSession);
        o1.remedy = Some(Remedy::ResetDataSession);
        o1.sentence = "The meter's data connection is open but passes no traffic.".into();
        o1.sla_class = Some("single-meter".into());
        o1.readings_missed = 4;
        o1.id = 12345;
        assert_eq!(store.save_outage(&o1).await.unwrap(), id1);
        assert_eq!(
            store.counts().await.unwrap(),
            StoreCounts {
                readings: 0,
                outages: 2,
                open_outages: 2
            }
        );

        o1.end = Some(at(20));
        o1.readings_backfilled = 4;
        assert_eq!(store.save_outage(&o1).await.unwrap(), id1);
        assert_eq!(store.counts().await.unwrap().open_outages, 1);
        let want = Outage {
            id: id1,
            ..o1.clone()
        };
        assert_eq!(all_outages(&store).await[0], want);

        // A restart keeps ids and contents; a later silence of the same meter is a new outage.
        let before = all_outages(&store).await;
        drop(store);
        let store = open(location).await;
        assert_eq!(all_outages(&store).await, before);
        let id3 = store.save_outage(&outage("m1", 30)).await.unwrap();
        assert_eq!(
            id3,
            id2 + 1,
            "updates draw no ids: the log numbers outages without gaps"
        );
        assert_eq!(store.counts().await.unwrap().outages, 3);
    }

    pub async fn filters_outages(location: &str) {
        let store = open(location).await;
        // (meter, start, end)
        let log = [
            ("m1", 10, Some(20)),
            ("m2", 5, None),
            ("m1", 30, None),
            ("m3", 5, Some(8)),
        ];
        for (meter, start, end) in log {
            let mut o = outage(meter, start);
            o.end = end.map(at);
            store.save_outage(&o).await.unwrap();
        }
        let filter = |open_only, since: Option<u64>, meter: Option<&str>| OutageFilter {
            open_only,
            since: since.map(at),
            meter: meter.map(str::to_string),
        };
        let table: [(OutageFilter, &[(&str, u64)]); 7] = [
            (
                OutageFilter::default(),
                &[("m2", 5), ("m3", 5), ("m1", 10), ("m1", 30)],
            ),
            (filter(true, None, None), &[("m2", 5), ("m1", 30)]),
            (
                filter(false, Some(15), None),
                &[("m2", 5), ("m1", 10), ("m1", 30)],
            ),
            (
                filter(false, Some(20), None),
                &[("m2", 5), ("m1", 10), ("m1", 30)],
            ),
            (filter(false, Some(21), Some("m1")), &[("m1", 30)]),
            (filter(true, None, Some("m1")), &[("m1", 30)]),
            (filter(false, None, Some("nobody")), &[]),
        ];
        for (f, want) in table {
            let got: Vec<(String, Timestamp)> = store
                .outages(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|o| (o.meter, o.start))
                .collect();
            let want: Vec<(String, Timestamp)> =
                want.iter().map(|&(m, s)| (m.to_string(), at(s))).collect();
            assert_eq!(got, want, "{f:?}");
        }
    }

    pub async fn keeps_evidence_and_actions_in_order(location: &str) {
        let store = open(location).await;
        let mut o = outage("m1", 0);
        // Times out of order on purpose: the saved order is the list's, not the clock's.
        o.evidence = vec![
            evidence("dlms", 3, "TCP connected, no AARE within 10 s"),
            evidence("session-status", 1, "registered, no data session"),
            evidence("aaa-records", 2, "Access-Accept at 01:00"),
            evidence("sim", 2, "active"),
            evidence("logbook", 0, "nothing changed"),
        ];
        o.actions = vec![
            action(ActionKind::WakeUp, 4, false, "no answer"),
            action(ActionKind::Escalate, 5, true, "diagnosed NO_DATA_SESSION"),
            action(
                ActionKind::ResetDataSession,
                5,
                true,
                "accepted by the operator",
            ),
            action(ActionKind::Backfill, 6, true, "12 readings"),
        ];
        let id = store.save_outage(&o).await.unwrap();
        let mut other = outage("m2", 0);
        other.evidence = vec![evidence("sim", 9, "deactivated")];
        let other_id = store.save_outage(&other).await.unwrap();
        let stored = all_outages(&store).await;
        assert_eq!(stored[0], Outage { id, ..o.clone() });
        assert_eq!(
            stored[1],
            Outage {
                id: other_id,
                ..other.clone()
            }
        );

        o.evidence.truncate(2);
        o.actions = vec![action(
            ActionKind::CancelLocation,
            9,
            false,
            "refused: rate limit",
        )];
        store.save_outage(&o).await.unwrap();
        assert_eq!(all_outages(&store).await[0], Outage { id, ..o.clone() });
        o.evidence.clear();
        o.actions.clear();
        store.save_outage(&o).await.unwrap();
        assert_eq!(all_outages(&store).await[0], Outage { id, ..o });
        assert_eq!(all_outages(&store).await[1].evidence, other.evidence);
    }

    pub async fn can_round_trip_every_cause_remedy_action_and_source(location: &str) {
        let store = open(location).await;
        let causes = RootCause::ALL;
        let remedies = [
            Remedy::Wait,
            Remedy::ResetDataSession,
            Remedy::CancelLocation,
            Remedy::Report,
            Remedy::FieldVisit,
        ];
        let kinds = [
            ActionKind::WakeUp,
            ActionKind::ResetDataSession,
            ActionKind::CancelLocation,
            ActionKind::Backfill,
            ActionKind::Escalate,
        ];
        let mut want = Vec::new();
        for (i, cause) in causes.into_iter().enumerate() {
            let mut o = outage(&format!("m{i:02}"), 0);
            o.cause = Some(cause);
            o.remedy = Some(remedies[i % remedies.len()]);
            o.actions = kinds
                .iter()
                .map(|&k| action(k, 1, i % 2 == 0, "done"))
                .collect();
            o.id = store.save_outage(&o).await.unwrap();
            want.push(o);
        }
        assert_eq!(all_outages(&store).await, want);
        let sources = [
            ReadingSource::OnTime,
            ReadingSource::Backfilled,
            ReadingSource::Pushed,
        ];
        let rows: Vec<StoredReading> = (0..3)
            .map(|q| reading("m", q, sources[q as usize]))
            .collect();
        store.save_readings(&rows).await.unwrap();
        assert_eq!(store.readings("m", at(0), at(2)).await.unwrap(), rows);
    }

    pub async fn counters_only_grow(location: &str) {
        let store = open(location).await;
        assert!(store.load_counters().await.unwrap().is_empty());
        for (meter, counter) in [("m1", 5), ("m1", 3), ("m2", u32::MAX)] {
            store
                .save_counters(&[(meter.into(), counter)])
                .await
                .unwrap();
        }
        // In one batch too: the highest wins, whatever the order.
        let batch = [("m1", 9), ("m3", 1), ("m1", 8), ("m3", 2)].map(|(m, c)| (m.to_string(), c));
        store.save_counters(&batch).await.unwrap();
        store.save_counters(&[]).await.unwrap();
        let want: HashMap<String, u32> = [("m1", 9), ("m2", u32::MAX), ("m3", 2)]
            .map(|(m, c)| (m.to_string(), c))
            .into();
        assert_eq!(store.load_counters().await.unwrap(), want);
    }

    pub async fn appends_and_reads_the_logbook(location: &str) {
        let store = open(location).await;
        let entry = |q, who: &str, change: &str| LogbookEntry {
            at: at(q),
            who: who.to_string(),
            subject: "8931080000000000017".to_string(),
            change: change.to_string(),
        };
        let entries = [
            entry(30, "ops", "SIM moved to a new APN"),
            entry(10, "j.doe", "RADIUS password changed"),
            entry(20, "j.doe", "RADIUS password changed again"),
            entry(20, "a.smith", "RADIUS password reverted"),
        ];
        for e in &entries {
            store.append_logbook(e).await.unwrap();
        }
        let order = |idx: &[usize]| idx.iter().map(|&i| entries[i].clone()).collect::<Vec<_>>();
        assert_eq!(store.logbook(at(0)).await.unwrap(), order(&[1, 2, 3, 0]));
        assert_eq!(store.logbook(at(20)).await.unwrap(), order(&[2, 3, 0]));
        assert!(store.logbook(at(31)).await.unwrap().is_empty());
    }

    pub async fn claims_a_signal_once(location: &str) {
        let store = open(location).await;
        assert!(store
            .claim_signal("m1/2026-11-26T00:15Z", at(1))
            .await
            .unwrap());
        assert!(!store
            .claim_signal("m1/2026-11-26T00:15Z", at(2))
            .await
            .unwrap());
        assert!(store
            .claim_signal("m1/2026-11-26T00:30Z", at(2))
            .await
            .unwrap());
        drop(store);
        let store = open(location).await;
        assert!(!store
            .claim_signal("m1/2026-11-26T00:15Z", at(3))
            .await
            .unwrap());
    }

    pub async fn instances_sharing_a_store_never_duplicate(location: &str) {
        let (a, b) = (open(location).await, open(location).await);
        let batches = |store: Store, range: std::ops::Range<u64>, outage_tag: &'static str| async move {
            let mut new = 0;
            let mut claimed = 0;
            for chunk in range.collect::<Vec<_>>().chunks(25) {
                let rows: Vec<StoredReading> = chunk
                    .iter()
                    .flat_map(|&q| {
                        (0..4).map(move |m| reading(&format!("m{m}"), q, ReadingSource::OnTime))
                    })
                    .collect();
                new += store.save_readings(&rows).await.unwrap();
                let mut o = outage("shared", 0);
                o.evidence = (0..5)
                    .map(|i| evidence(outage_tag, i, outage_tag))
                    .collect();
                store.save_outage(&o).await.unwrap();
                for &q in chunk {
                    claimed +=
                        usize::from(store.claim_signal(&format!("k{q}"), at(q)).await.unwrap());
                    store
                        .save_counters(&[("m0".into(), q as u32)])
                        .await
                        .unwrap();
                }
            }
            (store, new, claimed)
        };
        let ((a, new_a, claimed_a), (_b, new_b, claimed_b)) =
            tokio::join!(batches(a, 0..200, "a"), batches(b, 100..300, "b"));
        assert_eq!(
            new_a + new_b,
            300 * 4,
            "each (meter, interval) counted new exactly once"
        );
        assert_eq!(
            claimed_a + claimed_b,
            300,
            "each signal claimed exactly once"
        );
        assert_eq!(a.counts().await.unwrap().readings, 1200);
        let outages = all_outages(&a).await;
        assert_eq!(outages.len(), 1);
        let tags: Vec<&str> = outages[0]
            .evidence
            .iter()
            .map(|e| e.line.as_str())
            .collect();
        assert!(
            tags.iter().all(|t| *t == tags[0]),
            "evidence from one save, not a mix of two: {tags:?}"
        );
        assert_eq!(a.load_counters().await.unwrap()["m0"], 299);
    }

    pub async fn rejects_values_beyond_the_stores_range(location: &str) {
        let store = open(location).await;
        let mut huge = reading("m1", 1, ReadingSource::OnTime);
        huge.reading.import_wh = u64::MAX;
        let batch = [reading("m1", 0, ReadingSource::OnTime), huge];
        let e = store.save_readings(&batch).await.unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::OutOfRange {
                    what: "import_wh",
                    ..
                }
            ),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains(store.location()) && text.contains("import_wh"),
            "{text}"
        );
        assert_eq!(store.counts().await.unwrap().readings, 0, "all or nothing");
        let mut late = outage("m1", 0);
        late.start = Timestamp::from_millis(u64::MAX);
        assert!(matches!(
            store.save_outage(&late).await,
            Err(StoreError::OutOfRange {
                what: "outage start",
                ..
            })
        ));
    }
}

/// Generates one test per case and backend.
macro_rules! against_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let location = format!("sqlite:{}", dir.path().join("store.db").display());
                    super::cases::$case(&location).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::support::postgres::fresh_database().await;
                    super::cases::$case(&db.url).await;
                }
            )*
        }
    };
}

against_both_backends!(
    can_round_trip_readings_idempotently,
    reports_the_latest_interval_per_meter,
    upserts_outages_by_meter_and_start,
    filters_outages,
    keeps_evidence_and_actions_in_order,
    can_round_trip_every_cause_remedy_action_and_source,
    counters_only_grow,
    appends_and_reads_the_logbook,
    claims_a_signal_once,
    instances_sharing_a_store_never_duplicate,
    rejects_values_beyond_the_stores_range,
);

#[tokio::test]
async fn sqlite_creates_its_file_and_directory_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/dir/store.db");
    let store = open(path.to_str().unwrap()).await;
    assert_eq!(store.location(), format!("sqlite:{}", path.display()));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}

#[tokio::test]
async fn sqlite_in_memory_works_for_tests() {
    let store = open("sqlite::memory:").await;
    store
        .save_readings(&[reading("m", 0, ReadingSource::OnTime)])
        .await
        .unwrap();
    assert_eq!(store.counts().await.unwrap().readings, 1);
}

#[tokio::test]
async fn rejects_an_unopenable_sqlite_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let path = file.join("store.db");
    let e = Store::open(path.to_str().unwrap())
        .await
        .err()
        .expect("an error");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot open the store sqlite:{}: ",
            path.display()
        )),
        "{text}"
    );
    std::fs::write(dir.path().join("junk.db"), vec![0x5a; 4096]).unwrap();
    let e = Store::open(dir.path().join("junk.db").to_str().unwrap())
        .await
        .err()
        .expect("an error");
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
}

#[tokio::test]
async fn refuses_a_newer_sqlite_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(open(path.to_str().unwrap()).await);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    let e = Store::open(path.to_str().unwrap())
        .await
        .err()
        .expect("an error");
    assert!(
        matches!(
            e,
            StoreError::NewerSchema {
                found: 99,
                known: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn refuses_a_newer_postgres_schema() {
    let db = support::postgres::fresh_database().await;
    drop(open(&db.url).await);
    let client = support::postgres::connect(&db.url).await;
    client
        .batch_execute("INSERT INTO schema_version (version) VALUES (99)")
        .await
        .unwrap();
    let e = Store::open(&db.url).await.err().expect("an error");
    assert!(
        matches!(
            e,
            StoreError::NewerSchema {
                found: 99,
                known: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn rejects_an_unreachable_postgres_and_hides_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app:s3cret@127.0.0.1:{port}/reanimator");
    let e = Store::open(&url)
        .await
        .err()
        .expect("nothing listens there");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot open the store postgres://app:***@127.0.0.1:{port}/reanimator: "
        )),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    let e = Store::open("postgres://app@192.0.2.1/reanimator")
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("not a loopback address"), "{e}");
}

#[tokio::test]
async fn postgres_reconnects_after_the_server_drops_it() {
    let db = support::postgres::fresh_database().await;
    let store = open(&db.url).await;
    store
        .save_readings(&[reading("m", 0, ReadingSource::OnTime)])
        .await
        .unwrap();
    let admin = support::postgres::connect(&db.url).await;
    let killed = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(killed, 1);
    // The call that finds the connection gone fails; the next one reconnects.
    let mut counts = store.counts().await;
    if let Err(e) = &counts {
        assert!(e.to_string().contains(store.location()), "{e}");
        counts = store.counts().await;
    }
    assert_eq!(counts.unwrap().readings, 1);
}

/// The environment variable that turns `crash_writer_child` into the writer.
const CRASH_CHILD: &str = "REANIMATOR_STORE_CRASH_CHILD";
const CRASH_METERS: u64 = 50;

/// Not a test on its own: with `REANIMATOR_STORE_CRASH_CHILD=PATH` it is the child process of
/// `sqlite_loses_nothing_committed_across_kill_9`, writing batches into PATH until killed.
#[tokio::test]
async fn crash_writer_child() {
    let Ok(path) = std::env::var(CRASH_CHILD) else {
        return;
    };
    let store = open(&path).await;
    // Resume where the last run stopped, as the head-end does after a restart.
    let mut batch = store
        .latest_intervals()
        .await
        .unwrap()
        .values()
        .max()
        .map_or(0, |t| (t.as_millis() - T0) / QUARTER + 1);
    let mut stdout = std::io::stdout();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && batch < 100_000 {
        let mut o = outage("crash", 0);
        o.readings_missed = batch as u32;
        o.evidence = (0..batch % 5)
            .map(|i| evidence("dlms", i, "silent"))
            .collect();
        store.save_outage(&o).await.unwrap();
        let rows: Vec<StoredReading> = (0..CRASH_METERS)
            .map(|m| reading(&format!("m{m}"), batch, ReadingSource::OnTime))
            .collect();
        store.save_readings(&rows).await.unwrap();
        writeln!(stdout, "committed {batch}").unwrap();
        stdout.flush().unwrap();
        batch += 1;
    }
}

#[test]
fn sqlite_loses_nothing_committed_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut reported = None;
    for round in 0..3u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_writer_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD, &path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let committed = |line: &str| {
            line.strip_prefix("committed ")
                .map(|n| n.parse::<u64>().unwrap())
        };
        let started = reported.map_or(0, |r: u64| r + 1);
        let deadline = Instant::now() + Duration::from_secs(20);
        // Kill it mid-write some commits after it resumed; a different moment each round.
        for line in lines.by_ref() {
            if let Some(n) = committed(&line.unwrap()) {
                reported = Some(n);
                if n >= started + 20 + round * 7 || Instant::now() > deadline {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(round * 3));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // What it printed before dying was committed too.
        for line in lines {
            if let Some(n) = committed(&line.unwrap()) {
                reported = Some(n);
            }
        }
        let last = reported.expect("the child committed batches");
        assert!(
            last >= started + 20,
            "round {round}: the child resumed at {started}"
        );

        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(conn);
        rt.block_on(async {
            let store = open(&path.display().to_string()).await;
            // Every batch is whole or absent, and the whole ones are 0..=k with k >= last.
            let mut per_batch: HashMap<u64, u64> = HashMap::new();
            for m in 0..CRASH_METERS {
                for r in store
                    .readings(&format!("m{m}"), at(0), at(1_000_000))
                    .await
                    .unwrap()
                {
                    *per_batch
                        .entry((r.reading.interval.as_millis() - T0) / QUARTER)
                        .or_default() += 1;
                }
            }
            let stored = per_batch.len() as u64;
            assert!(
                stored > last,
                "round {round}: batch {last} was reported committed, {stored} stored"
            );
            assert!(
                stored <= last + 2,
                "round {round}: at most the batch in flight beyond {last}"
            );
            for b in 0..stored {
                assert_eq!(
                    per_batch.get(&b),
                    Some(&CRASH_METERS),
                    "round {round}: batch {b}"
                );
            }
            let open_outages = store
                .outages(&OutageFilter {
                    open_only: true,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(open_outages.len(), 1, "the open outage survived");
            let o = &open_outages[0];
            assert!(u64::from(o.readings_missed) >= last, "round {round}");
            assert_eq!(
                o.evidence.len() as u64,
                u64::from(o.readings_missed) % 5,
                "whole lists"
            );
            reported = Some(stored - 1);
        });
    }
}
