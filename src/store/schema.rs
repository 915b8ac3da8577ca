//! The schema and its migrations, one text per backend for each version.
//!
//! `schema_version` holds one row per applied migration; a store's version is the highest.
//! Opening a store applies the missing migrations in one transaction, serialized against other
//! instances opening it at the same time (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory
//! lock), and refuses a store whose version is newer than the last one known here.

/// One step of the schema.
pub(super) struct Migration {
    pub version: i64,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Creates the version table if needed (first statement of every open).
pub(super) const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL PRIMARY KEY)";

/// The PostgreSQL advisory lock that serializes migrations ("reanimat" in ASCII).
pub(super) const PG_MIGRATION_LOCK: i64 = 0x7265_616e_696d_6174;

/// Every migration, oldest first.
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    // STRICT tables make SQLite check column types as PostgreSQL does.
    sqlite: "
        CREATE TABLE readings (
            meter TEXT NOT NULL,
            interval_ms INTEGER NOT NULL,
            status INTEGER NOT NULL,
            import_wh INTEGER NOT NULL,
            export_wh INTEGER NOT NULL,
            source TEXT NOT NULL,
            received_at_ms INTEGER NOT NULL,
            PRIMARY KEY (meter, interval_ms)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE outages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            meter TEXT NOT NULL,
            start_ms INTEGER NOT NULL,
            detected_ms INTEGER NOT NULL,
            cause TEXT,
            remedy TEXT,
            sentence TEXT NOT NULL,
            end_ms INTEGER,
            readings_missed INTEGER NOT NULL,
            readings_backfilled INTEGER NOT NULL,
            sla_class TEXT,
            UNIQUE (meter, start_ms)
        ) STRICT;
        CREATE INDEX outages_open ON outages (start_ms) WHERE end_ms IS NULL;
        CREATE TABLE outage_evidence (
            outage_id INTEGER NOT NULL REFERENCES outages (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            source TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            line TEXT NOT NULL,
            PRIMARY KEY (outage_id, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE outage_actions (
            outage_id INTEGER NOT NULL REFERENCES outages (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            at_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            ok INTEGER NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (outage_id, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE invocation_counters (
            meter TEXT NOT NULL PRIMARY KEY,
            counter INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE logbook (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at_ms INTEGER NOT NULL,
            who TEXT NOT NULL,
            subject TEXT NOT NULL,
            change TEXT NOT NULL
        ) STRICT;
        CREATE INDEX logbook_at ON logbook (at_ms);
        CREATE TABLE claimed_signals (
            key TEXT NOT NULL PRIMARY KEY,
            at_ms INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
    ",
    postgres: "
        CREATE TABLE readings (
            meter TEXT NOT NULL,
            interval_ms BIGINT NOT NULL,
            status SMALLINT NOT NULL,
            import_wh BIGINT NOT NULL,
            export_wh BIGINT NOT NULL,
            source TEXT NOT NULL,
            received_at_ms BIGINT NOT NULL,
            PRIMARY KEY (meter, interval_ms)
        );
        CREATE TABLE outages (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            meter TEXT NOT NULL,
            start_ms BIGINT NOT NULL,
            detected_ms BIGINT NOT NULL,
            cause TEXT,
            remedy TEXT,
            sentence TEXT NOT NULL,
            end_ms BIGINT,
            readings_missed BIGINT NOT NULL,
            readings_backfilled BIGINT NOT NULL,
            sla_class TEXT,
            UNIQUE (meter, start_ms)
        );
        CREATE INDEX outages_open ON outages (start_ms) WHERE end_ms IS NULL;
        CREATE TABLE outage_evidence (
            outage_id BIGINT NOT NULL REFERENCES outages (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            source TEXT NOT NULL,
            at_ms BIGINT NOT NULL,
            line TEXT NOT NULL,
            PRIMARY KEY (outage_id, seq)
        );
        CREATE TABLE outage_actions (
            outage_id BIGINT NOT NULL REFERENCES outages (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            at_ms BIGINT NOT NULL,
            kind TEXT NOT NULL,
            ok BOOLEAN NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (outage_id, seq)
        );
        CREATE TABLE invocation_counters (
            meter TEXT NOT NULL PRIMARY KEY,
            counter BIGINT NOT NULL
        );
        CREATE TABLE logbook (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at_ms BIGINT NOT NULL,
            who TEXT NOT NULL,
            subject TEXT NOT NULL,
            change TEXT NOT NULL
        );
        CREATE INDEX logbook_at ON logbook (at_ms);
        CREATE TABLE claimed_signals (
            key TEXT NOT NULL PRIMARY KEY,
            at_ms BIGINT NOT NULL
        );
    ",
}];

/// The version a fully migrated store has.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The migrations a store at `current` still needs, oldest first.
pub(super) fn pending(current: i64) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS.iter().filter(move |m| m.version > current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(pending(0).count(), MIGRATIONS.len());
        assert_eq!(pending(latest()).count(), 0);
    }
}
