//! Scenarios (`scenarios/*.toml`): a fleet, a span of time, the head-end's policy, the links'
//! behaviour and a timeline of faults; resolved against a seed into a concrete [`Plan`] with its
//! ground truth. Pure: the caller reads the file and passes its name and text.
//!
//! ```toml
//! [scenario]
//! name = "seed-story"
//! start = "2026-11-26T00:00:00+01:00"   # its offset is the clock the outage log speaks
//! span = "24h"
//! seed = 1
//!
//! [fleet]
//! meters = 1000
//! cells = 20
//! spread = "round-robin"                # or "blocks", "random"
//! profiles = { basic = 0.8, secure = 0.1, wakeup = 0.1 }
//! pin = { m000417 = "wakeup" }
//!
//! [policy]                              # the head-end's policy, every key optional
//! escalate-after = 2
//!
//! [link]
//! latency-ms = { min = 20, mode = 60, max = 400 }
//! loss = 0.0                            # per frame: lost and retransmitted
//! resets = 0.0                          # per connection
//!
//! [[fault]]
//! kind = "credential-change"
//! meters = ["m000417"]
//! at = "01:58"                          # "HH:MM", "day 2 HH:MM" or RFC 3339
//! until = "09:40"
//! by = "j.doe"
//! ```

pub mod clock;
pub mod fault;
mod file;
pub mod fleet;
pub mod truth;

use std::time::Duration;

use crate::headend::policy::Policy;
use crate::meter::profile::Latency;
use crate::time::Timestamp;

pub use clock::ScenarioClock;
pub use fault::{Fault, FaultKind, PlannedFault, Targets};
pub use fleet::{Fleet, FleetSpec};
pub use truth::{Expect, GroundTruth, TrueOutage};

/// A checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file it came from, for messages.
    pub file: String,
    pub name: String,
    pub description: String,
    pub clock: ScenarioClock,
    pub span: Duration,
    pub seed: u64,
    pub fleet: FleetSpec,
    pub policy: Policy,
    pub link: LinkSpec,
    pub faults: Vec<Fault>,
}

/// How the in-memory links between the head-end and the meters behave.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    /// One-way latency of a frame (triangular distribution).
    pub latency: Latency,
    /// Chance a frame is lost; TCP retransmits it after a timeout, so it arrives late.
    pub loss: f64,
    /// Chance a connection is reset by the network before it is done.
    pub resets: f64,
    /// How long an operator API call takes.
    pub api_latency: Duration,
}

impl Default for LinkSpec {
    fn default() -> Self {
        let ms = Duration::from_millis;
        LinkSpec {
            latency: Latency {
                min: ms(20),
                mode: ms(60),
                max: ms(400),
            },
            loss: 0.0,
            resets: 0.0,
            api_latency: ms(150),
        }
    }
}

/// Why a scenario cannot be used: the file, the line, the key and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A scenario resolved against a seed: the concrete fleet, the faults with their targets, and
/// the ground truth.
#[derive(Debug, Clone)]
pub struct Plan {
    pub fleet: Fleet,
    pub faults: Vec<PlannedFault>,
    pub truth: GroundTruth,
}

