//! The head-end's persistence: readings, outages with their evidence and actions, the utility's
//! change logbook, DLMS invocation counters and the sidecar's claimed signals.
//!
//! One front, [`Store`], over two backends with the same schema and the same semantics: SQLite
//! (embedded, the default; one file in WAL mode) and PostgreSQL (shared by many instances; every
//! write is an `ON CONFLICT` upsert, so concurrent instances never duplicate or lose a row).
//! Every write is one transaction. Timestamps are stored as Unix milliseconds.

mod postgres;
mod rows;
mod schema;
mod sqlite;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::headend::outage::Outage;
use crate::headend::reading::StoredReading;
use crate::time::Timestamp;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The store, whichever backend holds it.
pub enum Store {
    Sqlite(SqliteStore),
    /// Boxed: a connection's configuration and client are far larger than a SQLite handle.
    Postgres(Box<PgStore>),
}

/// Which outages [`Store::outages`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutageFilter {
    /// Only outages still open (no end yet).
    pub open_only: bool,
    /// Only outages that were open at some time at or after this instant: still open, or ended
    /// at or after it.
    pub since: Option<Timestamp>,
    pub meter: Option<String>,
}

/// One entry of the utility's change logbook ("who changed what, when").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogbookEntry {
    pub at: Timestamp,
    pub who: String,
    /// What was changed: an ICCID, a meter id.
    pub subject: String,
    /// The change in words ("RADIUS password changed").
    pub change: String,
}

/// Row counts, for tests and status pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub readings: u64,
    pub outages: u64,
    pub open_outages: u64,
}

/// Why a store operation failed; every message names the store's location (passwords hidden).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {location}: {reason}")]
    Open { location: String, reason: String },
    #[error("the store {location} failed to {op}: {reason}")]
    Failed {
        location: String,
        op: &'static str,
        reason: String,
    },
    #[error("the store {location} has schema version {found}, newer than the {known} this reanimator knows: run a newer reanimator, or point this one at another store")]
    NewerSchema {
        location: String,
        found: i64,
        known: i64,
    },
    #[error("the store {location} holds a {what} this reanimator cannot read: {value}")]
    Unreadable {
        location: String,
        what: &'static str,
        value: String,
    },
    #[error("cannot save to the store {location}: {what} {value} is beyond the largest value it holds ({max})")]
    OutOfRange {
        location: String,
        what: &'static str,
        value: u64,
        max: i64,
    },
}

/// Where a store lives, parsed from `--store`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite:PATH`, `sqlite://PATH` or a
    /// plain path is a SQLite file (`sqlite::memory:` an in-memory database, for tests).
    fn parse(location: &str) -> Result<Location, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            return Ok(Location::Postgres(location.to_string()));
        }
        let path = match location.strip_prefix("sqlite:") {
            Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
            None => location,
        };
        if path.is_empty() {
            return Err(StoreError::Open {
                location: location.to_string(),
                reason: "no path given: use sqlite:PATH, a plain PATH, or postgres://USER@HOST:PORT/DATABASE".into(),
            });
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }
}

/// `location` with a relative SQLite path resolved against `base` (a configuration file's
/// folder); PostgreSQL URLs, absolute paths, the in-memory database and invalid locations stay.
pub fn relative_to(location: &str, base: &Path) -> String {
    match Location::parse(location) {
        Ok(Location::Sqlite(path)) if path != Path::new(":memory:") => {
            base.join(path).display().to_string()
        }
        _ => location.to_string(),
    }
}

/// Runs the same call on whichever backend holds the store.
macro_rules! on_backend {
    ($store:expr, $b:ident => $call:expr) => {
        match $store {
            Store::Sqlite($b) => $call,
            Store::Postgres($b) => $call,
        }
    };
}

