//! The network's calendar: planned maintenance (announced ahead), unplanned cell outages, and
//! area forecasts of degraded connectivity (CAMARA Predictive Connectivity Data levels).

use serde::{Deserialize, Serialize};

use super::ids::CellId;
use super::time::Timestamp;

/// A planned maintenance window on some cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceWindow {
    pub id: String,
    pub cells: Vec<CellId>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When customers are told (notifications go out then).
    pub announce_at: Timestamp,
    pub description: String,
}

/// An unplanned outage of one cell; `end` is unknown until it is repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outage {
    pub id: String,
    pub cell: CellId,
    pub start: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
}

/// A connectivity level (CAMARA PCD `Connectivity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// No connectivity: service level not met.
    #[serde(rename = "NC")]
    No,
    /// Marginal connectivity: service level might not be met.
    #[serde(rename = "MC")]
    Marginal,
    /// Good connectivity.
    #[serde(rename = "GC")]
    Good,
    /// No data.
    #[serde(rename = "ND")]
    NoData,
}

/// A forecast degradation over an area (every cell whose geohash starts with `geohash`, or that
/// contains it) for a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Forecast {
    pub id: String,
    pub geohash: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// `MC` or `NC`.
    pub level: Level,
}

impl Forecast {
    /// Whether the forecast's area overlaps a cell's coverage geohash.
    pub fn covers(&self, cell_geohash: &str) -> bool {
        cell_geohash.starts_with(&self.geohash) || self.geohash.starts_with(cell_geohash)
    }
}

/// Whether `[a0, a1)` and `[b0, b1)` overlap.
pub fn overlaps(a0: Timestamp, a1: Timestamp, b0: Timestamp, b1: Timestamp) -> bool {
    a0 < b1 && b0 < a1
}
