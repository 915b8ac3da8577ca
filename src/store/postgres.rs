//! The shared backend: PostgreSQL, for many head-end instances on one database.
//!
//! Every write is race-free against other instances: readings are inserted with
//! `ON CONFLICT DO NOTHING` (sorted, so two instances inserting overlapping batches take row locks
//! in the same order), an outage is an `ON CONFLICT DO UPDATE` on (meter, start) whose row lock
//! serializes the replacement of its evidence and actions, counters grow with `GREATEST`, a
//! signal is claimed by whichever insert wins. Without TLS this backend connects only to
//! loopback addresses and Unix sockets: a password never crosses a network in the clear.
//!
//! One connection. A call that finds it broken (server restarted, backend terminated) fails;
//! the next call opens a new one. Calls are not retried automatically: whether a write whose
//! answer was lost committed is unknown, and a claimed signal must not be claimed twice.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, IsolationLevel, NoTls, Row};

use super::rows::{self, ActionRow, EvidenceRow, LogbookRow, OutageRow, ReadingRow, RowError};
use super::schema;
use super::{LogbookEntry, OutageFilter, StoreCounts, StoreError};
use crate::headend::outage::Outage;
use crate::headend::reading::StoredReading;
use crate::time::Timestamp;

/// Unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a batch of readings is retried after losing a deadlock to another instance.
const DEADLOCK_RETRIES: usize = 3;

/// A PostgreSQL store.
pub struct PgStore {
    config: Config,
    client: Mutex<Client>,
    /// Set when a call failed in a way that leaves the connection unusable.
    broken: AtomicBool,
    location: String,
}

/// The full text of a driver error: its own words, then its causes (the server's message).
fn describe(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string().replace('\n', "; "));
        source = cause.source();
    }
    text
}

/// The URL with its password replaced by `***`, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Refuses hosts other than loopback addresses and Unix sockets (no TLS here).
fn check_loopback(config: &Config) -> Result<(), String> {
    for host in config.get_hosts() {
        if let Host::Tcp(name) = host {
            let loopback = name == "localhost"
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(format!("the host {name} is not a loopback address; without TLS this reanimator connects to PostgreSQL only on 127.0.0.0/8, ::1, localhost or a Unix socket"));
            }
        }
    }
    if let Some(ip) = config.get_hostaddrs().iter().find(|ip| !ip.is_loopback()) {
        return Err(format!("the hostaddr {ip} is not a loopback address; without TLS this reanimator connects to PostgreSQL only on 127.0.0.0/8, ::1, localhost or a Unix socket"));
    }
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        return Err("the URL names no host: use postgres://USER@127.0.0.1:PORT/DATABASE".into());
    }
    Ok(())
}

async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    // The connection ends when the client is dropped or the server goes away; in the second
    // case the next call sees a closed client and reconnects.
    tokio::spawn(connection);
    Ok(client)
}

/// Anything but an SQL error from a healthy session: I/O, a closed connection, the server
/// shutting down or terminating the backend (SQLSTATE classes 08 and 57P).
fn breaks_connection(e: &tokio_postgres::Error) -> bool {
    match e.as_db_error() {
        None => true,
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || code.starts_with("57P")
        }
    }
}

/// A deadlock or serialization failure: the transaction can simply be run again.
fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

