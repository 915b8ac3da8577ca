//! From the operator's records about one silent meter to the head-end's evidence: the facts the
//! diagnosis reads, and every record relied on, in words, for the outage log. Pure.
//!
//! Every operator adapter (HTTP, in-process, later CAMARA or a SIM platform) fills the same plain
//! [`OperatorRecords`] and calls [`assemble`], so reading the records is written and tested once.
//! How each record becomes evidence:
//!
//! | record | evidence |
//! |---|---|
//! | SIM status, barring, data allowance | `sim_active`, `data_barred` |
//! | session state | `DETACHED` → detached; registered or setting up → no data session; up with no traffic for [`EvidenceParams::stale_after`] → stale |
//! | AAA verdicts | the latest (accept, reject, timeout); "since" is the first of its run, or the earlier escalation's first reject when the run reaches back past the records kept |
//! | credential logbook | the last change of the rejected user at or before the first reject |
//! | maintenance windows | one covering now on the meter's cell gives `maintenance_until` |
//! | cell serving | not serving and no maintenance: `cell_outage` (the head-end clears it when it was told of a degradation before it began: a forecast come true) |
//! | forecasts (MC, NC) | the worst covering now, with the slots of its level after it, when no maintenance explains it: `degradation_forecast` (a marginal one not for a detached modem: it fails set-ups, it does not detach) |
//! | last network activity | older than [`EvidenceParams::check_in`]: `beyond_check_in` |
//! | set-up KPI | an evidence line only |
//!
//! Where a SIM or AAA record is missing, the session's last set-up failure stands in for it
//! (`SIM_INACTIVE`, `DATA_SERVICE_BARRED`, `QUOTA_EXHAUSTED`, `AAA_REJECT`, `AAA_UNREACHABLE`).

use std::time::Duration;

use super::diagnosis::{
    AaaVerdict, CredentialChange, DlmsAttempt, Evidence, ForecastDegradation, SessionState,
};
use super::fleet::MeterRef;
use super::operator_adapter::{CellOutlook, Gathered, OutlookKind};
use super::outage::EvidenceItem;
use crate::civil::civil_from_days;
use crate::time::Timestamp;

mod records;
pub use records::{
    AaaKind, AaaRecord, CellRecord, CredentialChangeRecord, ForecastLevel, ForecastRecord,
    KpiRecord, LogbookFn, OperatorRecords, Reach, ReachabilityRecord, SessionPhase, SessionRecord,
    SimRecord, WindowRecord,
};

/// How the records are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceParams {
    /// The clock of the sentences, minutes east of UTC (the head-end policy's `utc-offset-minutes`).
    pub utc_offset_minutes: i32,
    /// A meter the network has not heard from for longer than this is beyond its check-in.
    /// Default 24 h: a modem re-registers or sets up a session at least daily (periodic TAU).
    pub check_in: Duration,
    /// A session up that passed no traffic for this long is stale. Default 30 min: two read
    /// cycles with nothing through the session.
    pub stale_after: Duration,
    /// How far back the session set-up KPI looks. Default 2 h.
    pub kpi_window: Duration,
}

impl Default for EvidenceParams {
    fn default() -> Self {
        EvidenceParams {
            utc_offset_minutes: 0,
            check_in: Duration::from_secs(24 * 3600),
            stale_after: Duration::from_secs(30 * 60),
            kpi_window: Duration::from_secs(2 * 3600),
        }
    }
}

