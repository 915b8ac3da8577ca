//! COSEM date, time and date-time (12 bytes), with the deviation's sign convention made explicit.
//!
//! The Blue Book defines the deviation as the minutes from local time to UTC (so UTC+1 is -60), and
//! dlms-cosem follows it; some meters and gurux's `useUtc2NormalTime` use the opposite sign. The
//! convention is a property of the peer, chosen per profile, never guessed.

use std::fmt;

use serde::Serialize;

use super::codec::{Codec, DecodeResult, Reader};
use crate::civil::{civil_from_days, days_from_civil, days_in_month};

/// The wire value meaning "deviation not specified".
pub const DEVIATION_UNSPECIFIED: i16 = i16::MIN;
/// The wire value meaning "field not specified" for one-byte fields.
pub const NOT_SPECIFIED: u8 = 0xFF;

/// How a peer signs the deviation field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviationConvention {
    /// Blue Book: minutes from local time to UTC (UTC+1 is -60).
    #[default]
    LocalToUtc,
    /// Inverted: minutes from UTC to local time (UTC+1 is +60).
    UtcToLocal,
}

impl DeviationConvention {
    /// The local time's offset from UTC in minutes (+60 for UTC+1), if specified.
    pub fn utc_offset(self, deviation: i16) -> Option<i32> {
        if deviation == DEVIATION_UNSPECIFIED {
            return None;
        }
        Some(match self {
            DeviationConvention::LocalToUtc => -(deviation as i32),
            DeviationConvention::UtcToLocal => deviation as i32,
        })
    }

    /// The wire deviation for a local time `offset_minutes` ahead of UTC.
    pub fn deviation(self, offset_minutes: i16) -> i16 {
        match self {
            DeviationConvention::LocalToUtc => -offset_minutes,
            DeviationConvention::UtcToLocal => offset_minutes,
        }
    }
}

/// A COSEM date (5 bytes); 0xFF/0xFFFF fields are "not specified".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    /// 1 = Monday ... 7 = Sunday, 0xFF not specified.
    pub day_of_week: u8,
}

/// A COSEM time (4 bytes); 0xFF fields are "not specified".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Time {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub hundredths: u8,
}

/// A COSEM date-time (12 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct DateTime {
    pub date: Date,
    pub time: Time,
    /// Raw wire deviation; interpret it with a [`DeviationConvention`].
    pub deviation: i16,
    /// Clock status bits (0x80 daylight saving active, 0x01 invalid, ...), 0xFF not specified.
    pub clock_status: u8,
}

impl Codec for Date {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.year.to_be_bytes());
        out.extend_from_slice(&[self.month, self.day, self.day_of_week]);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Date {
            year: r.u16("date year")?,
            month: r.u8("date month")?,
            day: r.u8("date day")?,
            day_of_week: r.u8("date day of week")?,
        })
    }
}

impl Codec for Time {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.hour, self.minute, self.second, self.hundredths]);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let [hour, minute, second, hundredths] = r.array("time")?;
        Ok(Time {
            hour,
            minute,
            second,
            hundredths,
        })
    }
}

impl Codec for DateTime {
    fn encode(&self, out: &mut Vec<u8>) {
        self.date.encode(out);
        self.time.encode(out);
        out.extend_from_slice(&self.deviation.to_be_bytes());
        out.push(self.clock_status);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(DateTime {
            date: Date::read(r)?,
            time: Time::read(r)?,
            deviation: r.i16("date-time deviation")?,
            clock_status: r.u8("date-time clock status")?,
        })
    }
}

impl DateTime {
    /// The wire size of a date-time.
    pub const LEN: usize = 12;

    /// The local date-time of a UTC instant in a zone `offset_minutes` ahead of UTC.
    pub fn from_unix(secs: i64, offset_minutes: i16, convention: DeviationConvention) -> Self {
        let local = secs + offset_minutes as i64 * 60;
        let days = local.div_euclid(86_400);
        let second_of_day = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let (month, day) = (month as u8, day as u8);
        DateTime {
            date: Date {
                year: year as u16,
                month,
                day,
                day_of_week: ((days + 3).rem_euclid(7) + 1) as u8,
            },
            time: Time {
                hour: (second_of_day / 3600) as u8,
                minute: (second_of_day / 60 % 60) as u8,
                second: (second_of_day % 60) as u8,
                hundredths: 0,
            },
            deviation: convention.deviation(offset_minutes),
            clock_status: 0,
        }
    }

    /// The UTC instant in Unix seconds, when every field needed is specified and valid.
    pub fn to_unix(&self, convention: DeviationConvention) -> Option<i64> {
        let offset = convention.utc_offset(self.deviation)?;
        Some(self.local_unix()? - offset as i64 * 60)
    }

