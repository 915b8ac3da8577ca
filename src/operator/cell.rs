//! Radio cells: where they are, and whether they serve right now.

use serde::Serialize;

use super::ids::CellId;

/// A radio cell: id, coverage as a geohash (the area it serves), and a named area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    pub id: CellId,
    /// The geohash of the area the cell covers (e.g. 6 characters, about 1.2 km by 0.6 km).
    pub geohash: String,
    /// The named area (also reported as the tracking area).
    pub area: String,
}

/// Why a cell is not serving, counted so overlapping windows nest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellCondition {
    pub planned: u32,
    pub outages: u32,
    /// Forecast windows of no connectivity that are now in force.
    pub forecast_down: u32,
    /// Forecast windows of marginal connectivity that are now in force.
    pub forecast_marginal: u32,
}

impl CellCondition {
    pub fn serving(&self) -> bool {
        self.planned == 0 && self.outages == 0 && self.forecast_down == 0
    }
}
