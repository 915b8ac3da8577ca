//! The utility's own RADIUS decisions: credentials per SIM, the change logbook, and the
//! accounting records received. Pure: time is passed in, nothing is read or written here.
//!
//! The simulator calls [`UtilityServer::authenticate`] in-process; [`super::RadiusServer`] puts
//! the same decisions on the wire. Every edit goes through a method that appends to the logbook,
//! so the logbook can answer "what changed for this SIM before it was rejected, and who did it".

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use jiff::Timestamp;
use serde::Serialize;

use super::credentials::{check_iccid, Credentials, CredentialsError, SimCredential};
use super::logbook::{Change, LogEntry, Logbook};
use super::message::AccountingRequest;

/// Why the utility refused a SIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    UnknownUser,
    WrongPassword,
    /// No User-Password (CHAP is not supported).
    NoPassword,
    Disabled,
    /// The SIM is bound to another APN.
    WrongApn,
}

impl RejectReason {
    pub fn describe(self) -> &'static str {
        match self {
            RejectReason::UnknownUser => "unknown user name",
            RejectReason::WrongPassword => "wrong password",
            RejectReason::NoPassword => "no User-Password (only PAP is supported)",
            RejectReason::Disabled => "SIM disabled by the utility",
            RejectReason::WrongApn => "SIM not allowed on this APN",
        }
    }
}

/// Accept or reject, with what the evidence needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Accept {
        iccid: String,
        framed_ip: Option<Ipv4Addr>,
        reply_message: Option<String>,
    },
    Reject {
        reason: RejectReason,
        /// The SIM the user name belongs to, when it is known.
        iccid: Option<String>,
        /// The latest credential change for that SIM at or before the attempt.
        last_change: Option<LogEntry>,
    },
}

impl Decision {
    pub fn is_accept(&self) -> bool {
        matches!(self, Decision::Accept { .. })
    }

    /// One plain-language line.
    pub fn describe(&self) -> String {
        match self {
            Decision::Accept {
                iccid, framed_ip, ..
            } => match framed_ip {
                Some(ip) => format!("accepted SIM {iccid}, address {ip}"),
                None => format!("accepted SIM {iccid}"),
            },
            Decision::Reject {
                reason,
                last_change,
                ..
            } => match last_change {
                Some(change) => format!("rejected: {} ({})", reason.describe(), change.describe()),
                None => format!("rejected: {}", reason.describe()),
            },
        }
    }
}

/// An edit the server cannot make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UtilityError {
    #[error("no SIM with ICCID {0}")]
    UnknownIccid(String),
    #[error(transparent)]
    Invalid(#[from] CredentialsError),
}

/// One Accounting-Request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountingRecord {
    pub at: Timestamp,
    pub request: AccountingRequest,
}

/// The accounting records kept by default.
pub const DEFAULT_ACCOUNTING_CAPACITY: usize = 10_000;

/// The utility's RADIUS logic: credentials, logbook, accounting records.
#[derive(Debug, Clone)]
pub struct UtilityServer {
    credentials: Credentials,
    logbook: Logbook,
    accounting: VecDeque<AccountingRecord>,
    accounting_capacity: usize,
}

impl UtilityServer {
    pub fn new(credentials: Credentials, logbook: Logbook) -> Result<Self, CredentialsError> {
        credentials.check()?;
        Ok(UtilityServer {
            credentials,
            logbook,
            accounting: VecDeque::new(),
            accounting_capacity: DEFAULT_ACCOUNTING_CAPACITY,
        })
    }

