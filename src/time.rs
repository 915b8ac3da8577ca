//! Wall-clock instants for schedules (the operator's, the head-end's): Unix milliseconds, passed in by the driver.
//!
//! The schedule (15-minute KPI buckets, maintenance windows, SMS validity) lives in calendar time,
//! so the model takes `Timestamp`s rather than `std::time::Instant`s. Formatting and parsing follow
//! RFC 3339 in UTC, the form CAMARA requires (`2024-02-20T10:41:38.657Z`).

use crate::civil::{civil_from_days, days_from_civil, days_in_month};
use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// Milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

/// The length of one KPI bucket.
pub const QUARTER_HOUR: Duration = Duration::from_secs(15 * 60);

impl Timestamp {
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s * 1000)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// The start of the period of length `period` that contains this instant.
    pub fn floor(self, period: Duration) -> Timestamp {
        let p = period.as_millis().max(1) as u64;
        Timestamp(self.0 - self.0 % p)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-26T02:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0 / 1000;
        let ms = self.0 % 1000;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let sod = secs % 86_400;
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }

    /// `2026-11-26 01:58` in a clock `offset_minutes` east of UTC (the outage log's form).
    pub fn local_minute(self, offset_minutes: i32) -> String {
        let secs = (self.0 / 1000) as i64 + i64::from(offset_minutes) * 60;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}",
            sod / 3600,
            sod / 60 % 60
        )
    }

    /// `01:58` in that clock.
    pub fn local_hh_mm(self, offset_minutes: i32) -> String {
        self.local_minute(offset_minutes)[11..].to_string()
    }

    /// Parses RFC 3339 (`Z` or a `±HH:MM` offset, optional fraction); `None` if malformed or
    /// before the epoch.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u64> {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year as i64, month as u32) as u64
        {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = &s[19..];
        let mut millis = 0u64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            for (i, c) in frac[..digits].bytes().take(3).enumerate() {
                millis += u64::from(c - b'0') * 10u64.pow(2 - i as u32);
            }
            rest = &frac[digits..];
        }
        let offset_secs: i64 = match rest {
            "Z" | "z" => 0,
            _ => {
                let ob = rest.as_bytes();
                if ob.len() != 6 || ob[3] != b':' || !matches!(ob[0], b'+' | b'-') {
                    return None;
                }
                let oh: i64 = rest[1..3].parse().ok()?;
                let om: i64 = rest[4..6].parse().ok()?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let sign = if ob[0] == b'-' { -1 } else { 1 };
                sign * (oh * 3600 + om * 60)
            }
        };
        let days = days_from_civil(year as i64, month as u32, day as u32);
        let local = days * 86_400 + (hour * 3600 + minute * 60 + second.min(59)) as i64;
        let utc = local - offset_secs;
        (utc >= 0).then(|| Timestamp(utc as u64 * 1000 + millis))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_millis() as u64))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d.as_millis() as u64))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not an RFC 3339 date-time with a time zone (e.g. 2026-11-26T02:00:00Z)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_round_trip_rfc3339() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_708_425_698_657, "2024-02-20T10:41:38.657Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_795_658_400_000, "2026-11-26T02:00:00.000Z"),
        ] {
            assert_eq!(Timestamp(ms).to_rfc3339(), text);
            assert_eq!(
                Timestamp::parse_rfc3339(text),
                Some(Timestamp(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let utc = Timestamp::parse_rfc3339("2024-01-03T11:00:00Z").unwrap();
        assert_eq!(
            Timestamp::parse_rfc3339("2024-01-03T12:00:00+01:00"),
            Some(utc)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2024-01-03T10:30:00-00:30"),
            Some(utc)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2024-01-03T11:00:00.5Z"),
            Some(utc + Duration::from_millis(500))
        );
    }

    #[test]
    fn rejects_malformed_date_times() {
        for bad in [
            "",
            "2024-01-03",
            "2024-01-03T11:00:00",
            "2024-13-03T11:00:00Z",
            "2023-02-29T11:00:00Z",
            "2024-01-03T24:00:00Z",
            "2024-01-03T11:00:00.Z",
            "2024-01-03T11:00:00+1:00",
            "1969-12-31T23:59:59Z",
            "2024-01-03T11:0a:00Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn floors_to_quarter_hours() {
        let t = Timestamp::parse_rfc3339("2026-11-26T02:14:59.999Z").unwrap();
        assert_eq!(
            t.floor(QUARTER_HOUR).to_rfc3339(),
            "2026-11-26T02:00:00.000Z"
        );
    }
}
