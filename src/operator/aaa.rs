//! The RADIUS step, abstracted: what the network asks the utility's RADIUS server, what comes
//! back, the records kept per SIM, and an in-process credentials check for the embedded default.
//!
//! The model emits [`AaaRequest`]s (`Network::poll_aaa`) and consumes [`AuthOutcome`]s
//! (`Network::handle_auth_result`); a driver carries them to the embedded check, to a real RADIUS
//! server over UDP, or to a stub in tests.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

use super::ids::{Iccid, Imsi, Msisdn};
use super::time::Timestamp;

/// Identifies one Access-Request so its outcome finds the modem that is waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AuthId(pub u64);

/// An Access-Request as the operator's proxy would send it (RFC 2865, 3GPP TS 29.061).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub id: AuthId,
    pub iccid: Iccid,
    /// Sent as 3GPP-IMSI.
    pub imsi: Imsi,
    /// Sent as Calling-Station-Id.
    pub msisdn: Msisdn,
    pub user: String,
    pub password: String,
    /// Sent as Called-Station-Id.
    pub apn: String,
}

/// Acct-Status-Type of an Accounting-Request (RFC 2866).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountingKind {
    Start,
    Stop,
}

/// An Accounting-Request framing a data session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountingRequest {
    pub iccid: Iccid,
    pub imsi: Imsi,
    pub msisdn: Msisdn,
    pub user: String,
    pub apn: String,
    pub kind: AccountingKind,
    /// Acct-Session-Id.
    pub session_id: String,
    pub ip: Ipv4Addr,
    /// For Stop: Acct-Terminate-Cause and Acct-Session-Time.
    pub terminate_cause: Option<TerminateCause>,
    pub session_time: Duration,
    pub octets: u64,
}

/// What the network sends to the AAA side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AaaRequest {
    Authenticate(AuthRequest),
    Account(AccountingRequest),
}

/// What came back for an Access-Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Access-Accept, with Framed-IP-Address if the server assigned one.
    Accept { framed_ip: Option<Ipv4Addr> },
    /// Access-Reject. Reply-Message is kept as evidence but not trusted for the reason: servers
    /// can leak reply items configured for the user into it.
    Reject { reply_message: Option<String> },
    /// No valid answer after all retransmissions.
    Timeout { after: Duration },
}

/// Acct-Terminate-Cause (RFC 2866 §5.10), the subset the network uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerminateCause {
    UserRequest,
    LostCarrier,
    LostService,
    IdleTimeout,
    AdminReset,
    NasError,
    ServiceUnavailable,
}

impl TerminateCause {
    /// The RFC 2866 value.
    pub fn code(self) -> u32 {
        match self {
            TerminateCause::UserRequest => 1,
            TerminateCause::LostCarrier => 2,
            TerminateCause::LostService => 3,
            TerminateCause::IdleTimeout => 4,
            TerminateCause::AdminReset => 6,
            TerminateCause::NasError => 9,
            TerminateCause::ServiceUnavailable => 15,
        }
    }

    /// The RFC 2866 name.
    pub fn radius_name(self) -> &'static str {
        match self {
            TerminateCause::UserRequest => "User-Request",
            TerminateCause::LostCarrier => "Lost-Carrier",
            TerminateCause::LostService => "Lost-Service",
            TerminateCause::IdleTimeout => "Idle-Timeout",
            TerminateCause::AdminReset => "Admin-Reset",
            TerminateCause::NasError => "NAS-Error",
            TerminateCause::ServiceUnavailable => "Service-Unavailable",
        }
    }

    /// What it means for a non-telecom reader.
    pub fn explain(self) -> &'static str {
        match self {
            TerminateCause::UserRequest => "the device closed it",
            TerminateCause::LostCarrier => {
                "the device vanished from the network (no power or no radio)"
            }
            TerminateCause::LostService => "its radio cell stopped serving",
            TerminateCause::IdleTimeout => "it carried no traffic for too long",
            TerminateCause::AdminReset => "the operator reset the connection",
            TerminateCause::NasError => "the network's gateway dropped it after an internal fault",
            TerminateCause::ServiceUnavailable => {
                "the data service was withdrawn (barred or out of allowance)"
            }
        }
    }
}

/// The kind of an AAA record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AaaRecordKind {
    AccessRequest,
    AccessAccept,
    AccessReject,
    AccessTimeout,
    AccountingStart,
    AccountingStop,
}

/// One RADIUS exchange in a SIM's AAA history, with a plain-language line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AaaRecord {
    pub time: Timestamp,
    pub kind: AaaRecordKind,
    pub user: String,
    pub apn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminate_cause: Option<TerminateCause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_message: Option<String>,
    /// One sentence a non-telecom administrator understands.
    pub line: String,
}

