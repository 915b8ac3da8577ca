//! The head-end's types as flat rows of SQL-friendly values, shared by both backends: integers
//! as `i64` (checked both ways), enums as their serde names (one spelling for JSON and SQL).

use serde::de::DeserializeOwned;

use super::{LogbookEntry, StoreError};
use crate::headend::outage::{ActionRecord, EvidenceItem, Outage};
use crate::headend::reading::{Reading, StoredReading};
use crate::time::Timestamp;

/// A value that does not fit a column, or a column value that does not fit the type.
#[derive(Debug)]
pub(super) enum RowError {
    OutOfRange { what: &'static str, value: u64 },
    Unreadable { what: &'static str, value: String },
}

impl RowError {
    /// The error as the caller sees it, naming the store.
    pub(super) fn at(self, location: &str) -> StoreError {
        let location = location.to_string();
        match self {
            RowError::OutOfRange { what, value } => StoreError::OutOfRange {
                location,
                what,
                value,
                max: i64::MAX,
            },
            RowError::Unreadable { what, value } => StoreError::Unreadable {
                location,
                what,
                value,
            },
        }
    }
}

pub(super) fn to_i64(what: &'static str, value: u64) -> Result<i64, RowError> {
    i64::try_from(value).map_err(|_| RowError::OutOfRange { what, value })
}

pub(super) fn to_u64(what: &'static str, value: i64) -> Result<u64, RowError> {
    u64::try_from(value).map_err(|_| RowError::Unreadable {
        what,
        value: value.to_string(),
    })
}

fn to_u32(what: &'static str, value: i64) -> Result<u32, RowError> {
    u32::try_from(value).map_err(|_| RowError::Unreadable {
        what,
        value: value.to_string(),
    })
}

pub(super) fn ms(what: &'static str, t: Timestamp) -> Result<i64, RowError> {
    to_i64(what, t.as_millis())
}

pub(super) fn timestamp(what: &'static str, ms: i64) -> Result<Timestamp, RowError> {
    to_u64(what, ms).map(Timestamp::from_millis)
}

/// An enum's serde name (`NO_DATA_SESSION`, `reset-data-session`).
pub(super) use crate::serde_name::serde_name as enum_text;

pub(super) fn enum_from_text<T: DeserializeOwned>(
    what: &'static str,
    text: String,
) -> Result<T, RowError> {
    serde_json::from_value(serde_json::Value::String(text.clone()))
        .map_err(|_| RowError::Unreadable { what, value: text })
}

/// One row of `readings`.
pub(super) struct ReadingRow {
    pub meter: String,
    pub interval: i64,
    pub status: i16,
    pub import_wh: i64,
    pub export_wh: i64,
    pub source: String,
    pub received_at: i64,
}

impl ReadingRow {
    pub fn from_reading(r: &StoredReading) -> Result<Self, RowError> {
        Ok(ReadingRow {
            meter: r.meter.clone(),
            interval: ms("reading interval", r.reading.interval)?,
            status: i16::from(r.reading.status),
            import_wh: to_i64("import_wh", r.reading.import_wh)?,
            export_wh: to_i64("export_wh", r.reading.export_wh)?,
            source: enum_text(&r.source),
            received_at: ms("reading received_at", r.received_at)?,
        })
    }

    pub fn into_reading(self) -> Result<StoredReading, RowError> {
        Ok(StoredReading {
            reading: Reading {
                interval: timestamp("reading interval", self.interval)?,
                status: u8::try_from(self.status).map_err(|_| RowError::Unreadable {
                    what: "reading status",
                    value: self.status.to_string(),
                })?,
                import_wh: to_u64("import_wh", self.import_wh)?,
                export_wh: to_u64("export_wh", self.export_wh)?,
            },
            meter: self.meter,
            source: enum_from_text("reading source", self.source)?,
            received_at: timestamp("reading received_at", self.received_at)?,
        })
    }
}

/// One row of `outages` (evidence and actions live in their own tables).
pub(super) struct OutageRow {
    pub id: i64,
    pub meter: String,
    pub start: i64,
    pub detected: i64,
    pub cause: Option<String>,
    pub remedy: Option<String>,
    pub sentence: String,
    pub end: Option<i64>,
    pub readings_missed: i64,
    pub readings_backfilled: i64,
    pub sla_class: Option<String>,
}

impl OutageRow {
    pub fn from_outage(o: &Outage) -> Result<Self, RowError> {
        Ok(OutageRow {
            id: 0,
            meter: o.meter.clone(),
            start: ms("outage start", o.start)?,
            detected: ms("outage detected", o.detected)?,
            cause: o.cause.as_ref().map(enum_text),
            remedy: o.remedy.as_ref().map(enum_text),
            sentence: o.sentence.clone(),
            end: o.end.map(|t| ms("outage end", t)).transpose()?,
            readings_missed: i64::from(o.readings_missed),
            readings_backfilled: i64::from(o.readings_backfilled),
            sla_class: o.sla_class.clone(),
        })
    }

    /// The outage without its evidence and actions.
    pub fn into_outage(self) -> Result<Outage, RowError> {
        Ok(Outage {
            id: to_u64("outage id", self.id)?,
            meter: self.meter,
            start: timestamp("outage start", self.start)?,
            detected: timestamp("outage detected", self.detected)?,
            cause: self
                .cause
                .map(|c| enum_from_text("root cause", c))
                .transpose()?,
            remedy: self
                .remedy
                .map(|r| enum_from_text("remedy", r))
                .transpose()?,
            sentence: self.sentence,
            evidence: Vec::new(),
            actions: Vec::new(),
            end: self.end.map(|t| timestamp("outage end", t)).transpose()?,
            readings_missed: to_u32("readings_missed", self.readings_missed)?,
            readings_backfilled: to_u32("readings_backfilled", self.readings_backfilled)?,
            sla_class: self.sla_class,
        })
    }
}

/// One row of `outage_evidence`, `seq` its position in the outage's list.
pub(super) struct EvidenceRow {
    pub seq: i32,
    pub source: String,
    pub at: i64,
    pub line: String,
}

impl EvidenceRow {
    pub fn all(o: &Outage) -> Result<Vec<Self>, RowError> {
        (0..)
            .zip(&o.evidence)
            .map(|(seq, e)| {
                Ok(EvidenceRow {
                    seq,
                    source: e.source.clone(),
                    at: ms("evidence time", e.at)?,
                    line: e.line.clone(),
                })
            })
            .collect()
    }

    pub fn into_item(self) -> Result<EvidenceItem, RowError> {
        Ok(EvidenceItem {
            source: self.source,
            at: timestamp("evidence time", self.at)?,
            line: self.line,
        })
    }
}

/// One row of `outage_actions`, `seq` its position in the outage's list.
pub(super) struct ActionRow {
    pub seq: i32,
    pub at: i64,
    pub kind: String,
    pub ok: bool,
    pub result: String,
}

impl ActionRow {
    pub fn all(o: &Outage) -> Result<Vec<Self>, RowError> {
        (0..)
            .zip(&o.actions)
            .map(|(seq, a)| {
                Ok(ActionRow {
                    seq,
                    at: ms("action time", a.at)?,
                    kind: enum_text(&a.kind),
                    ok: a.ok,
                    result: a.result.clone(),
                })
            })
            .collect()
    }

    pub fn into_record(self) -> Result<ActionRecord, RowError> {
        Ok(ActionRecord {
            at: timestamp("action time", self.at)?,
            kind: enum_from_text("action kind", self.kind)?,
            ok: self.ok,
            result: self.result,
        })
    }
}

/// One row of `logbook`.
pub(super) struct LogbookRow {
    pub at: i64,
    pub who: String,
    pub subject: String,
    pub change: String,
}

impl LogbookRow {
    pub fn from_entry(e: &LogbookEntry) -> Result<Self, RowError> {
        Ok(LogbookRow {
            at: ms("logbook time", e.at)?,
            who: e.who.clone(),
            subject: e.subject.clone(),
            change: e.change.clone(),
        })
    }

    pub fn into_entry(self) -> Result<LogbookEntry, RowError> {
        Ok(LogbookEntry {
            at: timestamp("logbook time", self.at)?,
            who: self.who,
            subject: self.subject,
            change: self.change,
        })
    }
}

/// A stored invocation counter back as `u32`.
pub(super) fn counter(value: i64) -> Result<u32, RowError> {
    to_u32("invocation counter", value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headend::diagnosis::{Remedy, RootCause};
    use crate::headend::outage::ActionKind;
    use crate::headend::reading::ReadingSource;

    #[test]
    fn can_round_trip_enum_names() {
        let causes = [
            RootCause::AaaReject,
            RootCause::NoDataSession,
            RootCause::Unknown,
        ];
        for c in causes {
            assert_eq!(enum_from_text::<RootCause>("c", enum_text(&c)).unwrap(), c);
        }
        assert_eq!(enum_text(&RootCause::NoDataSession), "NO_DATA_SESSION");
        assert_eq!(enum_text(&Remedy::ResetDataSession), "reset-data-session");
        assert_eq!(enum_text(&ActionKind::CancelLocation), "cancel-location");
        assert_eq!(enum_text(&ReadingSource::OnTime), "on-time");
    }

    #[test]
    fn rejects_unknown_enum_names_and_negative_times() {
        let e = enum_from_text::<RootCause>("root cause", "GREMLINS".into()).unwrap_err();
        assert!(e
            .at("sqlite:x.db")
            .to_string()
            .contains("root cause this reanimator cannot read: GREMLINS"));
        assert!(timestamp("outage start", -1).is_err());
        assert!(ms("outage start", Timestamp::from_millis(u64::MAX)).is_err());
    }
}
