//! Reading a scenario file: TOML into checked values, every error naming the file, the line, the
//! key and what is allowed.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::clock::{parse_duration, ScenarioClock};
use super::fault::{Aim, Fault, FaultKind, Targets, KIND_NAMES};
use super::fleet::{FleetSpec, Spread};
use super::{LinkSpec, Scenario, ScenarioError};
use crate::headend::policy::Policy;
use crate::meter::profile::{self, Latency};
use crate::operator::calendar::Level;
use crate::time::Timestamp;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    scenario: RawHeader,
    fleet: RawFleet,
    #[serde(default)]
    policy: Option<Spanned<Policy>>,
    #[serde(default)]
    link: RawLink,
    #[serde(default, rename = "fault")]
    faults: Vec<Spanned<RawFault>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawHeader {
    name: String,
    #[serde(default)]
    description: String,
    start: Spanned<String>,
    span: Spanned<String>,
    #[serde(default = "one")]
    seed: u64,
    #[serde(default)]
    utc_offset_minutes: Option<Spanned<i32>>,
}

fn one() -> u64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFleet {
    meters: Spanned<u32>,
    cells: Spanned<u32>,
    #[serde(default)]
    spread: Option<Spanned<String>>,
    #[serde(default)]
    profiles: Option<Spanned<BTreeMap<String, f64>>>,
    #[serde(default)]
    pin: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLink {
    #[serde(default)]
    latency_ms: Option<Spanned<RawLatency>>,
    #[serde(default)]
    loss: Option<Spanned<f64>>,
    #[serde(default)]
    resets: Option<Spanned<f64>>,
    #[serde(default)]
    api_latency_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    min: u64,
    mode: u64,
    max: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFault {
    kind: Spanned<String>,
    at: Spanned<String>,
    #[serde(default)]
    until: Option<Spanned<String>>,
    #[serde(default)]
    meters: Option<Vec<String>>,
    #[serde(default)]
    cells: Option<Vec<String>>,
    #[serde(default)]
    fraction: Option<Spanned<f64>>,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    reverted_by: Option<String>,
    #[serde(default)]
    notice: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    forecast_at: Option<Spanned<String>>,
    #[serde(default)]
    level: Option<Spanned<String>>,
    #[serde(default)]
    loss: Option<Spanned<f64>>,
    #[serde(default)]
    resets: Option<Spanned<f64>>,
    #[serde(default)]
    extra_latency: Option<Spanned<String>>,
}

/// Builds errors that point into one file.
struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|&b| b == b'\n').count() + 1
    }

    fn error(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: Some(self.line(span)),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn at_line(&self, line: usize, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: Some(line),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Parses and checks a scenario; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let src = Source { file, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| src.line(s));
        ScenarioError {
            file: file.to_string(),
            line,
            key: key_of(e.message()),
            message: e.message().trim_end().to_string(),
        }
    })?;
    let clock = clock(&src, &raw.scenario)?;
    let span = parse_duration(raw.scenario.span.get_ref())
        .map_err(|m| src.error(raw.scenario.span.span(), "scenario.span", m))?;
    if span < Duration::from_secs(3600) || span > Duration::from_secs(31 * 86_400) {
        return Err(src.error(
            raw.scenario.span.span(),
            "scenario.span",
            "must be from 1h to 31d",
        ));
    }
    let policy = match &raw.policy {
        None => Policy {
            utc_offset_minutes: clock.utc_offset_minutes,
            ..Policy::default()
        },
        Some(p) => {
            let mut policy = p.get_ref().clone();
            policy
                .check()
                .map_err(|(key, fix)| src.error(p.span(), &format!("policy.{key}"), fix))?;
            // The outage log speaks the scenario's clock unless the policy says otherwise.
            if policy.utc_offset_minutes == 0 {
                policy.utc_offset_minutes = clock.utc_offset_minutes;
            }
            policy
        }
    };
    let mut fleet = fleet(&src, &raw.fleet)?;
    // The simulated meters capture at the head-end's cycle.
    for (profile, _) in &mut fleet.profiles {
        profile.capture_period_s = policy.cycle_secs as u32;
    }
    let link = link(&src, &raw.link)?;
    let mut faults = Vec::new();
    for f in &raw.faults {
        faults.push(fault(&src, &clock, f)?);
    }
    let scenario = Scenario {
        file: file.to_string(),
        name: raw.scenario.name.clone(),
        description: raw.scenario.description.trim().to_string(),
        clock,
        span,
        seed: raw.scenario.seed,
        fleet,
        policy,
        link,
        faults,
    };
    for f in &scenario.faults {
        if f.at >= scenario.end() {
            return Err(src.at_line(
                f.line,
                "fault.at",
                format!(
                    "{} is after the end of the run ({}); faults must start inside the span",
                    clock.format(f.at),
                    clock.format(scenario.end())
                ),
            ));
        }
    }
    // Resolve once with the file's seed, so target errors show up when the file is read.
    scenario.plan(scenario.seed)?;
    Ok(scenario)
}