    /// Keeps at most `capacity` accounting records, dropping the oldest.
    pub fn with_accounting_capacity(mut self, capacity: usize) -> Self {
        self.accounting_capacity = capacity;
        self.accounting.truncate(capacity);
        self
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn logbook(&self) -> &Logbook {
        &self.logbook
    }

    /// Replaces the credentials (a reloaded file) without touching the logbook.
    pub fn replace_credentials(
        &mut self,
        credentials: Credentials,
    ) -> Result<(), CredentialsError> {
        credentials.check()?;
        self.credentials = credentials;
        Ok(())
    }

    /// Replaces the logbook (a reloaded file).
    pub fn replace_logbook(&mut self, logbook: Logbook) {
        self.logbook = logbook;
    }

    /// Decides an Access-Request: `password` as revealed (None when absent), `apn` the
    /// Called-Station-Id; `now` picks the logbook entry that explains a reject.
    pub fn authenticate(
        &self,
        user: &str,
        password: Option<&[u8]>,
        apn: Option<&str>,
        now: Timestamp,
    ) -> Decision {
        let Some(sim) = self.credentials.find_user(user) else {
            return self.reject(RejectReason::UnknownUser, None, now);
        };
        let reason = match password {
            None => Some(RejectReason::NoPassword),
            Some(_) if !sim.enabled => Some(RejectReason::Disabled),
            Some(p) if !constant_time_eq(p, sim.password.as_bytes()) => {
                Some(RejectReason::WrongPassword)
            }
            Some(_) => match (&sim.apn, apn) {
                (Some(bound), Some(asked)) if !bound.eq_ignore_ascii_case(asked) => {
                    Some(RejectReason::WrongApn)
                }
                (Some(_), None) => Some(RejectReason::WrongApn),
                _ => None,
            },
        };
        match reason {
            Some(reason) => self.reject(reason, Some(sim), now),
            None => Decision::Accept {
                iccid: sim.iccid.clone(),
                framed_ip: sim.framed_ip,
                reply_message: sim.reply_message.clone(),
            },
        }
    }

    fn reject(
        &self,
        reason: RejectReason,
        sim: Option<&SimCredential>,
        now: Timestamp,
    ) -> Decision {
        Decision::Reject {
            reason,
            iccid: sim.map(|s| s.iccid.clone()),
            last_change: sim.and_then(|s| self.logbook.last_change(&s.iccid, now).cloned()),
        }
    }

    /// Sets a SIM's password and logs who did it; returns the entry to append to the file.
    pub fn set_password(
        &mut self,
        iccid: &str,
        password: &str,
        by: &str,
        at: Timestamp,
        note: Option<String>,
    ) -> Result<LogEntry, UtilityError> {
        let mut edited = self.credentials.clone();
        let sim = edited
            .sims
            .iter_mut()
            .find(|s| s.iccid == iccid)
            .ok_or_else(|| UtilityError::UnknownIccid(iccid.into()))?;
        sim.password = password.into();
        let user = sim.user.clone();
        self.commit(edited, iccid, &user, by, at, Change::PasswordSet, note)
    }

    /// Adds a SIM and logs it.
    pub fn add_sim(
        &mut self,
        sim: SimCredential,
        by: &str,
        at: Timestamp,
        note: Option<String>,
    ) -> Result<LogEntry, UtilityError> {
        check_iccid(&sim.iccid).map_err(|problem| CredentialsError {
            key: "iccid".into(),
            problem,
            fix: "give the ICCID as 18 to 22 digits".into(),
        })?;
        let (iccid, user) = (sim.iccid.clone(), sim.user.clone());
        let mut edited = self.credentials.clone();
        edited.sims.push(sim);
        self.commit(edited, &iccid, &user, by, at, Change::Created, note)
    }

    /// Enables or disables a SIM and logs it.
    pub fn set_enabled(
        &mut self,
        iccid: &str,
        enabled: bool,
        by: &str,
        at: Timestamp,
        note: Option<String>,
    ) -> Result<LogEntry, UtilityError> {
        let mut edited = self.credentials.clone();
        let sim = edited
            .sims
            .iter_mut()
            .find(|s| s.iccid == iccid)
            .ok_or_else(|| UtilityError::UnknownIccid(iccid.into()))?;
        sim.enabled = enabled;
        let user = sim.user.clone();
        let change = if enabled {
            Change::Enabled
        } else {
            Change::Disabled
        };
        self.commit(edited, iccid, &user, by, at, change, note)
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        edited: Credentials,
        iccid: &str,
        user: &str,
        by: &str,
        at: Timestamp,
        change: Change,
        note: Option<String>,
    ) -> Result<LogEntry, UtilityError> {
        edited.check()?;
        self.credentials = edited;
        let entry = LogEntry {
            at,
            iccid: iccid.into(),
            user: user.into(),
            by: by.into(),
            change,
            note,
        };
        self.logbook.append(entry.clone());
        Ok(entry)
    }

    /// Keeps an Accounting-Request, dropping the oldest past the capacity.
    pub fn record_accounting(&mut self, request: AccountingRequest, at: Timestamp) {
        if self.accounting_capacity == 0 {
            return;
        }
        if self.accounting.len() == self.accounting_capacity {
            self.accounting.pop_front();
        }
        self.accounting.push_back(AccountingRecord { at, request });
    }

    /// The accounting records kept, oldest first.
    pub fn accounting(&self) -> impl Iterator<Item = &AccountingRecord> {
        self.accounting.iter()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
