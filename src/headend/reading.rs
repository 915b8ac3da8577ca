//! One stored load-profile interval.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// An interval's values as read from the meter's load profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// Capture time: the end of the interval.
    pub interval: Timestamp,
    /// Profile status byte (0x80: the meter was powered down during the interval).
    pub status: u8,
    /// Cumulative active energy import, Wh.
    pub import_wh: u64,
    /// Cumulative active energy export, Wh.
    pub export_wh: u64,
}

/// How a reading reached the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadingSource {
    /// Read inside its service window.
    OnTime,
    /// Read after its window closed (backfill).
    Backfilled,
    /// Pushed by the meter (Data-Notification).
    Pushed,
}

/// A reading with the meter it belongs to, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReading {
    pub meter: String,
    pub reading: Reading,
    pub source: ReadingSource,
    pub received_at: Timestamp,
}
