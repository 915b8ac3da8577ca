//! Load profile 1 (Profile Generic 1.0.99.1.0.255): rows computed on demand from the load model,
//! selected by range or by entry.

use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::datetime::{DateTime, DeviationConvention};
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{
    CaptureObject, DataAccessResult, EntryDescriptor, RangeDescriptor, SelectiveAccess,
};

use super::readings::LoadModel;

/// The columns: clock, profile status, A+, A-.
pub fn capture_objects() -> [CaptureObject; 4] {
    [
        CaptureObject::new(8, Obis::CLOCK, 2),
        CaptureObject::new(1, Obis::PROFILE_STATUS, 2),
        CaptureObject::new(3, Obis::ACTIVE_ENERGY_IMPORT, 2),
        CaptureObject::new(3, Obis::ACTIVE_ENERGY_EXPORT, 2),
    ]
}

/// Profile status bit: the meter was powered down during (part of) the interval.
pub const STATUS_POWER_DOWN: u8 = 0x80;

/// A view of one meter's load profile at one instant.
pub struct LoadProfile<'a> {
    pub model: &'a LoadModel,
    /// Capture time of the newest entry (Unix seconds).
    pub newest: i64,
    /// Seconds between captures.
    pub period: i64,
    /// How many entries the meter keeps.
    pub retention: u32,
    pub utc_offset_minutes: i16,
    pub convention: DeviationConvention,
    /// Power-down periods `[from, to)`: no entry is captured inside one.
    pub gaps: &'a [(i64, i64)],
}

impl LoadProfile<'_> {
    /// Capture times of the entries kept, oldest first.
    fn times(&self) -> impl Iterator<Item = i64> + '_ {
        self.times_between(i64::MIN, i64::MAX)
    }

    /// Capture times of the entries kept inside `[from, to]`, oldest first: computed from the
    /// bounds, so a read of one interval does not walk the whole retention.
    fn times_between(&self, from: i64, to: i64) -> impl Iterator<Item = i64> + '_ {
        let oldest = self.newest - (self.retention as i64 - 1) * self.period;
        let first = (from.max(oldest) - oldest + self.period - 1).div_euclid(self.period);
        let last = (to.min(self.newest) - oldest).div_euclid(self.period);
        (first..=last)
            .map(move |j| oldest + j * self.period)
            .filter(|t| !self.in_gap(*t))
    }

    fn in_gap(&self, t: i64) -> bool {
        self.gaps.iter().any(|(from, to)| (*from..*to).contains(&t))
    }

    /// Entries in use.
    pub fn entries_in_use(&self) -> u32 {
        self.times().count() as u32
    }

    /// The row captured at `t`.
    pub fn row(&self, t: i64) -> [Data; 4] {
        let energy = self.model.energy_at(t);
        let after_gap = self
            .gaps
            .iter()
            .any(|(from, to)| *from < t && t - self.period < *to);
        [
            Data::OctetString(
                DateTime::from_unix(t, self.utc_offset_minutes, self.convention).to_bytes(),
            ),
            Data::Unsigned(if after_gap { STATUS_POWER_DOWN } else { 0 }),
            Data::DoubleLongUnsigned(energy.import_wh as u32),
            Data::DoubleLongUnsigned(energy.export_wh as u32),
        ]
    }

    /// Attribute 2, the buffer, whole or selected.
    pub fn buffer(&self, access: Option<&SelectiveAccess>) -> Result<Data, DataAccessResult> {
        let all_columns = 0..4;
        let rows: Vec<Data> = match access {
            None => self.rows(self.times(), all_columns),
            Some(a) if a.selector == SelectiveAccess::RANGE => {
                let range = a.range().map_err(|_| DataAccessResult::TypeUnmatched)?;
                let (from, to, columns) = self.range_bounds(&range)?;
                self.rows(self.times_between(from, to), columns)
            }
            Some(a) if a.selector == SelectiveAccess::ENTRY => {
                let entry = a.entry().map_err(|_| DataAccessResult::TypeUnmatched)?;
                let (rows, columns) = entry_bounds(&entry);
                let times: Vec<i64> = self.times().collect();
                let last = rows.end().min(&times.len()).to_owned();
                let first = *rows.start();
                self.rows(
                    times
                        .get(first.min(last)..last)
                        .unwrap_or_default()
                        .iter()
                        .copied(),
                    columns,
                )
            }
            Some(_) => return Err(DataAccessResult::OtherReason),
        };
        Ok(Data::Array(rows))
    }

    fn rows(&self, times: impl Iterator<Item = i64>, columns: std::ops::Range<usize>) -> Vec<Data> {
        times
            .map(|t| Data::Structure(self.row(t)[columns.clone()].to_vec()))
            .collect()
    }

    /// A range descriptor as Unix bounds and the column span it selects.
    fn range_bounds(
        &self,
        range: &RangeDescriptor,
    ) -> Result<(i64, i64, std::ops::Range<usize>), DataAccessResult> {
        if range.restricting_object.logical_name != Obis::CLOCK {
            return Err(DataAccessResult::OtherReason);
        }
        let bound = |d: &Data| {
            let dt = d.as_date_time().ok_or(DataAccessResult::TypeUnmatched)?;
            // A bound without a deviation is in the meter's local time.
            let local = dt.local_unix().ok_or(DataAccessResult::TypeUnmatched)?;
            Ok(dt
                .to_unix(self.convention)
                .unwrap_or(local - self.utc_offset_minutes as i64 * 60))
        };
        let columns = match range.selected_values.as_slice() {
            [] => 0..4,
            selected => {
                let all = capture_objects();
                let index = |c: &CaptureObject| {
                    all.iter().position(|a| {
                        a.logical_name == c.logical_name && a.attribute == c.attribute
                    })
                };
                let first = selected
                    .first()
                    .and_then(index)
                    .ok_or(DataAccessResult::OtherReason)?;
                let last = selected
                    .last()
                    .and_then(index)
                    .ok_or(DataAccessResult::OtherReason)?;
                if last < first || last - first + 1 != selected.len() {
                    return Err(DataAccessResult::OtherReason);
                }
                first..last + 1
            }
        };
        Ok((bound(&range.from)?, bound(&range.to)?, columns))
    }
}

