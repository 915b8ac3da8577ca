//! The embedded backend: one SQLite file in WAL mode.
//!
//! Durability: WAL with `synchronous=NORMAL`. A commit appends the transaction to the WAL file
//! (in the OS page cache) before it returns; the WAL is synced at checkpoints only. So a killed
//! process (kill -9, a panic, an OOM kill) loses nothing it committed, because the kernel still
//! writes its pages; only a power loss or kernel crash can lose the last commits, and even then
//! the database stays consistent (a torn WAL tail is ignored on recovery). That is the trade the
//! head-end wants: a reading lost to a power cut is read again from the meter's load profile.
//!
//! SQLite calls block, so each runs on tokio's blocking pool holding the one connection;
//! writes take the write lock up front (`BEGIN IMMEDIATE`) so another process or handle on the
//! same file waits out the busy timeout instead of failing on a lock upgrade.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::rows::{self, ActionRow, EvidenceRow, LogbookRow, OutageRow, ReadingRow, RowError};
use super::schema;
use super::{LogbookEntry, OutageFilter, StoreCounts, StoreError};
use crate::headend::outage::Outage;
use crate::headend::reading::StoredReading;
use crate::time::Timestamp;

/// How long a statement waits for another writer on the same file before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A SQLite store.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    location: Arc<str>,
}