/// Turns the records about `meter` into evidence and evidence lines, as of `now`.
/// `earlier_reject` is the first refusal an earlier escalation of the same outage saw: the
/// head-end's memory, since the operator keeps only a SIM's latest records.
pub fn assemble(
    meter: &MeterRef,
    r: &OperatorRecords,
    earlier_reject: Option<&AaaRecord>,
    now: Timestamp,
    p: &EvidenceParams,
) -> Gathered {
    let mut a = Assembly {
        now,
        p,
        evidence: Evidence::default(),
        items: Vec::new(),
        first_reject: None,
    };
    let cell = r.sim.as_ref().map_or(meter.cell.as_str(), |s| &s.cell);
    a.sim(r.sim.as_ref(), r.session.as_ref());
    a.session(r.session.as_ref(), r.reachability.as_ref());
    if let Some(first) = a.aaa(&r.aaa, earlier_reject, r.session.as_ref()) {
        a.logbook(&r.logbook, &first);
    }
    let maintenance = a.maintenance(cell, &r.maintenance);
    a.cell(r.cell.as_ref(), maintenance);
    a.forecasts(cell, &r.forecasts, maintenance);
    a.reachability(r.reachability.as_ref());
    a.kpi(r.kpi.as_ref());
    a.items.sort_by_key(|i| i.at);
    Gathered {
        evidence: a.evidence,
        items: a.items,
        first_reject: a.first_reject,
    }
}

/// The first refusal a stored outage's evidence names, to carry into its next escalation after
/// a restart. The record's user is not stored: the run the operator still keeps supplies it.
pub fn first_reject_in(items: &[EvidenceItem]) -> Option<AaaRecord> {
    let first = items
        .iter()
        .filter(|i| i.source == AAA_SOURCE)
        .min_by_key(|i| i.at)?;
    Some(AaaRecord {
        at: first.at,
        kind: AaaKind::AccessReject,
        user: String::new(),
        line: first.line.clone(),
    })
}

/// The source of the evidence items read from AAA records.
const AAA_SOURCE: &str = "aaa-records";

/// Adds the head-end's own DLMS result. An attempt that reached the meter's application
/// (refused keys, silence after connecting, a success) proves traffic passes, so a session the
/// operator's records made look stale is up.
pub fn apply_dlms(evidence: &mut Evidence, attempt: DlmsAttempt) {
    evidence.dlms = Some(attempt);
    if attempt != DlmsAttempt::Unreachable && evidence.session == Some(SessionState::Stale) {
        evidence.session = Some(SessionState::Up);
    }
}

/// The announced maintenance and the degradations not explained by it, per cell, in time order.
/// `forecasts` pairs each record with its cell; a no-connectivity slot that overlaps a
/// maintenance window of its cell is that maintenance (PCD reports maintenance as `NC`).
pub fn assemble_outlook(
    windows: &[WindowRecord],
    forecasts: &[(String, ForecastRecord)],
    from: Timestamp,
    until: Timestamp,
) -> Vec<CellOutlook> {
    let overlaps = |a0: Timestamp, a1: Timestamp| a0 < until && from < a1;
    let mut out = Vec::new();
    for w in windows.iter().filter(|w| overlaps(w.from, w.until)) {
        for cell in &w.cells {
            out.push(CellOutlook {
                cell: cell.clone(),
                from: w.from,
                until: w.until,
                kind: OutlookKind::Maintenance,
            });
        }
    }
    let mut cells: Vec<&String> = forecasts.iter().map(|(c, _)| c).collect();
    cells.sort();
    cells.dedup();
    for cell in cells {
        let own: Vec<ForecastRecord> = forecasts
            .iter()
            .filter(|(c, f)| {
                c == cell
                    && !(f.level == ForecastLevel::None
                        && windows.iter().any(|w| {
                            w.cells.contains(cell) && w.from < f.until && f.from < w.until
                        }))
            })
            .map(|(_, f)| f.clone())
            .collect();
        for f in merge_forecasts(&own) {
            if overlaps(f.from, f.until) {
                out.push(CellOutlook {
                    cell: cell.clone(),
                    from: f.from,
                    until: f.until,
                    kind: OutlookKind::Degradation,
                });
            }
        }
    }
    out.sort_by(|a, b| (a.from, &a.cell).cmp(&(b.from, &b.cell)));
    out
}

/// Joins overlapping or touching forecasts into spans; a span's level is its worst.
pub fn merge_forecasts(forecasts: &[ForecastRecord]) -> Vec<ForecastRecord> {
    let mut sorted = forecasts.to_vec();
    sorted.sort_by_key(|f| f.from);
    let mut out: Vec<ForecastRecord> = Vec::new();
    for f in sorted {
        match out.last_mut() {
            Some(last) if f.from <= last.until => {
                last.until = last.until.max(f.until);
                if f.level == ForecastLevel::None {
                    last.level = ForecastLevel::None;
                }
            }
            _ => out.push(f),
        }
    }
    out
}