    /// The local wall-clock time as if it were UTC, ignoring the deviation.
    pub fn local_unix(&self) -> Option<i64> {
        let Date {
            year, month, day, ..
        } = self.date;
        let Time {
            hour,
            minute,
            second,
            ..
        } = self.time;
        let valid = year != 0xFFFF
            && (1..=12).contains(&month)
            && (1..=days_in_month(year as i64, month as u32)).contains(&(day as u32))
            && hour < 24
            && minute < 60
            && second < 60;
        if !valid {
            return None;
        }
        let days = days_from_civil(year as i64, month as u32, day as u32);
        Some(days * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64)
    }

    /// ISO 8601 text under a deviation convention, with `?` for unspecified fields.
    pub fn to_iso(&self, convention: DeviationConvention) -> String {
        let mut s = format!("{}T{}", self.date, self.time);
        match convention.utc_offset(self.deviation) {
            Some(offset) => {
                let sign = if offset < 0 { '-' } else { '+' };
                let offset = offset.abs();
                s.push_str(&format!("{sign}{:02}:{:02}", offset / 60, offset % 60));
            }
            None => s.push_str(" (deviation not specified)"),
        }
        s
    }
}

fn field(value: u8, width: usize) -> String {
    match value {
        NOT_SPECIFIED => "?".repeat(width),
        v => format!("{v:0width$}"),
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let year = match self.year {
            0xFFFF => "????".to_string(),
            y => format!("{y:04}"),
        };
        let month = match self.month {
            0xFD => "DST-end".to_string(),
            0xFE => "DST-begin".to_string(),
            m => field(m, 2),
        };
        let day = match self.day {
            0xFD => "second-last".to_string(),
            0xFE => "last".to_string(),
            d => field(d, 2),
        };
        write!(f, "{year}-{month}-{day}")
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            field(self.hour, 2),
            field(self.minute, 2),
            field(self.second, 2)
        )?;
        if self.hundredths != 0 && self.hundredths != NOT_SPECIFIED {
            write!(f, ".{:02}", self.hundredths)?;
        }
        Ok(())
    }
}

/// Blue Book convention; use [`DateTime::to_iso`] for another.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso(DeviationConvention::LocalToUtc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-26 13:00:00 local at UTC+1, Blue Book deviation -60 (0xFFC4), status 0.
    const CET_BYTES: [u8; 12] = [0x07, 0xEA, 11, 26, 4, 13, 0, 0, 0, 0xFF, 0xC4, 0x00];
    const CET_UNIX: i64 = 1_795_694_400;

    #[test]
    fn can_round_trip_date_time_bytes() {
        let dt = DateTime::from_bytes(&CET_BYTES).unwrap();
        assert_eq!(
            dt.date,
            Date {
                year: 2026,
                month: 11,
                day: 26,
                day_of_week: 4
            }
        );
        assert_eq!(dt.deviation, -60);
        assert_eq!(dt.to_bytes(), CET_BYTES);
    }

    #[test]
    fn converts_with_either_convention() {
        let blue = DateTime::from_unix(CET_UNIX, 60, DeviationConvention::LocalToUtc);
        assert_eq!(blue.to_bytes(), CET_BYTES);
        assert_eq!(
            blue.to_unix(DeviationConvention::LocalToUtc),
            Some(CET_UNIX)
        );
        assert_eq!(
            blue.to_iso(DeviationConvention::LocalToUtc),
            "2026-11-26T13:00:00+01:00"
        );

        let inverted = DateTime::from_unix(CET_UNIX, 60, DeviationConvention::UtcToLocal);
        assert_eq!(inverted.deviation, 60);
        assert_eq!(
            inverted.to_unix(DeviationConvention::UtcToLocal),
            Some(CET_UNIX)
        );
        // Read with the wrong convention, the same bytes are two hours off.
        assert_eq!(
            inverted.to_unix(DeviationConvention::LocalToUtc),
            Some(CET_UNIX + 7200)
        );
    }

    #[test]
    fn unspecified_fields_have_no_instant() {
        let mut dt = DateTime::from_bytes(&CET_BYTES).unwrap();
        dt.deviation = DEVIATION_UNSPECIFIED;
        assert_eq!(dt.to_unix(DeviationConvention::LocalToUtc), None);
        assert!(dt.local_unix().is_some());
        dt.date.year = 0xFFFF;
        assert_eq!(dt.local_unix(), None);
        assert_eq!(dt.date.to_string(), "????-11-26");
    }

    #[test]
    fn rejects_impossible_dates() {
        let mut dt = DateTime::from_bytes(&CET_BYTES).unwrap();
        dt.date.month = 2;
        dt.date.day = 30;
        assert_eq!(dt.local_unix(), None);
    }

    #[test]
    fn the_epoch_was_a_thursday() {
        // 1970-01-01 was a Thursday (4).
        assert_eq!(
            DateTime::from_unix(0, 0, DeviationConvention::LocalToUtc)
                .date
                .day_of_week,
            4
        );
    }

    #[test]
    fn rejects_truncated_date_time() {
        let err = DateTime::from_bytes(&CET_BYTES[..11]).unwrap_err();
        assert_eq!(err.offset, 11);
    }
}