/// What went wrong inside a blocking call, before the location is attached.
enum Fail {
    Sql(rusqlite::Error),
    Row(RowError),
    NewerSchema(i64),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<RowError> for Fail {
    fn from(e: RowError) -> Self {
        Fail::Row(e)
    }
}

impl Fail {
    fn at(self, location: &str, op: &'static str) -> StoreError {
        match self {
            Fail::Sql(e) => StoreError::Failed {
                location: location.to_string(),
                op,
                reason: e.to_string(),
            },
            Fail::Row(e) => e.at(location),
            Fail::NewerSchema(found) => StoreError::NewerSchema {
                location: location.to_string(),
                found,
                known: schema::latest(),
            },
        }
    }
}

impl SqliteStore {
    /// Opens or creates the database file (and its directory), in WAL mode, schema migrated.
    pub async fn open(path: PathBuf) -> Result<SqliteStore, StoreError> {
        let location: Arc<str> = format!("sqlite:{}", path.display()).into();
        let shown = location.clone();
        let open = move || -> Result<Connection, String> {
            let memory = path.as_os_str() == ":memory:";
            if let Some(dir) = path
                .parent()
                .filter(|d| !memory && !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
            }
            let conn = Connection::open(&path).map_err(|e| e.to_string())?;
            configure(&conn, memory)?;
            Ok(conn)
        };
        let open_error = |reason: String| StoreError::Open {
            location: shown.to_string(),
            reason,
        };
        let mut conn = tokio::task::spawn_blocking(open)
            .await
            .map_err(|e| open_error(e.to_string()))?
            .map_err(open_error)?;
        let conn = tokio::task::spawn_blocking(move || migrate(&mut conn).map(|()| conn))
            .await
            .map_err(|e| open_error(e.to_string()))?
            .map_err(|f| match f.at(&location, "migrate its schema") {
                StoreError::Failed { reason, .. } => {
                    open_error(format!("cannot migrate its schema: {reason}"))
                }
                other => other,
            })?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            location: shown,
        })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, op: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Fail> + Send + 'static,
    {
        let conn = self.conn.clone();
        let result = tokio::task::spawn_blocking(move || {
            // A panic while holding the lock rolled its transaction back when the
            // `Transaction` dropped, so the connection is still sound.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await;
        match result {
            Ok(r) => r.map_err(|f| f.at(&self.location, op)),
            Err(join) => Err(StoreError::Failed {
                location: self.location.to_string(),
                op,
                reason: format!("its worker thread stopped: {join}"),
            }),
        }
    }

    fn row_error(&self, e: RowError) -> StoreError {
        e.at(&self.location)
    }

    pub async fn save_readings(&self, readings: &[StoredReading]) -> Result<usize, StoreError> {
        let rows = readings
            .iter()
            .map(ReadingRow::from_reading)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.row_error(e))?;
        self.run("save readings", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut new = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO readings (meter, interval_ms, status, import_wh, export_wh, source, received_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (meter, interval_ms) DO NOTHING",
                )?;
                for r in &rows {
                    new += insert.execute(params![
                        r.meter, r.interval, r.status, r.import_wh, r.export_wh, r.source, r.received_at
                    ])?;
                }
            }
            tx.commit()?;
            Ok(new)
        })
        .await
    }

    pub async fn readings(
        &self,
        meter: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredReading>, StoreError> {
        let meter = meter.to_string();
        let from = rows::ms("from", from).unwrap_or(i64::MAX);
        let to = rows::ms("to", to).unwrap_or(i64::MAX);
        self.run("read readings", move |conn| {
            let mut select = conn.prepare_cached(
                "SELECT meter, interval_ms, status, import_wh, export_wh, source, received_at_ms
                 FROM readings WHERE meter = ?1 AND interval_ms BETWEEN ?2 AND ?3 ORDER BY interval_ms",
            )?;
            let rows = select.query_map(params![meter, from, to], |r| {
                Ok(ReadingRow {
                    meter: r.get(0)?,
                    interval: r.get(1)?,
                    status: r.get(2)?,
                    import_wh: r.get(3)?,
                    export_wh: r.get(4)?,
                    source: r.get(5)?,
                    received_at: r.get(6)?,
                })
            })?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row?.into_reading()?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn latest_intervals(&self) -> Result<HashMap<String, Timestamp>, StoreError> {
        self.run("read the latest intervals", |conn| {
            let mut select =
                conn.prepare_cached("SELECT meter, max(interval_ms) FROM readings GROUP BY meter")?;
            let rows =
                select.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out = HashMap::new();
            for row in rows {
                let (meter, ms) = row?;
                out.insert(meter, rows::timestamp("reading interval", ms)?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn save_outage(&self, outage: &Outage) -> Result<u64, StoreError> {
        let prepare = || -> Result<_, RowError> {
            Ok((
                OutageRow::from_outage(outage)?,
                EvidenceRow::all(outage)?,
                ActionRow::all(outage)?,
            ))
        };
        let (o, evidence, actions) = prepare().map_err(|e| self.row_error(e))?;
        self.run("save an outage", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let values = params![
                o.meter, o.start, o.detected, o.cause, o.remedy, o.sentence, o.end,
                o.readings_missed, o.readings_backfilled, o.sla_class
            ];
            // Update first: an upsert that ends as an update still takes the next id
            // (AUTOINCREMENT), and the log would number its fifth outage #14. The write lock
            // (IMMEDIATE) makes the two steps one.
            let updated: Option<i64> = tx
                .prepare_cached(
                    "UPDATE outages SET detected_ms = ?3, cause = ?4, remedy = ?5, sentence = ?6,
                        end_ms = ?7, readings_missed = ?8, readings_backfilled = ?9, sla_class = ?10
                     WHERE meter = ?1 AND start_ms = ?2
                     RETURNING id",
                )?
                .query_row(values, |r| r.get(0))
                .optional()?;
            let id: i64 = match updated {
                Some(id) => id,
                None => tx
                    .prepare_cached(
                        "INSERT INTO outages (meter, start_ms, detected_ms, cause, remedy, sentence,
                                              end_ms, readings_missed, readings_backfilled, sla_class)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                         RETURNING id",
                    )?
                    .query_row(values, |r| r.get(0))?,
            };
            tx.execute("DELETE FROM outage_evidence WHERE outage_id = ?1", [id])?;
            tx.execute("DELETE FROM outage_actions WHERE outage_id = ?1", [id])?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO outage_evidence (outage_id, seq, source, at_ms, line) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for e in &evidence {
                    insert.execute(params![id, e.seq, e.source, e.at, e.line])?;
                }
                let mut insert = tx.prepare_cached(
                    "INSERT INTO outage_actions (outage_id, seq, at_ms, kind, ok, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for a in &actions {
                    insert.execute(params![id, a.seq, a.at, a.kind, a.ok, a.result])?;
                }
            }
            tx.commit()?;
            Ok(rows::to_u64("outage id", id)?)
        })
        .await
    }

    pub async fn outages(&self, filter: &OutageFilter) -> Result<Vec<Outage>, StoreError> {
        let open_only = filter.open_only;
        let since = filter
            .since
            .map(|t| rows::ms("since", t).unwrap_or(i64::MAX));
        let meter = filter.meter.clone();
        self.run("read outages", move |conn| {
            // One read transaction: the outages and their lists from the same snapshot.
            let tx = conn.transaction()?;
            let mut outages = Vec::new();
            {
                let mut select = tx.prepare_cached(
                    "SELECT id, meter, start_ms, detected_ms, cause, remedy, sentence, end_ms,
                            readings_missed, readings_backfilled, sla_class
                     FROM outages
                     WHERE (NOT ?1 OR end_ms IS NULL)
                       AND (?2 IS NULL OR end_ms IS NULL OR end_ms >= ?2)
                       AND (?3 IS NULL OR meter = ?3)
                     ORDER BY start_ms, meter",
                )?;
                let rows = select.query_map(params![open_only, since, meter], |r| {
                    Ok(OutageRow {
                        id: r.get(0)?,
                        meter: r.get(1)?,
                        start: r.get(2)?,
                        detected: r.get(3)?,
                        cause: r.get(4)?,
                        remedy: r.get(5)?,
                        sentence: r.get(6)?,
                        end: r.get(7)?,
                        readings_missed: r.get(8)?,
                        readings_backfilled: r.get(9)?,
                        sla_class: r.get(10)?,
                    })
                })?;
                for row in rows {
                    outages.push(row?.into_outage()?);
                }
            }
            for o in &mut outages {
                load_lists(&tx, o)?;
            }
            tx.commit()?;
            Ok(outages)
        })
        .await
    }

    pub async fn save_counters(&self, counters: &[(String, u32)]) -> Result<(), StoreError> {
        let counters = counters.to_vec();
        self.run("save invocation counters", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO invocation_counters (meter, counter) VALUES (?1, ?2)
                     ON CONFLICT (meter) DO UPDATE SET counter = max(counter, excluded.counter)",
                )?;
                for (meter, counter) in &counters {
                    upsert.execute(params![meter, counter])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn load_counters(&self) -> Result<HashMap<String, u32>, StoreError> {
        self.run("read invocation counters", |conn| {
            let mut select =
                conn.prepare_cached("SELECT meter, counter FROM invocation_counters")?;
            let rows =
                select.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out = HashMap::new();
            for row in rows {
                let (meter, counter) = row?;
                out.insert(meter, rows::counter(counter)?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn append_logbook(&self, entry: &LogbookEntry) -> Result<(), StoreError> {
        let e = LogbookRow::from_entry(entry).map_err(|e| self.row_error(e))?;
        self.run("append to the logbook", move |conn| {
            conn.prepare_cached(
                "INSERT INTO logbook (at_ms, who, subject, change) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![e.at, e.who, e.subject, e.change])?;
            Ok(())
        })
        .await
    }

    pub async fn logbook(&self, since: Timestamp) -> Result<Vec<LogbookEntry>, StoreError> {
        let since = rows::ms("since", since).unwrap_or(i64::MAX);
        self.run("read the logbook", move |conn| {
            let mut select = conn.prepare_cached(
                "SELECT at_ms, who, subject, change FROM logbook WHERE at_ms >= ?1 ORDER BY at_ms, id",
            )?;
            let rows = select.query_map([since], |r| {
                Ok(LogbookRow {
                    at: r.get(0)?,
                    who: r.get(1)?,
                    subject: r.get(2)?,
                    change: r.get(3)?,
                })
            })?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row?.into_entry()?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn claim_signal(&self, key: &str, at: Timestamp) -> Result<bool, StoreError> {
        let key = key.to_string();
        let at = rows::ms("signal time", at).map_err(|e| self.row_error(e))?;
        self.run("claim a signal", move |conn| {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO claimed_signals (key, at_ms) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                )?
                .execute(params![key, at])?;
            Ok(inserted == 1)
        })
        .await
    }

    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.run("count rows", |conn| {
            let (readings, outages, open): (i64, i64, i64) = conn.query_row(
                "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM outages),
                        (SELECT count(*) FROM outages WHERE end_ms IS NULL)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            Ok(StoreCounts {
                readings: rows::to_u64("count", readings)?,
                outages: rows::to_u64("count", outages)?,
                open_outages: rows::to_u64("count", open)?,
            })
        })
        .await
    }
}

/// Fills an outage's evidence and actions from their tables, in their saved order.
fn load_lists(conn: &Connection, o: &mut Outage) -> Result<(), Fail> {
    let id = rows::to_i64("outage id", o.id)?;
    let mut select = conn.prepare_cached(
        "SELECT seq, source, at_ms, line FROM outage_evidence WHERE outage_id = ?1 ORDER BY seq",
    )?;
    let rows = select.query_map([id], |r| {
        Ok(EvidenceRow {
            seq: r.get(0)?,
            source: r.get(1)?,
            at: r.get(2)?,
            line: r.get(3)?,
        })
    })?;
    for row in rows {
        o.evidence.push(row?.into_item()?);
    }
    let mut select = conn.prepare_cached(
        "SELECT seq, at_ms, kind, ok, result FROM outage_actions WHERE outage_id = ?1 ORDER BY seq",
    )?;
    let rows = select.query_map([id], |r| {
        Ok(ActionRow {
            seq: r.get(0)?,
            at: r.get(1)?,
            kind: r.get(2)?,
            ok: r.get(3)?,
            result: r.get(4)?,
        })
    })?;
    for row in rows {
        o.actions.push(row?.into_record()?);
    }
    Ok(())
}

/// Pragmas for every connection; WAL is checked, since SQLite silently keeps another mode
/// where WAL is impossible (some network file systems).
fn configure(conn: &Connection, memory: bool) -> Result<(), String> {
    let pragma = |name: &str, value: &str| -> Result<String, String> {
        conn.pragma_update_and_check(None, name, value, |r| r.get::<_, String>(0))
            .or_else(|e| match e {
                // Pragmas that set without echoing a row.
                rusqlite::Error::QueryReturnedNoRows => Ok(String::new()),
                e => Err(e),
            })
            .map_err(|e| format!("cannot set {name}={value}: {e}"))
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
    pragma("foreign_keys", "ON")?;
    if !memory {
        let mode = pragma("journal_mode", "WAL")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "the file system refused WAL mode (journal_mode stayed {mode})"
            ));
        }
    }
    // See the module comment: safe against process crashes, not against power loss.
    pragma("synchronous", "NORMAL")?;
    Ok(())
}

/// Applies the missing migrations in one write transaction.
fn migrate(conn: &mut Connection) -> Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(schema::VERSION_TABLE)?;
    let current: i64 = tx
        .query_row("SELECT max(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0);
    if current > schema::latest() {
        return Err(Fail::NewerSchema(current));
    }
    for m in schema::pending(current) {
        tx.execute_batch(m.sqlite)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [m.version],
        )?;
    }
    tx.commit()?;
    Ok(())
}