/// The key a serde message names, if any (`unknown field `foo``, `missing field `bar``).
fn key_of(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("field"))
        .unwrap_or("")
        .to_string()
}

fn clock(src: &Source, h: &RawHeader) -> Result<ScenarioClock, ScenarioError> {
    let text = h.start.get_ref();
    let start = Timestamp::parse_rfc3339(text).ok_or_else(|| {
        src.error(
            h.start.span(),
            "scenario.start",
            format!("`{text}` is not an RFC 3339 date-time with its offset, e.g. \"2026-11-26T00:00:00+01:00\""),
        )
    })?;
    let from_text = text
        .get(19..)
        .map(|rest| rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()))
        .and_then(|z| match z {
            "Z" | "z" => Some(0),
            _ => {
                let sign = if z.starts_with('-') { -1 } else { 1 };
                let h: i32 = z.get(1..3)?.parse().ok()?;
                let m: i32 = z.get(4..6)?.parse().ok()?;
                Some(sign * (h * 60 + m))
            }
        })
        .unwrap_or(0);
    let utc_offset_minutes = match &h.utc_offset_minutes {
        None => from_text,
        Some(o) if (-720..=840).contains(o.get_ref()) => *o.get_ref(),
        Some(o) => {
            return Err(src.error(
                o.span(),
                "scenario.utc-offset-minutes",
                "must be from -720 to 840",
            ))
        }
    };
    Ok(ScenarioClock {
        start,
        utc_offset_minutes,
    })
}

fn fleet(src: &Source, f: &RawFleet) -> Result<FleetSpec, ScenarioError> {
    let meters = *f.meters.get_ref();
    if !(1..=1_000_000).contains(&meters) {
        return Err(src.error(f.meters.span(), "fleet.meters", "must be from 1 to 1000000"));
    }
    let cells = *f.cells.get_ref();
    if cells == 0 || cells > meters || cells > 9_999 {
        return Err(src.error(
            f.cells.span(),
            "fleet.cells",
            format!("must be from 1 to the number of meters ({meters}) and at most 9999"),
        ));
    }
    let spread = match &f.spread {
        None => Spread::RoundRobin,
        Some(s) => Spread::parse(s.get_ref()).ok_or_else(|| {
            src.error(
                s.span(),
                "fleet.spread",
                format!(
                    "`{}` is not allowed; use one of: {}",
                    s.get_ref(),
                    Spread::NAMES.join(", ")
                ),
            )
        })?,
    };
    let shipped_names = "basic, secure, wakeup";
    let mut profiles = Vec::new();
    match &f.profiles {
        None => profiles.push((profile::shipped("basic").expect("shipped"), 1.0)),
        Some(p) => {
            for (name, share) in p.get_ref() {
                let profile = profile::shipped(name).ok_or_else(|| {
                    src.error(
                        p.span(),
                        &format!("fleet.profiles.{name}"),
                        format!("no shipped profile `{name}`; use: {shipped_names}"),
                    )
                })?;
                if !(share.is_finite() && *share >= 0.0) {
                    return Err(src.error(
                        p.span(),
                        &format!("fleet.profiles.{name}"),
                        "a share must be a number >= 0, e.g. 0.1",
                    ));
                }
                profiles.push((profile, *share));
            }
            if profiles.iter().map(|(_, s)| s).sum::<f64>() <= 0.0 {
                return Err(src.error(
                    p.span(),
                    "fleet.profiles",
                    "the shares must add up to more than 0",
                ));
            }
        }
    }
    let mut pins = Vec::new();
    for (id, name) in &f.pin {
        let index = crate::meter::manifest::meter_index(id)
            .filter(|&i| i < meters)
            .ok_or_else(|| {
                src.error(
                    name.span(),
                    &format!("fleet.pin.{id}"),
                    format!("no meter `{id}`; ids run from m000001 to m{meters:06}"),
                )
            })?;
        let p = profiles
            .iter()
            .position(|(p, _)| &p.name == name.get_ref())
            .ok_or_else(|| {
                src.error(
                    name.span(),
                    &format!("fleet.pin.{id}"),
                    format!(
                        "profile `{}` is not in fleet.profiles; add it there (a share of 0 is fine)",
                        name.get_ref()
                    ),
                )
            })?;
        pins.push((index, p));
    }
    Ok(FleetSpec {
        meters,
        cells,
        spread,
        profiles,
        pins,
    })
}