/// 1-based, inclusive entry and column bounds (0 = to the last) as 0-based ranges.
fn entry_bounds(e: &EntryDescriptor) -> (std::ops::RangeInclusive<usize>, std::ops::Range<usize>) {
    let first_row = e.from_entry.max(1) as usize - 1;
    let last_row = if e.to_entry == 0 {
        usize::MAX
    } else {
        e.to_entry as usize
    };
    let first_col = (e.from_selected_value.max(1) as usize - 1).min(4);
    let last_col = if e.to_selected_value == 0 {
        4
    } else {
        (e.to_selected_value as usize).min(4)
    };
    (first_row..=last_row, first_col..last_col.max(first_col))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_26: i64 = 1_795_647_600; // 2026-11-26T00:00+01:00

    fn profile<'a>(model: &'a LoadModel, gaps: &'a [(i64, i64)]) -> LoadProfile<'a> {
        LoadProfile {
            model,
            newest: NOV_26 + 95 * 900,
            period: 900,
            retention: 960,
            utc_offset_minutes: 60,
            convention: DeviationConvention::LocalToUtc,
            gaps,
        }
    }

    fn date_time(t: i64) -> Data {
        Data::OctetString(DateTime::from_unix(t, 60, DeviationConvention::LocalToUtc).to_bytes())
    }

    fn range(from: i64, to: i64) -> SelectiveAccess {
        RangeDescriptor {
            restricting_object: capture_objects()[0],
            from: date_time(from),
            to: date_time(to),
            selected_values: vec![],
        }
        .into()
    }

    #[test]
    fn range_selects_the_rows_inside_inclusive() {
        let model = LoadModel::new(1, 2, 60);
        let buffer = profile(&model, &[])
            .buffer(Some(&range(NOV_26 + 3600, NOV_26 + 7200)))
            .unwrap();
        let rows = buffer.as_elements().unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].as_elements().unwrap()[0], date_time(NOV_26 + 3600));
        assert_eq!(
            rows[4].as_elements().unwrap()[2],
            Data::DoubleLongUnsigned(model.energy_at(NOV_26 + 7200).import_wh as u32)
        );
    }

    #[test]
    fn a_range_computed_from_its_bounds_equals_filtering_every_entry() {
        let model = LoadModel::new(1, 2, 60);
        let gaps = [(NOV_26 + 3600 + 1, NOV_26 + 7200 + 1)];
        let p = profile(&model, &gaps);
        let oldest = p.newest - 959 * 900;
        for (from, to) in [
            (NOV_26 + 3600, NOV_26 + 3600),     // one entry
            (NOV_26 + 3601, NOV_26 + 4499),     // between two entries
            (NOV_26 + 3599, NOV_26 + 4501),     // off-boundary bounds
            (oldest - 10_000, oldest),          // reaching back before the oldest
            (p.newest, p.newest + 10_000),      // past the newest
            (i64::MIN, i64::MAX),               // everything
            (NOV_26 + 7200, NOV_26 + 3600),     // inverted
            (oldest - 20_000, oldest - 10_000), // entirely before
            (NOV_26 + 3000, NOV_26 + 8000),     // across the gap
        ] {
            let brute: Vec<i64> = p.times().filter(|t| (from..=to).contains(t)).collect();
            assert_eq!(
                p.times_between(from, to).collect::<Vec<_>>(),
                brute,
                "{from}..={to}"
            );
        }
    }

    #[test]
    fn entry_selects_rows_and_columns() {
        let model = LoadModel::new(1, 2, 60);
        let p = profile(&model, &[]);
        let access = EntryDescriptor {
            from_entry: 959,
            to_entry: 0,
            from_selected_value: 3,
            to_selected_value: 3,
        }
        .into();
        let rows = p.buffer(Some(&access)).unwrap();
        let rows = rows.as_elements().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            Data::Structure(vec![Data::DoubleLongUnsigned(
                model.energy_at(p.newest).import_wh as u32
            )])
        );
    }

    #[test]
    fn the_whole_buffer_keeps_the_retention() {
        let model = LoadModel::new(1, 2, 60);
        let p = profile(&model, &[]);
        assert_eq!(p.buffer(None).unwrap().as_elements().unwrap().len(), 960);
        assert_eq!(p.entries_in_use(), 960);
    }

    #[test]
    fn a_power_down_leaves_a_gap_and_flags_the_next_row() {
        let model = LoadModel::new(1, 2, 60);
        let gaps = [(NOV_26 + 3600 + 1, NOV_26 + 7200 + 1)];
        let p = profile(&model, &gaps);
        let rows = p
            .buffer(Some(&range(NOV_26 + 3600, NOV_26 + 3 * 3600)))
            .unwrap();
        let rows = rows.as_elements().unwrap();
        assert_eq!(rows.len(), 1 + 4, "01:00, then 02:15 to 03:00");
        assert_eq!(
            rows[1].as_elements().unwrap()[1],
            Data::Unsigned(STATUS_POWER_DOWN)
        );
        assert_eq!(rows[2].as_elements().unwrap()[1], Data::Unsigned(0));
    }

    #[test]
    fn rejects_a_range_on_another_column() {
        let model = LoadModel::new(1, 2, 60);
        let mut r = RangeDescriptor {
            restricting_object: capture_objects()[2],
            from: date_time(NOV_26),
            to: date_time(NOV_26),
            selected_values: vec![],
        };
        assert_eq!(
            profile(&model, &[]).buffer(Some(&r.clone().into())),
            Err(DataAccessResult::OtherReason)
        );
        r.restricting_object = capture_objects()[0];
        r.from = Data::Unsigned(1);
        assert_eq!(
            profile(&model, &[]).buffer(Some(&r.into())),
            Err(DataAccessResult::TypeUnmatched)
        );
    }
}