impl Scenario {
    /// Parses and checks a scenario; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        file::parse(file, text)
    }

    pub fn start(&self) -> Timestamp {
        self.clock.start
    }

    pub fn end(&self) -> Timestamp {
        self.clock.start + self.span
    }

    /// Resolves the fleet and the targets for `seed`, and derives the ground truth.
    pub fn plan(&self, seed: u64) -> Result<Plan, ScenarioError> {
        let fleet = self.fleet.build(seed);
        let mut faults = Vec::with_capacity(self.faults.len());
        for (i, f) in self.faults.iter().enumerate() {
            let planned = f
                .resolve(&fleet, i as u64 + 1)
                .map_err(|m| self.error(f.line, "fault", m))?;
            self.check_reach(&fleet, &planned)?;
            faults.push(planned);
        }
        let truth = GroundTruth::derive(
            &faults,
            |m| fleet.is_wake_up(&fleet.meters[m as usize]),
            self.start(),
            self.end(),
            self.policy.cycle(),
            self.policy.window(),
        );
        self.check_overlaps(&truth)?;
        Ok(Plan {
            fleet,
            faults,
            truth,
        })
    }

    fn error(&self, line: usize, key: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: self.file.clone(),
            line: Some(line),
            key: key.into(),
            message,
        }
    }

    /// Refuses faults that cannot bite the meters they name.
    fn check_reach(&self, fleet: &Fleet, pf: &PlannedFault) -> Result<(), ScenarioError> {
        let f = &pf.fault;
        let wake = |m: &u32| fleet.is_wake_up(&fleet.meters[*m as usize]);
        let named = matches!(f.targets, Targets::Meters(_));
        let id = crate::meter::manifest::meter_id;
        match &f.kind {
            FaultKind::CredentialChange { .. } if named => {
                if let Some(m) = pf.meters.iter().find(|m| !wake(m)) {
                    return Err(self.error(f.line, "fault.meters", format!(
                        "{} is an always-on meter: its data session stays up, so a credential change never bites it; name a wake-up meter (profile wakeup, or pin it with fleet.pin.{} = \"wakeup\")",
                        id(*m), id(*m)
                    )));
                }
            }
            FaultKind::CredentialChange { .. } | FaultKind::RadiusDown
                if !pf.meters.iter().any(wake) =>
            {
                return Err(self.error(f.line, "fault.kind", format!(
                    "a {} fault bites only meters that set up a data session for each read, and none of its targets do; add wake-up meters (fleet.profiles.wakeup)",
                    f.kind.name()
                )));
            }
            FaultKind::StaleSession => {
                if let Some(m) = pf.meters.iter().find(|m| wake(m)) {
                    return Err(self.error(f.line, "fault.meters", format!(
                        "{} is a wake-up meter without a standing data session to go stale; aim stale-session at always-on meters (e.g. profile = \"basic\")",
                        id(*m)
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Refuses two outage-causing faults on one meter at once: the truth would be ambiguous.
    fn check_overlaps(&self, truth: &GroundTruth) -> Result<(), ScenarioError> {
        for pair in truth.outages.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.meter != b.meter || a.cured_by_reset {
                continue; // a cured fault ends when the head-end cures it
            }
            if a.end.is_none_or(|end| end > b.start) {
                let (fa, fb) = (&self.faults[a.fault], &self.faults[b.fault]);
                return Err(self.error(fb.line, "fault.at", format!(
                    "meter {} is already out from the {} fault of line {} at {}; faults on one meter must not overlap (move one, or aim it elsewhere)",
                    crate::meter::manifest::meter_id(a.meter),
                    fa.kind.name(),
                    fa.line,
                    self.clock.format(b.start)
                )));
            }
        }
        Ok(())
    }
}

/// The scenarios shipped in `scenarios/`, embedded so the binary runs anywhere.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "scenarios/seed-story.toml",
        include_str!("../../scenarios/seed-story.toml"),
    ),
    (
        "scenarios/unplanned-outage.toml",
        include_str!("../../scenarios/unplanned-outage.toml"),
    ),
    (
        "scenarios/sim-platform.toml",
        include_str!("../../scenarios/sim-platform.toml"),
    ),
    (
        "scenarios/keys-and-firmware.toml",
        include_str!("../../scenarios/keys-and-firmware.toml"),
    ),
    (
        "scenarios/radius.toml",
        include_str!("../../scenarios/radius.toml"),
    ),
    (
        "scenarios/lossy-links.toml",
        include_str!("../../scenarios/lossy-links.toml"),
    ),
    (
        "scenarios/power-cuts.toml",
        include_str!("../../scenarios/power-cuts.toml"),
    ),
    (
        "scenarios/forecast.toml",
        include_str!("../../scenarios/forecast.toml"),
    ),
];

/// A shipped scenario by name (`seed-story`).
pub fn shipped(name: &str) -> Option<Scenario> {
    SHIPPED
        .iter()
        .find(|(file, _)| file.ends_with(&format!("/{name}.toml")))
        .map(|(file, text)| Scenario::parse(file, text).expect("shipped scenarios are valid"))
}

#[cfg(test)]
mod tests;