impl PgStore {
    /// Connects and migrates the schema.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let location = redact(url);
        let open_error = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
        };
        let mut config: Config = url.parse().map_err(|e| open_error(describe(&e)))?;
        check_loopback(&config).map_err(open_error)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("reanimator");
        }
        let mut client = connect(&config)
            .await
            .map_err(|e| open_error(describe(&e)))?;
        migrate(&mut client, &location).await?;
        Ok(PgStore {
            config,
            client: Mutex::new(client),
            broken: AtomicBool::new(false),
            location,
        })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    fn failed(&self, op: &'static str, e: &tokio_postgres::Error) -> StoreError {
        if breaks_connection(e) {
            self.broken.store(true, Ordering::Relaxed);
        }
        StoreError::Failed {
            location: self.location.clone(),
            op,
            reason: describe(e),
        }
    }

    fn row_error(&self, e: RowError) -> StoreError {
        e.at(&self.location)
    }

    /// The connection, reopened first if the server closed it.
    async fn client(&self, op: &'static str) -> Result<MutexGuard<'_, Client>, StoreError> {
        let mut client = self.client.lock().await;
        if client.is_closed() || self.broken.swap(false, Ordering::Relaxed) {
            *client = connect(&self.config)
                .await
                .map_err(|e| self.failed(op, &e))?;
        }
        Ok(client)
    }

    pub async fn save_readings(&self, readings: &[StoredReading]) -> Result<usize, StoreError> {
        let mut rows = readings
            .iter()
            .map(ReadingRow::from_reading)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.row_error(e))?;
        if rows.is_empty() {
            return Ok(0);
        }
        rows.sort_unstable_by(|a, b| (&a.meter, a.interval).cmp(&(&b.meter, b.interval)));
        let meter: Vec<&str> = rows.iter().map(|r| r.meter.as_str()).collect();
        let interval: Vec<i64> = rows.iter().map(|r| r.interval).collect();
        let status: Vec<i16> = rows.iter().map(|r| r.status).collect();
        let import: Vec<i64> = rows.iter().map(|r| r.import_wh).collect();
        let export: Vec<i64> = rows.iter().map(|r| r.export_wh).collect();
        let source: Vec<&str> = rows.iter().map(|r| r.source.as_str()).collect();
        let received: Vec<i64> = rows.iter().map(|r| r.received_at).collect();
        // One statement is one transaction: all rows or none.
        let new = self
            .execute_retrying(
                "save readings",
                "INSERT INTO readings (meter, interval_ms, status, import_wh, export_wh, source, received_at_ms)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::bigint[],
                                      $5::bigint[], $6::text[], $7::bigint[])
                 ON CONFLICT (meter, interval_ms) DO NOTHING",
                &[&meter, &interval, &status, &import, &export, &source, &received],
            )
            .await?;
        Ok(new as usize)
    }

    /// Runs one statement, again after a deadlock or serialization failure (bounded).
    async fn execute_retrying(
        &self,
        op: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = self.client(op).await?;
        let mut attempt = 0;
        loop {
            match client.execute(sql, params).await {
                Ok(n) => return Ok(n),
                Err(e) if is_retryable(&e) && attempt < DEADLOCK_RETRIES => attempt += 1,
                Err(e) => return Err(self.failed(op, &e)),
            }
        }
    }

    pub async fn readings(
        &self,
        meter: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredReading>, StoreError> {
        let op = "read readings";
        let from = rows::ms("from", from).unwrap_or(i64::MAX);
        let to = rows::ms("to", to).unwrap_or(i64::MAX);
        let client = self.client(op).await?;
        let found = client
            .query(
                "SELECT meter, interval_ms, status, import_wh, export_wh, source, received_at_ms
                 FROM readings WHERE meter = $1 AND interval_ms BETWEEN $2 AND $3 ORDER BY interval_ms",
                &[&meter, &from, &to],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        found
            .iter()
            .map(|r| {
                reading_row(r)
                    .map_err(|e| self.failed(op, &e))?
                    .into_reading()
                    .map_err(|e| self.row_error(e))
            })
            .collect()
    }

    pub async fn latest_intervals(&self) -> Result<HashMap<String, Timestamp>, StoreError> {
        let op = "read the latest intervals";
        let client = self.client(op).await?;
        let found = client
            .query(
                "SELECT meter, max(interval_ms) FROM readings GROUP BY meter",
                &[],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        let mut out = HashMap::with_capacity(found.len());
        for r in &found {
            let meter: String = r.try_get(0).map_err(|e| self.failed(op, &e))?;
            let ms: i64 = r.try_get(1).map_err(|e| self.failed(op, &e))?;
            let t = rows::timestamp("reading interval", ms).map_err(|e| self.row_error(e))?;
            out.insert(meter, t);
        }
        Ok(out)
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
        let op = "save an outage";
        let mut client = self.client(op).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| self.failed(op, &e))?;
        let values: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
            &o.meter,
            &o.start,
            &o.detected,
            &o.cause,
            &o.remedy,
            &o.sentence,
            &o.end,
            &o.readings_missed,
            &o.readings_backfilled,
            &o.sla_class,
        ];
        // The update (or the upsert) locks the outage's row until commit, so a concurrent save
        // of the same outage waits here and then replaces the lists this one wrote: last writer
        // wins whole. Update first: an upsert that ends as an update still draws an id from
        // the sequence, and the log would number its fifth outage #14. The upsert covers an
        // insert racing this one.
        let updated = tx
            .query_opt(
                "UPDATE outages SET detected_ms = $3, cause = $4, remedy = $5, sentence = $6,
                    end_ms = $7, readings_missed = $8, readings_backfilled = $9, sla_class = $10
                 WHERE meter = $1 AND start_ms = $2
                 RETURNING id",
                &values,
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        let row = match updated {
            Some(row) => row,
            None => tx
                .query_one(
                    "INSERT INTO outages (meter, start_ms, detected_ms, cause, remedy, sentence,
                                          end_ms, readings_missed, readings_backfilled, sla_class)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (meter, start_ms) DO UPDATE SET
                        detected_ms = excluded.detected_ms, cause = excluded.cause,
                        remedy = excluded.remedy, sentence = excluded.sentence,
                        end_ms = excluded.end_ms, readings_missed = excluded.readings_missed,
                        readings_backfilled = excluded.readings_backfilled,
                        sla_class = excluded.sla_class
                     RETURNING id",
                    &values,
                )
                .await
                .map_err(|e| self.failed(op, &e))?,
        };
        let id: i64 = row.try_get(0).map_err(|e| self.failed(op, &e))?;
        let seq: Vec<i32> = evidence.iter().map(|e| e.seq).collect();
        let source: Vec<&str> = evidence.iter().map(|e| e.source.as_str()).collect();
        let at: Vec<i64> = evidence.iter().map(|e| e.at).collect();
        let line: Vec<&str> = evidence.iter().map(|e| e.line.as_str()).collect();
        let a_seq: Vec<i32> = actions.iter().map(|a| a.seq).collect();
        let a_at: Vec<i64> = actions.iter().map(|a| a.at).collect();
        let kind: Vec<&str> = actions.iter().map(|a| a.kind.as_str()).collect();
        let ok: Vec<bool> = actions.iter().map(|a| a.ok).collect();
        let result: Vec<&str> = actions.iter().map(|a| a.result.as_str()).collect();
        let statements: [(&str, &[&(dyn tokio_postgres::types::ToSql + Sync)]); 4] = [
            ("DELETE FROM outage_evidence WHERE outage_id = $1", &[&id]),
            ("DELETE FROM outage_actions WHERE outage_id = $1", &[&id]),
            (
                "INSERT INTO outage_evidence (outage_id, seq, source, at_ms, line)
                 SELECT $1, * FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[])",
                &[&id, &seq, &source, &at, &line],
            ),
            (
                "INSERT INTO outage_actions (outage_id, seq, at_ms, kind, ok, result)
                 SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::bool[], $6::text[])",
                &[&id, &a_seq, &a_at, &kind, &ok, &result],
            ),
        ];
        for (sql, params) in statements {
            tx.execute(sql, params)
                .await
                .map_err(|e| self.failed(op, &e))?;
        }
        tx.commit().await.map_err(|e| self.failed(op, &e))?;
        rows::to_u64("outage id", id).map_err(|e| self.row_error(e))
    }

    pub async fn outages(&self, filter: &OutageFilter) -> Result<Vec<Outage>, StoreError> {
        let op = "read outages";
        let since = filter
            .since
            .map(|t| rows::ms("since", t).unwrap_or(i64::MAX));
        let mut client = self.client(op).await?;
        // One snapshot for the outages and their lists.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| self.failed(op, &e))?;
        let found = tx
            .query(
                "SELECT id, meter, start_ms, detected_ms, cause, remedy, sentence, end_ms,
                        readings_missed, readings_backfilled, sla_class
                 FROM outages
                 WHERE (NOT $1 OR end_ms IS NULL)
                   AND ($2::bigint IS NULL OR end_ms IS NULL OR end_ms >= $2)
                   AND ($3::text IS NULL OR meter = $3)
                 ORDER BY start_ms, meter",
                &[&filter.open_only, &since, &filter.meter],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        let mut outages = Vec::with_capacity(found.len());
        let mut index = HashMap::with_capacity(found.len());
        for r in &found {
            let row = outage_row(r).map_err(|e| self.failed(op, &e))?;
            index.insert(row.id, outages.len());
            outages.push(row.into_outage().map_err(|e| self.row_error(e))?);
        }
        let ids: Vec<i64> = index.keys().copied().collect();
        let evidence = tx
            .query(
                "SELECT outage_id, seq, source, at_ms, line FROM outage_evidence
                 WHERE outage_id = ANY($1) ORDER BY outage_id, seq",
                &[&ids],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        for r in &evidence {
            let (id, row) = evidence_row(r).map_err(|e| self.failed(op, &e))?;
            let item = row.into_item().map_err(|e| self.row_error(e))?;
            outages[index[&id]].evidence.push(item);
        }
        let actions = tx
            .query(
                "SELECT outage_id, seq, at_ms, kind, ok, result FROM outage_actions
                 WHERE outage_id = ANY($1) ORDER BY outage_id, seq",
                &[&ids],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        for r in &actions {
            let (id, row) = action_row(r).map_err(|e| self.failed(op, &e))?;
            let record = row.into_record().map_err(|e| self.row_error(e))?;
            outages[index[&id]].actions.push(record);
        }
        tx.commit().await.map_err(|e| self.failed(op, &e))?;
        Ok(outages)
    }

    pub async fn save_counters(&self, counters: &[(String, u32)]) -> Result<(), StoreError> {
        // Sorted, so that instances upserting the same meters lock them in one order.
        let mut sorted: Vec<(&str, i64)> = counters
            .iter()
            .map(|(m, c)| (m.as_str(), i64::from(*c)))
            .collect();
        sorted.sort_unstable();
        sorted.dedup_by(|later, earlier| {
            later.0 == earlier.0 && {
                earlier.1 = earlier.1.max(later.1);
                true
            }
        });
        let (meter, counter): (Vec<&str>, Vec<i64>) = sorted.into_iter().unzip();
        self.execute_retrying(
            "save invocation counters",
            "INSERT INTO invocation_counters (meter, counter)
             SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (meter) DO UPDATE
             SET counter = GREATEST(invocation_counters.counter, excluded.counter)",
            &[&meter, &counter],
        )
        .await?;
        Ok(())
    }

    pub async fn load_counters(&self) -> Result<HashMap<String, u32>, StoreError> {
        let op = "read invocation counters";
        let client = self.client(op).await?;
        let found = client
            .query("SELECT meter, counter FROM invocation_counters", &[])
            .await
            .map_err(|e| self.failed(op, &e))?;
        let mut out = HashMap::with_capacity(found.len());
        for r in &found {
            let meter: String = r.try_get(0).map_err(|e| self.failed(op, &e))?;
            let counter: i64 = r.try_get(1).map_err(|e| self.failed(op, &e))?;
            out.insert(
                meter,
                rows::counter(counter).map_err(|e| self.row_error(e))?,
            );
        }
        Ok(out)
    }

    pub async fn append_logbook(&self, entry: &LogbookEntry) -> Result<(), StoreError> {
        let op = "append to the logbook";
        let e = LogbookRow::from_entry(entry).map_err(|e| self.row_error(e))?;
        let client = self.client(op).await?;
        client
            .execute(
                "INSERT INTO logbook (at_ms, who, subject, change) VALUES ($1, $2, $3, $4)",
                &[&e.at, &e.who, &e.subject, &e.change],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        Ok(())
    }

    pub async fn logbook(&self, since: Timestamp) -> Result<Vec<LogbookEntry>, StoreError> {
        let op = "read the logbook";
        let since = rows::ms("since", since).unwrap_or(i64::MAX);
        let client = self.client(op).await?;
        let found = client
            .query(
                "SELECT at_ms, who, subject, change FROM logbook WHERE at_ms >= $1 ORDER BY at_ms, id",
                &[&since],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        let mut out = Vec::with_capacity(found.len());
        for r in &found {
            let row = logbook_row(r).map_err(|e| self.failed(op, &e))?;
            out.push(row.into_entry().map_err(|e| self.row_error(e))?);
        }
        Ok(out)
    }

    pub async fn claim_signal(&self, key: &str, at: Timestamp) -> Result<bool, StoreError> {
        let op = "claim a signal";
        let at = rows::ms("signal time", at).map_err(|e| self.row_error(e))?;
        let client = self.client(op).await?;
        let inserted = client
            .execute(
                "INSERT INTO claimed_signals (key, at_ms) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &at],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        Ok(inserted == 1)
    }

    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let op = "count rows";
        let client = self.client(op).await?;
        let r = client
            .query_one(
                "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM outages),
                        (SELECT count(*) FROM outages WHERE end_ms IS NULL)",
                &[],
            )
            .await
            .map_err(|e| self.failed(op, &e))?;
        let count = |i: usize| -> Result<u64, StoreError> {
            let n: i64 = r.try_get(i).map_err(|e| self.failed(op, &e))?;
            rows::to_u64("count", n).map_err(|e| self.row_error(e))
        };
        Ok(StoreCounts {
            readings: count(0)?,
            outages: count(1)?,
            open_outages: count(2)?,
        })
    }
}

fn reading_row(r: &Row) -> Result<ReadingRow, tokio_postgres::Error> {
    Ok(ReadingRow {
        meter: r.try_get(0)?,
        interval: r.try_get(1)?,
        status: r.try_get(2)?,
        import_wh: r.try_get(3)?,
        export_wh: r.try_get(4)?,
        source: r.try_get(5)?,
        received_at: r.try_get(6)?,
    })
}

fn logbook_row(r: &Row) -> Result<LogbookRow, tokio_postgres::Error> {
    Ok(LogbookRow {
        at: r.try_get(0)?,
        who: r.try_get(1)?,
        subject: r.try_get(2)?,
        change: r.try_get(3)?,
    })
}

fn outage_row(r: &Row) -> Result<OutageRow, tokio_postgres::Error> {
    Ok(OutageRow {
        id: r.try_get(0)?,
        meter: r.try_get(1)?,
        start: r.try_get(2)?,
        detected: r.try_get(3)?,
        cause: r.try_get(4)?,
        remedy: r.try_get(5)?,
        sentence: r.try_get(6)?,
        end: r.try_get(7)?,
        readings_missed: r.try_get(8)?,
        readings_backfilled: r.try_get(9)?,
        sla_class: r.try_get(10)?,
    })
}

fn evidence_row(r: &Row) -> Result<(i64, EvidenceRow), tokio_postgres::Error> {
    Ok((
        r.try_get(0)?,
        EvidenceRow {
            seq: r.try_get(1)?,
            source: r.try_get(2)?,
            at: r.try_get(3)?,
            line: r.try_get(4)?,
        },
    ))
}

fn action_row(r: &Row) -> Result<(i64, ActionRow), tokio_postgres::Error> {
    Ok((
        r.try_get(0)?,
        ActionRow {
            seq: r.try_get(1)?,
            at: r.try_get(2)?,
            kind: r.try_get(3)?,
            ok: r.try_get(4)?,
            result: r.try_get(5)?,
        },
    ))
}

/// Applies the missing migrations in one transaction, under an advisory lock so that instances
/// starting together migrate one after the other.
async fn migrate(client: &mut Client, location: &str) -> Result<(), StoreError> {
    let open_error = |e: tokio_postgres::Error| StoreError::Open {
        location: location.to_string(),
        reason: format!("cannot migrate its schema: {}", describe(&e)),
    };
    let tx = client.transaction().await.map_err(open_error)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&schema::PG_MIGRATION_LOCK],
    )
    .await
    .map_err(open_error)?;
    tx.batch_execute(schema::VERSION_TABLE)
        .await
        .map_err(open_error)?;
    let current: Option<i64> = tx
        .query_one("SELECT max(version) FROM schema_version", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(open_error)?;
    let current = current.unwrap_or(0);
    if current > schema::latest() {
        return Err(StoreError::NewerSchema {
            location: location.to_string(),
            found: current,
            known: schema::latest(),
        });
    }
    for m in schema::pending(current) {
        tx.batch_execute(m.postgres).await.map_err(open_error)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&m.version],
        )
        .await
        .map_err(open_error)?;
    }
    tx.commit().await.map_err(open_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://app:s3cret@127.0.0.1:5432/reanimator"),
            "postgres://app:***@127.0.0.1:5432/reanimator"
        );
        assert_eq!(
            redact("postgres://app@127.0.0.1/r"),
            "postgres://app@127.0.0.1/r"
        );
    }

    #[test]
    fn rejects_hosts_off_loopback() {
        for (url, ok) in [
            ("postgres://u@127.0.0.1/db", true),
            ("postgres://u@127.9.9.9:6000/db", true),
            ("postgres://u@localhost/db", true),
            ("postgres://u@[::1]:5432/db", true),
            ("postgres://u@%2Ftmp%2Fpg/db", true),
            ("postgres://u@db.example.com/db", false),
            ("postgres://u@10.0.0.5/db", false),
            ("postgres://u@127.0.0.1,10.0.0.5/db", false),
        ] {
            let config: Config = url.parse().unwrap();
            assert_eq!(check_loopback(&config).is_ok(), ok, "{url}");
        }
    }
}
