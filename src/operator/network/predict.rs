//! Predictive connectivity for an area (CAMARA Predictive Connectivity Data): per geohash cell
//! and hour, good (GC), marginal (MC), none (NC) or no data (ND), from the announced maintenance,
//! the outages and the forecasts.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Network;
use crate::operator::calendar::{overlaps, Level};
use crate::operator::geohash::{self, Point};
use crate::operator::time::Timestamp;

/// The length of a forecast slot.
pub const SLOT: Duration = Duration::from_secs(3600);
/// At most this many slots (one week).
pub const MAX_SLOTS: u64 = 168;
/// At most this many geohash cells in an area.
pub const MAX_GRID_CELLS: usize = 2_000;

/// A request.
#[derive(Debug, Clone, PartialEq)]
pub struct PcdQuery {
    pub polygon: Vec<Point>,
    pub precision: usize,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// CAMARA `ResponseStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PcdStatus {
    SupportedArea,
    PartOfAreaNotSupported,
    AreaNotSupported,
}

/// One hour and the level per geohash cell.
#[derive(Debug, Clone, PartialEq)]
pub struct PcdSlot {
    pub start: Timestamp,
    pub end: Timestamp,
    pub cells: Vec<(String, Level)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PcdResult {
    pub status: PcdStatus,
    pub slots: Vec<PcdSlot>,
}

/// Why a prediction cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcdError {
    #[error("endTime must be after startTime")]
    EmptyWindow,
    #[error("the time window spans more than {MAX_SLOTS} hours")]
    WindowTooLong,
    #[error("the area holds more than {MAX_GRID_CELLS} geohash cells at this precision")]
    AreaTooLarge,
}

impl Network {
    /// The connectivity forecast for an area and window.
    pub fn predict(&self, q: &PcdQuery) -> Result<PcdResult, PcdError> {
        if q.end <= q.start {
            return Err(PcdError::EmptyWindow);
        }
        let first = q.start.floor(SLOT);
        let slots = (q.end.as_millis() - first.as_millis()).div_ceil(SLOT.as_millis() as u64);
        if slots > MAX_SLOTS {
            return Err(PcdError::WindowTooLong);
        }
        let mut grid = geohash::cells_in_polygon(&q.polygon, q.precision, MAX_GRID_CELLS)
            .ok_or(PcdError::AreaTooLarge)?;
        if grid.is_empty() {
            // An area smaller than one grid cell: report the cell under its centre.
            let n = q.polygon.len().max(1) as f64;
            let centre = Point {
                latitude: q.polygon.iter().map(|p| p.latitude).sum::<f64>() / n,
                longitude: q.polygon.iter().map(|p| p.longitude).sum::<f64>() / n,
            };
            grid.push(geohash::encode(centre, q.precision));
        }
        let index: BTreeMap<&str, Vec<usize>> =
            self.cells
                .iter()
                .enumerate()
                .fold(BTreeMap::new(), |mut m, (i, c)| {
                    m.entry(c.cell.geohash.as_str()).or_default().push(i);
                    m
                });
        let covering: Vec<Vec<usize>> = grid.iter().map(|g| covering_cells(&index, g)).collect();
        let supported = covering.iter().filter(|c| !c.is_empty()).count();
        let status = match supported {
            0 => PcdStatus::AreaNotSupported,
            n if n == grid.len() => PcdStatus::SupportedArea,
            _ => PcdStatus::PartOfAreaNotSupported,
        };
        if status == PcdStatus::AreaNotSupported {
            return Ok(PcdResult {
                status,
                slots: Vec::new(),
            });
        }
        let mut out = Vec::with_capacity(slots as usize);
        for s in 0..slots {
            let start = first + SLOT * s as u32;
            let end = start + SLOT;
            let cells = grid
                .iter()
                .zip(&covering)
                .map(|(g, cover)| {
                    let level = cover
                        .iter()
                        .map(|&c| self.cell_level(c, start, end))
                        .max_by_key(|l| rank(*l))
                        .unwrap_or(Level::NoData);
                    (g.clone(), level)
                })
                .collect();
            out.push(PcdSlot { start, end, cells });
        }
        Ok(PcdResult { status, slots: out })
    }

    /// The worst level a cell is expected to have during `[start, end)`.
    fn cell_level(&self, c: usize, start: Timestamp, end: Timestamp) -> Level {
        let cell = &self.cells[c].cell;
        let planned = self.maintenance.iter().any(|w| {
            w.announce_at <= self.now
                && w.cells.contains(&cell.id)
                && overlaps(w.start, w.end, start, end)
        });
        let outage = self.outages.iter().any(|o| {
            o.cell == cell.id && overlaps(o.start, o.end.unwrap_or(Timestamp(u64::MAX)), start, end)
        });
        if planned || outage {
            return Level::No;
        }
        self.forecasts
            .iter()
            .filter(|f| f.covers(&cell.geohash) && overlaps(f.start, f.end, start, end))
            .map(|f| f.level)
            .min_by_key(|l| rank(*l))
            .unwrap_or(Level::Good)
    }
}

/// Better is higher.
fn rank(l: Level) -> u8 {
    match l {
        Level::NoData => 0,
        Level::No => 1,
        Level::Marginal => 2,
        Level::Good => 3,
    }
}

/// The network cells covering a grid cell: those whose geohash is a prefix of it or extends it.
fn covering_cells(index: &BTreeMap<&str, Vec<usize>>, g: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for k in 1..=g.len() {
        if let Some(v) = index.get(&g[..k]) {
            out.extend_from_slice(v);
        }
    }
    for (hash, v) in index.range(g..) {
        if !hash.starts_with(g) {
            break;
        }
        if hash.len() > g.len() {
            out.extend_from_slice(v);
        }
    }
    out
}