/// A time as the administrator reads it: `HH:MM` on the display clock, with the date when it is
/// not the day of `now` (`06:00 on 2026-11-27`).
pub fn display_time(t: Timestamp, now: Timestamp, utc_offset_minutes: i32) -> String {
    let local_minutes =
        |t: Timestamp| (t.as_millis() / 60_000) as i64 + i64::from(utc_offset_minutes);
    let m = local_minutes(t);
    let (day, minute) = (m.div_euclid(1440), m.rem_euclid(1440));
    let hhmm = format!("{:02}:{:02}", minute / 60, minute % 60);
    if day == local_minutes(now).div_euclid(1440) {
        hhmm
    } else {
        let (y, mo, d) = civil_from_days(day);
        format!("{hhmm} on {y:04}-{mo:02}-{d:02}")
    }
}

/// What a set-up failure code means for the reader.
fn explain_failure(code: &str) -> String {
    match code {
        "DATA_SERVICE_BARRED" => "the data service of this SIM is barred".into(),
        "QUOTA_EXHAUSTED" => "the SIM has used up its data allowance".into(),
        "SIM_INACTIVE" => "the SIM is not active".into(),
        "RADIO_FAILURE" => "the radio link failed while setting up the session".into(),
        "AAA_REJECT" => "the utility's RADIUS server refused the SIM's credentials".into(),
        "AAA_UNREACHABLE" => "the utility's RADIUS server did not answer".into(),
        other => format!("the operator reports {other}"),
    }
}

/// What a terminate cause means for the reader.
fn explain_terminate(code: &str) -> String {
    match code {
        "USER_REQUEST" => "the device closed it".into(),
        "LOST_CARRIER" => "the device vanished from the network".into(),
        "LOST_SERVICE" => "its radio cell stopped serving".into(),
        "IDLE_TIMEOUT" => "it carried no traffic for too long".into(),
        "ADMIN_RESET" => "the operator reset the connection".into(),
        "NAS_ERROR" => "the network's gateway dropped it after an internal fault".into(),
        "SERVICE_UNAVAILABLE" => "the data service was withdrawn".into(),
        other => format!("the operator reports {other}"),
    }
}

/// What a detach reason means for the reader.
fn explain_detach(code: &str) -> String {
    match code {
        "NOT_HEARD" => {
            "it vanished without signing off (power loss or a radio fault look like this)".into()
        }
        "NO_COVERAGE" => "its radio cell is not serving".into(),
        "CANCEL_LOCATION" => "the operator cancelled its registration".into(),
        "SIM_INACTIVE" => "its SIM is not active".into(),
        other => format!("the operator reports {other}"),
    }
}

/// Whole hours or minutes, for lines.
fn span(d: Duration) -> String {
    let mins = d.as_secs() / 60;
    if mins >= 60 && mins % 60 == 0 {
        format!("{} h", mins / 60)
    } else if mins > 0 {
        format!("{mins} min")
    } else {
        format!("{} s", d.as_secs())
    }
}

/// The assembly in progress.
struct Assembly<'a> {
    now: Timestamp,
    p: &'a EvidenceParams,
    evidence: Evidence,
    items: Vec<EvidenceItem>,
    /// The AAA record that starts the current run of refusals.
    first_reject: Option<AaaRecord>,
}

/// The first reject of the current run: when, and which RADIUS user.
struct FirstReject {
    at: Timestamp,
    user: String,
}