impl AaaRecord {
    pub fn access_request(time: Timestamp, req: &AuthRequest) -> AaaRecord {
        AaaRecord {
            time,
            kind: AaaRecordKind::AccessRequest,
            user: req.user.clone(),
            apn: req.apn.clone(),
            session_id: None,
            ip_address: None,
            terminate_cause: None,
            reply_message: None,
            line: format!(
                "The network asked the utility's RADIUS server to admit this SIM (user `{}`, APN {}).",
                req.user, req.apn
            ),
        }
    }

    pub fn outcome(
        time: Timestamp,
        req: &AuthRequest,
        outcome: &AuthOutcome,
        ip: Option<Ipv4Addr>,
    ) -> AaaRecord {
        let (kind, line, reply) = match outcome {
            AuthOutcome::Accept { .. } => (
                AaaRecordKind::AccessAccept,
                format!(
                    "The utility's RADIUS server admitted this SIM; it got IP address {}.",
                    ip.map_or_else(|| "(none)".to_string(), |ip| ip.to_string())
                ),
                None,
            ),
            AuthOutcome::Reject { reply_message } => (
                AaaRecordKind::AccessReject,
                format!(
                    "The utility's RADIUS server refused this SIM (Access-Reject): it did not accept user `{}` with the password the device sent, so no data session was set up.",
                    req.user
                ),
                reply_message.clone(),
            ),
            AuthOutcome::Timeout { after } => (
                AaaRecordKind::AccessTimeout,
                format!(
                    "The utility's RADIUS server did not answer within {:.1} s, so no data session was set up.",
                    after.as_secs_f64()
                ),
                None,
            ),
        };
        AaaRecord {
            time,
            kind,
            user: req.user.clone(),
            apn: req.apn.clone(),
            session_id: None,
            ip_address: ip,
            terminate_cause: None,
            reply_message: reply,
            line,
        }
    }

    pub fn accounting(time: Timestamp, req: &AccountingRequest) -> AaaRecord {
        let (kind, line) = match (req.kind, req.terminate_cause) {
            (AccountingKind::Start, _) => (
                AaaRecordKind::AccountingStart,
                format!(
                    "Data session {} started with IP address {}.",
                    req.session_id, req.ip
                ),
            ),
            (AccountingKind::Stop, cause) => {
                let cause = cause.unwrap_or(TerminateCause::UserRequest);
                (
                    AaaRecordKind::AccountingStop,
                    format!(
                        "Data session {} ended after {} s ({}: {}).",
                        req.session_id,
                        req.session_time.as_secs(),
                        cause.radius_name(),
                        cause.explain()
                    ),
                )
            }
        };
        AaaRecord {
            time,
            kind,
            user: req.user.clone(),
            apn: req.apn.clone(),
            session_id: Some(req.session_id.clone()),
            ip_address: Some(req.ip),
            terminate_cause: req.terminate_cause,
            reply_message: None,
            line,
        }
    }
}

/// One edit of a credential, for the utility's change logbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialChange {
    pub time: Timestamp,
    pub user: String,
    pub by: String,
}

/// The embedded default for the utility's RADIUS server: a credentials table checked in process,
/// with a logbook of every change. Pure: the driver calls it and feeds the outcome back.
#[derive(Debug, Clone, Default)]
pub struct InProcessAaa {
    passwords: HashMap<String, String>,
    logbook: Vec<CredentialChange>,
}

impl InProcessAaa {
    pub fn new(credentials: impl IntoIterator<Item = (String, String)>) -> Self {
        InProcessAaa {
            passwords: credentials.into_iter().collect(),
            logbook: Vec::new(),
        }
    }

    /// Accept when the user exists and the password matches; reject otherwise.
    pub fn authenticate(&self, req: &AuthRequest) -> AuthOutcome {
        match self.passwords.get(&req.user) {
            Some(p) if *p == req.password => AuthOutcome::Accept { framed_ip: None },
            _ => AuthOutcome::Reject {
                reply_message: None,
            },
        }
    }

    /// Changes (or creates) a user's password and logs who did it.
    pub fn set_password(&mut self, user: &str, password: &str, by: &str, now: Timestamp) {
        self.passwords
            .insert(user.to_string(), password.to_string());
        self.logbook.push(CredentialChange {
            time: now,
            user: user.to_string(),
            by: by.to_string(),
        });
    }

    pub fn logbook(&self) -> &[CredentialChange] {
        &self.logbook
    }
}