fn link(src: &Source, l: &RawLink) -> Result<LinkSpec, ScenarioError> {
    let mut spec = LinkSpec::default();
    if let Some(lat) = &l.latency_ms {
        let v = lat.get_ref();
        if !(v.min <= v.mode && v.mode <= v.max && v.max <= 60_000) {
            return Err(src.error(
                lat.span(),
                "link.latency-ms",
                "needs min <= mode <= max <= 60000 (milliseconds)",
            ));
        }
        spec.latency = Latency {
            min: Duration::from_millis(v.min),
            mode: Duration::from_millis(v.mode),
            max: Duration::from_millis(v.max),
        };
    }
    spec.loss = probability(src, &l.loss, "link.loss")?.unwrap_or(0.0);
    spec.resets = probability(src, &l.resets, "link.resets")?.unwrap_or(0.0);
    if let Some(ms) = l.api_latency_ms {
        spec.api_latency = Duration::from_millis(ms.min(60_000));
    }
    Ok(spec)
}

fn probability(
    src: &Source,
    v: &Option<Spanned<f64>>,
    key: &str,
) -> Result<Option<f64>, ScenarioError> {
    match v {
        None => Ok(None),
        Some(p) if (0.0..=0.9).contains(p.get_ref()) => Ok(Some(*p.get_ref())),
        Some(p) => Err(src.error(
            p.span(),
            key,
            "must be a probability from 0.0 to 0.9 (per frame or per connection)",
        )),
    }
}

/// The keys each kind takes beyond kind, at and the targets.
fn extra_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "credential-change" => &["until", "by", "reverted-by"],
        "planned-maintenance" => &["until", "notice", "description"],
        "cell-outage" | "power-loss" | "sim-deactivated" | "data-barred" => &["until"],
        "dlms-key-mismatch" | "firmware-hang" | "radius-down" => &["until"],
        "degradation" => &["until", "forecast-at", "level"],
        "lossy-link" => &["until", "loss", "resets", "extra-latency"],
        _ => &[],
    }
}

