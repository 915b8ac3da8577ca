//! Session setup attempts and successes per 15 minutes (TS 28.552 "PDU session creation"),
//! kept per SIM and per cell; success rate = successes / attempts.

use std::collections::VecDeque;

use serde::Serialize;

use super::time::{Timestamp, QUARTER_HOUR};

/// One 15-minute bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KpiBucket {
    pub start: Timestamp,
    pub attempts: u32,
    pub successes: u32,
}

impl KpiBucket {
    /// Successes / attempts, `None` without attempts.
    pub fn success_rate(&self) -> Option<f64> {
        (self.attempts > 0).then(|| f64::from(self.successes) / f64::from(self.attempts))
    }
}

/// A bounded series of buckets, oldest first; only buckets with attempts are stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KpiSeries {
    buckets: VecDeque<KpiBucket>,
}

/// Buckets kept: one week.
pub const KPI_RETENTION: usize = 7 * 96;

impl KpiSeries {
    fn bucket(&mut self, now: Timestamp) -> &mut KpiBucket {
        let start = now.floor(QUARTER_HOUR);
        if self.buckets.back().is_none_or(|b| b.start < start) {
            if self.buckets.len() == KPI_RETENTION {
                self.buckets.pop_front();
            }
            self.buckets.push_back(KpiBucket {
                start,
                attempts: 0,
                successes: 0,
            });
        }
        self.buckets.back_mut().expect("just pushed")
    }

    pub fn attempt(&mut self, now: Timestamp) {
        self.bucket(now).attempts += 1;
    }

    /// Counts a success in the bucket of the attempt (`attempted`), as the KPI pairs them.
    pub fn success(&mut self, attempted: Timestamp) {
        let start = attempted.floor(QUARTER_HOUR);
        if let Some(b) = self.buckets.iter_mut().rev().find(|b| b.start == start) {
            b.successes = (b.successes + 1).min(b.attempts);
        }
    }

    /// Every 15-minute bucket in `[from, to)`, zero-filled, at most `max` buckets (the latest).
    pub fn window(&self, from: Timestamp, to: Timestamp, max: usize) -> Vec<KpiBucket> {
        let mut out = Vec::new();
        let first = from.floor(QUARTER_HOUR);
        let mut start = first;
        while start < to {
            let b = self.buckets.iter().find(|b| b.start == start).copied();
            out.push(b.unwrap_or(KpiBucket {
                start,
                attempts: 0,
                successes: 0,
            }));
            start = start + QUARTER_HOUR;
        }
        if out.len() > max {
            out.drain(..out.len() - max);
        }
        out
    }
}

/// Totals over buckets.
pub fn totals(buckets: &[KpiBucket]) -> KpiBucket {
    KpiBucket {
        start: buckets.first().map_or(Timestamp(0), |b| b.start),
        attempts: buckets.iter().map(|b| b.attempts).sum(),
        successes: buckets.iter().map(|b| b.successes).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_quarter_hour_and_zero_fills_the_window() {
        let t0 = Timestamp::parse_rfc3339("2026-11-26T02:00:00Z").unwrap();
        let mut s = KpiSeries::default();
        s.attempt(t0);
        s.success(t0);
        s.attempt(t0 + QUARTER_HOUR * 2);
        let w = s.window(t0, t0 + QUARTER_HOUR * 3, 100);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].attempts, w[0].successes), (1, 1));
        assert_eq!((w[1].attempts, w[1].successes), (0, 0));
        assert_eq!((w[2].attempts, w[2].successes), (1, 0));
        assert_eq!(w[2].success_rate(), Some(0.0));
        assert_eq!(w[1].success_rate(), None);
        let t = totals(&w);
        assert_eq!((t.attempts, t.successes), (2, 1));
        assert_eq!(s.window(t0, t0 + QUARTER_HOUR * 3, 1).len(), 1);
    }
}