impl Assembly<'_> {
    fn hhmm(&self, t: Timestamp) -> String {
        display_time(t, self.now, self.p.utc_offset_minutes)
    }

    fn item(&mut self, source: &str, at: Timestamp, line: String) {
        self.items.push(EvidenceItem {
            source: source.into(),
            at,
            line,
        });
    }

    /// The last set-up failure, while the session is not up.
    fn failure_while_down(session: Option<&SessionRecord>) -> Option<&(String, Timestamp)> {
        session
            .filter(|s| s.phase != SessionPhase::SessionUp)
            .and_then(|s| s.last_setup_failure.as_ref())
    }

    fn sim(&mut self, sim: Option<&SimRecord>, session: Option<&SessionRecord>) {
        let Some(sim) = sim else {
            match Self::failure_while_down(session).map(|(c, _)| c.as_str()) {
                Some("SIM_INACTIVE") => self.evidence.sim_active = Some(false),
                Some("DATA_SERVICE_BARRED" | "QUOTA_EXHAUSTED") => self.evidence.data_barred = true,
                _ => {}
            }
            return;
        };
        self.evidence.sim_active = Some(sim.active());
        self.evidence.data_barred = sim.data_barred || sim.quota_exhausted;
        let status = if sim.active() {
            format!("The SIM is {} at the operator", sim.status)
        } else {
            format!(
                "The SIM is {} at the operator, so the network refuses it",
                sim.status
            )
        };
        let data = match (sim.data_barred, sim.quota_exhausted) {
            (true, _) => "; its data service is barred.",
            (false, true) => "; it has used up its data allowance, so data is blocked.",
            (false, false) => "; its data service is not barred.",
        };
        self.item("sim", self.now, format!("{status}{data}"));
    }

    fn session(&mut self, session: Option<&SessionRecord>, reach: Option<&ReachabilityRecord>) {
        let Some(s) = session else { return };
        let since = self.hhmm(s.since);
        let (state, mut line) = match &s.phase {
            SessionPhase::Detached => {
                let why = reach
                    .and_then(|r| r.detach_reason.as_deref())
                    .map(|c| format!(": {}", explain_detach(c)))
                    .unwrap_or_default();
                (
                    Some(SessionState::Detached),
                    format!("The meter's modem has been off the mobile network since {since}{why}."),
                )
            }
            SessionPhase::Registered | SessionPhase::SessionRequested | SessionPhase::Authenticating => (
                Some(SessionState::RegisteredNoSession),
                format!("The meter's modem is on the mobile network (reachable by SMS) but has had no data connection since {since}."),
            ),
            SessionPhase::SessionUp => {
                let started = s.started.unwrap_or(s.since);
                let quiet_since = s.last_traffic.unwrap_or(started);
                let up = format!("The meter's data connection has been up since {}", self.hhmm(started));
                if self.now.since(quiet_since) >= self.p.stale_after {
                    let traffic = match s.last_traffic {
                        Some(t) => format!("passed no traffic since {}", self.hhmm(t)),
                        None => "passed no traffic at all".into(),
                    };
                    (Some(SessionState::Stale), format!("{up} but has {traffic}."))
                } else {
                    let traffic = match s.last_traffic {
                        Some(t) => format!("; the last traffic passed at {}.", self.hhmm(t)),
                        None => ".".into(),
                    };
                    (Some(SessionState::Up), format!("{up}{traffic}"))
                }
            }
            SessionPhase::Other(name) => (None, format!("The operator reports the meter's modem as {name} since {since}.")),
        };
        if s.phase != SessionPhase::SessionUp {
            if let Some((code, at)) = &s.last_setup_failure {
                let times = match s.consecutive_failures {
                    0 | 1 => String::new(),
                    n => format!(" ({n} failures in a row)"),
                };
                line += &format!(
                    " The last attempt to set one up failed at {}: {}{times}.",
                    self.hhmm(*at),
                    explain_failure(code)
                );
            }
            if let Some((code, at)) = &s.last_terminate {
                line += &format!(
                    " Its last data connection ended at {}: {}.",
                    self.hhmm(*at),
                    explain_terminate(code)
                );
            }
        }
        self.evidence.session = state;
        self.item("session-status", s.since, line);
    }

    /// Sets the AAA verdict; returns the first reject of the current run of rejects. A run of
    /// refusals that reaches back past the records kept starts at `earlier`, when given.
    fn aaa(
        &mut self,
        records: &[AaaRecord],
        earlier: Option<&AaaRecord>,
        session: Option<&SessionRecord>,
    ) -> Option<FirstReject> {
        let mut verdicts: Vec<(&AaaRecord, AaaVerdict)> = records
            .iter()
            .filter_map(|r| r.kind.verdict().map(|v| (r, v)))
            .collect();
        verdicts.sort_by_key(|(r, _)| r.at);
        let Some((last, verdict)) = verdicts.last().cloned() else {
            return self.aaa_from_session(session);
        };
        let run = verdicts
            .iter()
            .rev()
            .take_while(|(_, v)| *v == verdict)
            .count();
        let (run_first, _) = verdicts[verdicts.len() - run];
        let before_run = verdicts
            .len()
            .checked_sub(run + 1)
            .map(|i| verdicts[i].0.at);
        let carried = earlier.filter(|e| {
            verdict == AaaVerdict::Rejected
                && e.at < run_first.at
                && before_run.is_none_or(|t| t < e.at)
        });
        let first = match carried {
            // The device presents one user name throughout a run.
            Some(e) if e.user.is_empty() => AaaRecord {
                user: run_first.user.clone(),
                ..e.clone()
            },
            Some(e) => e.clone(),
            None => run_first.clone(),
        };
        let at = if verdict == AaaVerdict::Accepted {
            last.at
        } else {
            first.at
        };
        self.evidence.aaa = Some((verdict.clone(), self.hhmm(at)));
        if verdict == AaaVerdict::Accepted {
            self.item(AAA_SOURCE, last.at, last.line.clone());
            return None;
        }
        self.item(AAA_SOURCE, first.at, first.line.clone());
        if run > 1 || carried.is_some() {
            let what = if verdict == AaaVerdict::Rejected {
                "refusals"
            } else {
                "unanswered requests"
            };
            let count = match carried {
                Some(_) => format!(
                    "Refusals in a row since {} (the operator still keeps the latest {run})",
                    self.hhmm(first.at)
                ),
                None => format!("{run} {what} in a row since {}", self.hhmm(first.at)),
            };
            self.item(
                AAA_SOURCE,
                last.at,
                format!("{count}; the latest: {}", last.line),
            );
        }
        if verdict != AaaVerdict::Rejected {
            return None;
        }
        let reject = FirstReject {
            at: first.at,
            user: first.user.clone(),
        };
        self.first_reject = Some(first);
        Some(reject)
    }

    /// Without AAA records: the session's last set-up failure, if RADIUS caused it.
    fn aaa_from_session(&mut self, session: Option<&SessionRecord>) -> Option<FirstReject> {
        let (code, at) = Self::failure_while_down(session)?;
        let verdict = match code.as_str() {
            "AAA_REJECT" => AaaVerdict::Rejected,
            "AAA_UNREACHABLE" => AaaVerdict::TimedOut,
            _ => return None,
        };
        self.evidence.aaa = Some((verdict.clone(), self.hhmm(*at)));
        (verdict == AaaVerdict::Rejected).then(|| FirstReject {
            at: *at,
            user: String::new(),
        })
    }

    fn logbook(&mut self, logbook: &[CredentialChangeRecord], reject: &FirstReject) {
        let last = logbook
            .iter()
            .filter(|c| c.at <= reject.at && (reject.user.is_empty() || c.user == reject.user))
            .max_by_key(|c| c.at);
        let Some(change) = last else { return };
        let at = self.hhmm(change.at);
        self.evidence.credential_change = Some(CredentialChange {
            at: at.clone(),
            by: change.by.clone(),
        });
        let line = format!(
            "The utility's logbook: {} changed the RADIUS password of user `{}` at {at}, before the first refusal at {}.",
            change.by,
            change.user,
            self.hhmm(reject.at)
        );
        self.item("logbook", change.at, line);
    }

    /// Records the windows covering now on `cell`; returns whether any does.
    fn maintenance(&mut self, cell: &str, windows: &[WindowRecord]) -> bool {
        let covering: Vec<&WindowRecord> = windows
            .iter()
            .filter(|w| {
                w.cells.iter().any(|c| c == cell) && w.from <= self.now && self.now < w.until
            })
            .collect();
        for w in &covering {
            let line = format!(
                "The operator announced planned maintenance {} on cell {cell} from {} to {}: {}.",
                w.id,
                self.hhmm(w.from),
                self.hhmm(w.until),
                w.description.trim_end_matches('.')
            );
            self.item("maintenance", w.from, line);
        }
        if let Some(until) = covering.iter().map(|w| w.until).max() {
            self.evidence.maintenance_until = Some(self.hhmm(until));
        }
        !covering.is_empty()
    }

    fn cell(&mut self, cell: Option<&CellRecord>, maintenance: bool) {
        let Some(c) = cell.filter(|c| !c.serving && !maintenance) else {
            return;
        };
        self.evidence.cell_outage = true;
        let line = format!(
            "Cell {} is not serving now and no maintenance is announced for it: an unplanned outage.",
            c.id
        );
        self.item("cell", self.now, line);
    }

    fn forecasts(&mut self, cell: &str, forecasts: &[ForecastRecord], maintenance: bool) {
        if maintenance {
            return; // the maintenance is what the forecast shows
        }
        let now = self.now;
        let covering = |f: &ForecastRecord| f.from <= now && now < f.until;
        // The worst level forecast for now, over the run of its slots ahead.
        let Some(level) = forecasts
            .iter()
            .filter(|f| covering(f))
            .map(|f| f.level)
            .max_by_key(|l| *l == ForecastLevel::None)
        else {
            return;
        };
        let same: Vec<ForecastRecord> = forecasts
            .iter()
            .filter(|f| f.level == level)
            .cloned()
            .collect();
        if let Some(f) = merge_forecasts(&same).into_iter().find(covering) {
            // Marginal coverage fails session set-ups now and then; it does not detach a modem.
            let detached = self.evidence.session == Some(SessionState::Detached);
            if f.level == ForecastLevel::None || !detached {
                self.evidence.degradation_forecast = Some(ForecastDegradation {
                    no_connectivity: f.level == ForecastLevel::None,
                    until: self.hhmm(f.until),
                });
            }
            let level = match f.level {
                ForecastLevel::Marginal => "marginal connectivity (MC)",
                ForecastLevel::None => "no connectivity (NC)",
            };
            let line = format!(
                "The operator predicts {level} for cell {cell}'s area from {} to {}.",
                self.hhmm(f.from),
                self.hhmm(f.until)
            );
            self.item("forecast", f.from, line);
        }
    }

    fn reachability(&mut self, reach: Option<&ReachabilityRecord>) {
        let Some(r) = reach else { return };
        let how = match r.reach {
            Reach::Data => "reachable by data and SMS".to_string(),
            Reach::SmsOnly => "reachable by SMS only".to_string(),
            Reach::Unreachable => format!("not reachable since {}", self.hhmm(r.since)),
        };
        let heard = r
            .last_activity
            .or((r.reach == Reach::Unreachable).then_some(r.since));
        let line = match heard {
            Some(t) => {
                let silent = self.now.since(t);
                let beyond = silent > self.p.check_in;
                self.evidence.beyond_check_in = beyond;
                let note = if beyond {
                    format!(
                        ", {} ago, longer than its check-in interval of {}",
                        span(silent),
                        span(self.p.check_in)
                    )
                } else {
                    String::new()
                };
                format!(
                    "The meter is {how}; the network last heard from it at {}{note}.",
                    self.hhmm(t)
                )
            }
            None => format!("The meter is {how}; the network has no record of hearing from it."),
        };
        self.item("reachability", heard.unwrap_or(r.since), line);
    }

    fn kpi(&mut self, kpi: Option<&KpiRecord>) {
        let Some(k) = kpi else { return };
        let window = span(k.until.since(k.from));
        let line = if k.attempts == 0 {
            format!(
                "In the last {window}, the meter's modem did not try to set up a data connection."
            )
        } else {
            let noun = if k.attempts == 1 {
                "attempt"
            } else {
                "attempts"
            };
            format!(
                "In the last {window}, {} of {} {noun} to set up a data connection succeeded.",
                k.successes, k.attempts
            )
        };
        self.item("kpi", k.until, line);
    }
}

#[cfg(test)]
mod tests;
