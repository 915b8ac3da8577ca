//! The head-end's policy: cycle and window, concurrency, retries, escalation, remedies, SLA.
//! Every field has a default; `reanimator headend` reads it from the `[policy]` table.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the head-end schedules reads and when it escalates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    /// Load-profile interval and read cycle, seconds.
    pub cycle_secs: u64,
    /// How long after an interval ends its reading may still arrive on time, seconds.
    pub window_secs: u64,
    /// First reads are spread over this fraction of the window (the rest is for retries).
    pub spread: f64,
    /// Reads (or wake-ups) in flight at once.
    pub concurrency: usize,
    /// Read attempts per meter per window, the first included.
    pub attempts: u32,
    /// Delay before the first retry, seconds; doubles for each further one.
    pub retry_backoff_secs: u64,
    /// Consecutive missed cycles before the head-end asks the operator why.
    pub escalate_after: u32,
    /// Wait after a reset before reading again, seconds.
    pub settle_secs: u64,
    /// Resets and cancel-locations per hour for the whole fleet.
    pub remedies_per_hour: u32,
    /// At most this many remedies per outage (gentlest first).
    pub remedies_per_outage: u32,
    /// Read meters this long before a forecast degradation of their cell, seconds.
    pub early_read_lead_secs: u64,
    /// Oldest interval a backfill asks for, seconds back from now (the meter's retention).
    pub backfill_horizon_secs: u64,
    /// The clock the outage log's sentences use, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// The SLA with the operator.
    pub sla: Sla,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            cycle_secs: 900,
            window_secs: 900,
            spread: 0.5,
            concurrency: 1000,
            attempts: 3,
            retry_backoff_secs: 60,
            escalate_after: 2,
            settle_secs: 30,
            remedies_per_hour: 120,
            remedies_per_outage: 2,
            early_read_lead_secs: 3600,
            backfill_horizon_secs: 10 * 86_400,
            utc_offset_minutes: 0,
            sla: Sla::default(),
        }
    }
}

impl Policy {
    pub fn cycle(&self) -> Duration {
        Duration::from_secs(self.cycle_secs)
    }
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs)
    }
    pub fn settle(&self) -> Duration {
        Duration::from_secs(self.settle_secs)
    }

    /// What is wrong with the policy, as `(key, fix)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let fail = |k, m: &str| Err((k, m.to_string()));
        if self.cycle_secs == 0 || 86_400 % self.cycle_secs != 0 {
            return fail(
                "cycle-secs",
                "must divide a day, e.g. 900 (15 minutes) or 60",
            );
        }
        if self.window_secs == 0 || self.window_secs > 86_400 {
            return fail("window-secs", "must be between 1 and 86400");
        }
        if !(0.0..=1.0).contains(&self.spread) {
            return fail("spread", "must be between 0.0 and 1.0");
        }
        if self.concurrency == 0 {
            return fail("concurrency", "must be at least 1");
        }
        if self.attempts == 0 {
            return fail("attempts", "must be at least 1");
        }
        if self.escalate_after == 0 {
            return fail("escalate-after", "must be at least 1 cycle");
        }
        self.sla.check()
    }
}

/// Incident classes and the operator's availability commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sla {
    /// Contracted availability of the operator's service per meter, percent.
    pub availability_percent: f64,
    /// Classes from the widest down; an incident takes the first whose threshold it reaches.
    pub classes: Vec<IncidentClass>,
}

/// One SLA incident class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IncidentClass {
    pub name: String,
    /// Meters of one cell out at once for the same cause, at least.
    pub min_meters: usize,
    /// The operator must have answered (diagnosis possible) within, seconds.
    pub response_secs: u64,
    /// The outage must be over within, seconds.
    pub mttr_secs: u64,
}

impl Default for Sla {
    fn default() -> Self {
        let class = |name: &str, min_meters, response_secs, mttr_secs| IncidentClass {
            name: name.into(),
            min_meters,
            response_secs,
            mttr_secs,
        };
        Sla {
            availability_percent: 99.5,
            classes: vec![
                class("area", 50, 900, 4 * 3600),
                class("cell", 5, 1800, 8 * 3600),
                class("single-meter", 1, 4 * 3600, 24 * 3600),
            ],
        }
    }
}

impl Sla {
    fn check(&self) -> Result<(), (&'static str, String)> {
        if !(0.0..=100.0).contains(&self.availability_percent) {
            return Err((
                "sla.availability-percent",
                "must be a percentage, e.g. 99.5".into(),
            ));
        }
        if !self.classes.iter().any(|c| c.min_meters <= 1) {
            return Err((
                "sla.classes",
                "needs a class with min-meters = 1 so every outage has one".into(),
            ));
        }
        Ok(())
    }

    /// The class of an incident touching `meters` meters of one cell at once.
    pub fn class_for(&self, meters: usize) -> Option<&IncidentClass> {
        let mut classes: Vec<_> = self.classes.iter().collect();
        classes.sort_by_key(|c| std::cmp::Reverse(c.min_meters));
        classes.into_iter().find(|c| meters >= c.min_meters)
    }
}
