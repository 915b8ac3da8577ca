//! The scenario's clock: its start, its display offset, and the times and durations a scenario
//! file writes (`"01:58"`, `"day 2 06:00"`, `"90m"`, `"1h30m"`). Pure.

use std::time::Duration;

use crate::time::Timestamp;

/// The wall clock a scenario is told in: a start instant and an offset east of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioClock {
    /// The first instant of the run (UTC).
    pub start: Timestamp,
    /// The display clock, minutes east of UTC (the story's 01:58 prints as 01:58).
    pub utc_offset_minutes: i32,
}

impl ScenarioClock {
    /// Local midnight of the start day, as a UTC instant (may precede `start`).
    fn day_one(&self) -> i64 {
        let local = self.start.as_millis() as i64 / 1000 + self.offset_secs();
        local - local.rem_euclid(86_400) - self.offset_secs()
    }

    fn offset_secs(&self) -> i64 {
        self.utc_offset_minutes as i64 * 60
    }

    /// Parses a time of the scenario: `"HH:MM"` (the start day), `"day N HH:MM"` (N from 1), or
    /// an RFC 3339 date-time with its offset. `Err` says what is allowed.
    pub fn parse_time(&self, text: &str) -> Result<Timestamp, String> {
        let text = text.trim();
        if let Some(t) = Timestamp::parse_rfc3339(text) {
            return Ok(t);
        }
        let (day, hm) = match text.strip_prefix("day ") {
            Some(rest) => {
                let (d, hm) = rest.trim().split_once(' ').ok_or_else(time_help)?;
                let d: i64 = d.parse().map_err(|_| time_help())?;
                if !(1..=366).contains(&d) {
                    return Err(time_help());
                }
                (d - 1, hm.trim())
            }
            None => (0, text),
        };
        let (h, m) = hm.split_once(':').ok_or_else(time_help)?;
        let (h, m): (i64, i64) = match (h.parse(), m.parse()) {
            (Ok(h), Ok(m)) if (0..24).contains(&h) && (0..60).contains(&m) && m_len(hm) => (h, m),
            _ => return Err(time_help()),
        };
        let secs = self.day_one() + day * 86_400 + h * 3600 + m * 60;
        u64::try_from(secs)
            .map(Timestamp::from_secs)
            .map_err(|_| time_help())
    }

    /// `"01:58"` on the start day, `"day 2 01:58"` after it, in the display clock.
    pub fn format(&self, t: Timestamp) -> String {
        let secs = t.as_millis() as i64 / 1000;
        let day = (secs - self.day_one()).div_euclid(86_400);
        let local = (secs + self.offset_secs()).rem_euclid(86_400);
        let hm = format!("{:02}:{:02}", local / 3600, local / 60 % 60);
        if day == 0 {
            hm
        } else {
            format!("day {} {hm}", day + 1)
        }
    }

    /// `"01:58:07"` with seconds, for event logs.
    pub fn format_secs(&self, t: Timestamp) -> String {
        let secs = (t.as_millis() as i64 / 1000 + self.offset_secs()).rem_euclid(60);
        format!("{}:{secs:02}", self.format(t))
    }
}

fn m_len(hm: &str) -> bool {
    hm.split_once(':').is_some_and(|(h, m)| {
        (1..=2).contains(&h.len())
            && m.len() == 2
            && hm.bytes().all(|b| b == b':' || b.is_ascii_digit())
    })
}

fn time_help() -> String {
    "a time is \"HH:MM\" (the start day), \"day N HH:MM\" (N = 1 is the start day) or an RFC 3339 date-time such as \"2026-11-26T01:58:00+01:00\"".into()
}

/// Parses a duration: digits with a unit, one or more (`"300ms"`, `"90s"`, `"15m"`, `"2h"`,
/// `"1d"`, `"1h30m"`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let help = || {
        format!("`{text}` is not a duration; write digits with a unit ms, s, m, h or d, e.g. \"300ms\", \"90s\", \"15m\", \"1h30m\", \"2d\"")
    };
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(help());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let units = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        let n: u64 = rest[..digits].parse().map_err(|_| help())?;
        let millis = match &rest[digits..digits + units] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(help()),
        };
        total = n
            .checked_mul(millis)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(help)?;
        rest = &rest[digits + units..];
    }
    Ok(Duration::from_millis(total))
}

/// `"1h30m"`, `"15m"`, `"2d"`: the shortest form of a whole number of seconds.
pub fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, secs) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= secs {
            out.push_str(&format!("{}{unit}", s / secs));
            s %= secs;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> ScenarioClock {
        ScenarioClock {
            start: Timestamp::parse_rfc3339("2026-11-26T00:00:00+01:00").unwrap(),
            utc_offset_minutes: 60,
        }
    }

    #[test]
    fn can_round_trip_scenario_times() {
        let c = clock();
        for (text, utc) in [
            ("01:58", "2026-11-26T00:58:00.000Z"),
            ("00:00", "2026-11-25T23:00:00.000Z"),
            ("day 2 06:00", "2026-11-27T05:00:00.000Z"),
        ] {
            let t = c.parse_time(text).unwrap();
            assert_eq!(t.to_rfc3339(), utc, "{text}");
            assert_eq!(c.format(t), text);
        }
        let t = c.parse_time("2026-11-26T03:00:00Z").unwrap();
        assert_eq!(c.format(t), "04:00");
        assert_eq!(c.format_secs(t + Duration::from_secs(7)), "04:00:07");
    }

    #[test]
    fn rejects_malformed_times() {
        let c = clock();
        for bad in [
            "",
            "1:5",
            "24:00",
            "12:60",
            "day 0 01:00",
            "day x 01:00",
            "tomorrow",
            "01:58pm",
        ] {
            assert!(c.parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn can_round_trip_durations() {
        for (text, ms) in [
            ("300ms", 300),
            ("90s", 90_000),
            ("15m", 900_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d.as_millis(), ms, "{text}");
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        for bad in ["", "15", "m", "1x", "1h 30m", "-5m", "5mm"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