impl Store {
    /// Opens (creating and migrating the schema where needed) the store at `location`:
    /// `postgres://…`/`postgresql://…` for PostgreSQL, `sqlite:PATH` or a plain path for SQLite.
    /// A PostgreSQL store must then be used inside the tokio runtime that opened it.
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        match Location::parse(location)? {
            Location::Sqlite(path) => Ok(Store::Sqlite(SqliteStore::open(path).await?)),
            Location::Postgres(url) => Ok(Store::Postgres(Box::new(PgStore::open(&url).await?))),
        }
    }

    /// The location as shown in messages (`sqlite:/var/lib/x.db`, a URL without its password).
    pub fn location(&self) -> &str {
        on_backend!(self, b => b.location())
    }

    /// Saves readings, idempotent on (meter, interval): returns how many were new. One
    /// transaction: all rows or none.
    pub async fn save_readings(&self, rows: &[StoredReading]) -> Result<usize, StoreError> {
        on_backend!(self, b => b.save_readings(rows).await)
    }

    /// A meter's readings with `from <= interval <= to`, oldest first.
    pub async fn readings(
        &self,
        meter: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredReading>, StoreError> {
        on_backend!(self, b => b.readings(meter, from, to).await)
    }

    /// The newest stored interval of every meter that has one (to resume after a restart).
    pub async fn latest_intervals(&self) -> Result<HashMap<String, Timestamp>, StoreError> {
        on_backend!(self, b => b.latest_intervals().await)
    }

    /// Inserts or updates the outage keyed by (meter, start), replacing its evidence and actions
    /// in the same transaction; the caller's `id` is ignored. Returns the store's id for it.
    pub async fn save_outage(&self, outage: &Outage) -> Result<u64, StoreError> {
        on_backend!(self, b => b.save_outage(outage).await)
    }

    /// The outages the filter selects, ordered by start then meter, `id` set to the store's.
    pub async fn outages(&self, filter: &OutageFilter) -> Result<Vec<Outage>, StoreError> {
        on_backend!(self, b => b.outages(filter).await)
    }

    /// Records meters' DLMS invocation counters in one transaction; a value lower than the
    /// stored one (or an earlier one in the batch) is ignored.
    pub async fn save_counters(&self, counters: &[(String, u32)]) -> Result<(), StoreError> {
        if counters.is_empty() {
            return Ok(()); // the driver's every turn, for meters without ciphering
        }
        on_backend!(self, b => b.save_counters(counters).await)
    }

    /// Every meter's highest recorded invocation counter.
    pub async fn load_counters(&self) -> Result<HashMap<String, u32>, StoreError> {
        on_backend!(self, b => b.load_counters().await)
    }

    /// Appends an entry to the change logbook.
    pub async fn append_logbook(&self, entry: &LogbookEntry) -> Result<(), StoreError> {
        on_backend!(self, b => b.append_logbook(entry).await)
    }

    /// Logbook entries at or after `since`, oldest first (ties in the order appended).
    pub async fn logbook(&self, since: Timestamp) -> Result<Vec<LogbookEntry>, StoreError> {
        on_backend!(self, b => b.logbook(since).await)
    }

    /// True the first time `key` is claimed in this store (by any instance sharing it).
    pub async fn claim_signal(&self, key: &str, at: Timestamp) -> Result<bool, StoreError> {
        on_backend!(self, b => b.claim_signal(key, at).await)
    }

    /// How many readings, outages and open outages the store holds.
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        on_backend!(self, b => b.counts().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        let sqlite = |p: &str| Ok(Location::Sqlite(PathBuf::from(p)));
        let table: [(&str, Result<Location, ()>); 7] = [
            (
                "postgres://u@127.0.0.1/db",
                Ok(Location::Postgres("postgres://u@127.0.0.1/db".into())),
            ),
            (
                "postgresql://u@[::1]:5433/db",
                Ok(Location::Postgres("postgresql://u@[::1]:5433/db".into())),
            ),
            ("sqlite:/var/lib/r.db", sqlite("/var/lib/r.db")),
            ("sqlite:///var/lib/r.db", sqlite("/var/lib/r.db")),
            ("sqlite:data/r.db", sqlite("data/r.db")),
            ("data/r.db", sqlite("data/r.db")),
            ("sqlite::memory:", sqlite(":memory:")),
        ];
        for (text, want) in table {
            assert_eq!(
                Location::parse(text).map_err(|_| ()),
                want.map_err(|_| ()),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_an_empty_location() {
        for text in ["", "sqlite:", "sqlite://"] {
            let e = Location::parse(text).unwrap_err().to_string();
            assert!(e.contains("no path given"), "{text}: {e}");
        }
    }
}