fn fault(
    src: &Source,
    clock: &ScenarioClock,
    spanned: &Spanned<RawFault>,
) -> Result<Fault, ScenarioError> {
    let f = spanned.get_ref();
    let line = src.line(spanned.span());
    let kind = f.kind.get_ref().as_str();
    if !KIND_NAMES.contains(&kind) {
        return Err(src.error(
            f.kind.span(),
            "fault.kind",
            format!(
                "`{kind}` is not a fault kind; use one of: {}",
                KIND_NAMES.join(", ")
            ),
        ));
    }
    let given: Vec<(&str, bool)> = vec![
        ("until", f.until.is_some()),
        ("by", f.by.is_some()),
        ("reverted-by", f.reverted_by.is_some()),
        ("notice", f.notice.is_some()),
        ("description", f.description.is_some()),
        ("forecast-at", f.forecast_at.is_some()),
        ("level", f.level.is_some()),
        ("loss", f.loss.is_some()),
        ("resets", f.resets.is_some()),
        ("extra-latency", f.extra_latency.is_some()),
    ];
    let allowed = extra_keys(kind);
    for (key, present) in given {
        if present && !allowed.contains(&key) {
            let takes = if allowed.is_empty() {
                "none (a reset or a power cycle cures it, so it has no `until`)".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(src.at_line(
                line,
                &format!("fault.{key}"),
                format!("a {kind} fault does not take `{key}`; besides kind, at and its targets it takes: {takes}"),
            ));
        }
    }
    let time = |s: &Spanned<String>, key: &str| {
        clock
            .parse_time(s.get_ref())
            .map_err(|m| src.error(s.span(), key, m))
    };
    let at = time(&f.at, "fault.at")?;
    let until = match &f.until {
        None => None,
        Some(u) => {
            let t = time(u, "fault.until")?;
            if t <= at {
                return Err(src.error(u.span(), "fault.until", "must be after `at`"));
            }
            Some(t)
        }
    };
    let needs_until = matches!(kind, "planned-maintenance" | "degradation");
    if needs_until && until.is_none() {
        return Err(src.at_line(
            line,
            "fault.until",
            format!("a {kind} fault needs `until`, the end of its window"),
        ));
    }
    let targets = targets(src, line, kind, f)?;
    let fault_kind = match kind {
        "credential-change" => {
            let by = f.by.clone().unwrap_or_else(|| "an administrator".into());
            FaultKind::CredentialChange {
                reverted_by: f.reverted_by.clone().unwrap_or_else(|| by.clone()),
                by,
            }
        }
        "planned-maintenance" => FaultKind::PlannedMaintenance {
            notice: match &f.notice {
                None => Duration::from_secs(86_400),
                Some(n) => parse_duration(n.get_ref())
                    .map_err(|m| src.error(n.span(), "fault.notice", m))?,
            },
            description: f.description.clone().unwrap_or_default(),
        },
        "cell-outage" => FaultKind::CellOutage,
        "no-data-session" => FaultKind::NoDataSession,
        "stale-session" => FaultKind::StaleSession,
        "power-loss" => FaultKind::PowerLoss,
        "sim-deactivated" => FaultKind::SimDeactivated,
        "data-barred" => FaultKind::DataBarred,
        "degradation" => FaultKind::Degradation {
            forecast_at: match &f.forecast_at {
                None => at - Duration::from_secs(6 * 3600),
                Some(t) => {
                    let t = time(t, "fault.forecast-at")?;
                    if t > at {
                        return Err(src.at_line(
                            line,
                            "fault.forecast-at",
                            "a forecast is published before the degradation it forecasts",
                        ));
                    }
                    t
                }
            },
            level: match f.level.as_ref().map(|l| l.get_ref().as_str()) {
                None | Some("NC") => Level::No,
                Some("MC") => Level::Marginal,
                Some(other) => {
                    return Err(src.error(
                        f.level.as_ref().expect("some").span(),
                        "fault.level",
                        format!("`{other}` is not allowed; use \"NC\" (no connectivity) or \"MC\" (marginal)"),
                    ))
                }
            },
        },
        "dlms-key-mismatch" => FaultKind::DlmsKeyMismatch,
        "lossy-link" => FaultKind::LossyLink {
            loss: probability(src, &f.loss, "fault.loss")?.unwrap_or(0.0),
            resets: probability(src, &f.resets, "fault.resets")?.unwrap_or(0.0),
            extra_latency: match &f.extra_latency {
                None => Duration::ZERO,
                Some(d) => parse_duration(d.get_ref())
                    .map_err(|m| src.error(d.span(), "fault.extra-latency", m))?,
            },
        },
        "firmware-hang" => FaultKind::FirmwareHang,
        "radius-down" => FaultKind::RadiusDown,
        other => unreachable!("`{other}` passed the kind check but has no fault"),
    };
    Ok(Fault {
        kind: fault_kind,
        at,
        until,
        targets,
        line,
    })
}

fn targets(src: &Source, line: usize, kind: &str, f: &RawFault) -> Result<Targets, ScenarioError> {
    let given = [
        f.meters.is_some(),
        f.cells.is_some(),
        f.fraction.is_some(),
        f.count.is_some(),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    let aim = FaultKind::aim(kind);
    let what = match aim {
        Aim::Meters => "one of `meters`, `cells`, `fraction` or `count`",
        Aim::Cells => "one of `cells` or `count`",
        Aim::Nothing => "no targets (it hits the whole fleet)",
    };
    let wrong = |key: &str| {
        src.at_line(
            line,
            &format!("fault.{key}"),
            format!("a {kind} fault takes {what}"),
        )
    };
    if aim == Aim::Nothing {
        if given > 0 || f.profile.is_some() {
            return Err(wrong("targets"));
        }
        return Ok(Targets::Fleet);
    }
    if given != 1 {
        return Err(wrong("targets"));
    }
    if f.profile.is_some() && f.fraction.is_none() && (f.count.is_none() || aim == Aim::Cells) {
        return Err(src.at_line(
            line,
            "fault.profile",
            "`profile` narrows a `fraction` or `count` of meters to one profile",
        ));
    }
    if let Some(m) = &f.meters {
        if aim == Aim::Cells {
            return Err(wrong("meters"));
        }
        if m.is_empty() {
            return Err(wrong("meters"));
        }
        return Ok(Targets::Meters(m.clone()));
    }
    if let Some(c) = &f.cells {
        if c.is_empty() {
            return Err(wrong("cells"));
        }
        return Ok(Targets::Cells(c.clone()));
    }
    if let Some(share) = &f.fraction {
        if aim == Aim::Cells {
            return Err(wrong("fraction"));
        }
        if !(*share.get_ref() > 0.0 && *share.get_ref() <= 1.0) {
            return Err(src.error(
                share.span(),
                "fault.fraction",
                "must be a share of the fleet above 0.0 and at most 1.0, e.g. 0.01",
            ));
        }
        return Ok(Targets::Fraction {
            share: *share.get_ref(),
            profile: f.profile.clone(),
        });
    }
    let n = f.count.expect("one target key is given");
    if n == 0 {
        return Err(src.at_line(line, "fault.count", "must be at least 1"));
    }
    Ok(Targets::Count {
        n,
        profile: f.profile.clone(),
    })
}
