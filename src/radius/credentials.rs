//! The embedded server's credentials file (TOML): one `[[sim]]` table per SIM.
//!
//! ```toml
//! [[sim]]
//! iccid = "89314404000123456789"        # 18 to 22 digits (ITU-T E.118)
//! user = "meter-0001@dso.example"       # the User-Name the modem sends (PAP)
//! password = "s3cret"                   # the User-Password it must send
//! framed_ip = "10.20.0.11"              # optional: Framed-IP-Address in the Access-Accept
//! apn = "dso.m2m"                       # optional: only this Called-Station-Id is accepted
//! reply_message = "Welcome meter-0001"  # optional: Reply-Message in the Access-Accept
//! enabled = true                        # optional, default true: false rejects the SIM
//! ```
//!
//! Parsing is pure: the command reads the file and names it in the error. Writing back (after
//! `set-password`) keeps every field and the order of the SIMs, not comments.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// One SIM's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimCredential {
    pub iccid: String,
    pub user: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framed_ip: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_message: Option<String>,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

impl SimCredential {
    pub fn new(iccid: &str, user: &str, password: &str) -> Self {
        SimCredential {
            iccid: iccid.into(),
            user: user.into(),
            password: password.into(),
            framed_ip: None,
            apn: None,
            reply_message: None,
            enabled: true,
        }
    }
}

/// Every SIM the server knows, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default, rename = "sim")]
    pub sims: Vec<SimCredential>,
}

/// A credentials file that cannot be used: the key at fault and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}; {fix}")]
pub struct CredentialsError {
    pub key: String,
    pub problem: String,
    pub fix: String,
}

impl Credentials {
    /// Parses and checks the TOML text.
    pub fn from_toml(text: &str) -> Result<Self, CredentialsError> {
        let credentials: Credentials = toml::from_str(text).map_err(|e| CredentialsError {
            key: e
                .span()
                .map(|s| format!("line {}", line_of(text, s.start)))
                .unwrap_or_else(|| "file".into()),
            problem: e.message().trim().to_string(),
            fix: "write each SIM as a [[sim]] table with iccid, user and password (see docs/radius.md)"
                .into(),
        })?;
        credentials.check()?;
        Ok(credentials)
    }

    /// The TOML text, with a header naming the format.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("credentials always serialize");
        format!("# reanimator RADIUS credentials, one [[sim]] per SIM (docs/radius.md)\n\n{body}")
    }

    pub fn find_iccid(&self, iccid: &str) -> Option<&SimCredential> {
        self.sims.iter().find(|s| s.iccid == iccid)
    }

    pub fn find_user(&self, user: &str) -> Option<&SimCredential> {
        self.sims.iter().find(|s| s.user == user)
    }

    /// ICCIDs are digits of the right length; ICCIDs and user names are unique.
    pub fn check(&self) -> Result<(), CredentialsError> {
        let mut iccids = HashSet::new();
        let mut users = HashSet::new();
        for (i, sim) in self.sims.iter().enumerate() {
            let key = |field: &str| format!("sim[{i}].{field}");
            check_iccid(&sim.iccid).map_err(|problem| CredentialsError {
                key: key("iccid"),
                problem,
                fix: "write the ICCID as 18 to 22 digits, in quotes".into(),
            })?;
            if !iccids.insert(sim.iccid.as_str()) {
                return Err(CredentialsError {
                    key: key("iccid"),
                    problem: format!("ICCID {} appears twice", sim.iccid),
                    fix: "keep one [[sim]] table per SIM".into(),
                });
            }
            if sim.user.is_empty() {
                return Err(CredentialsError {
                    key: key("user"),
                    problem: "the user name is empty".into(),
                    fix: "set it to the User-Name the modem sends".into(),
                });
            }
            if !users.insert(sim.user.as_str()) {
                return Err(CredentialsError {
                    key: key("user"),
                    problem: format!("user {:?} appears twice", sim.user),
                    fix: "give every SIM its own user name".into(),
                });
            }
            if sim.password.len() > super::password::MAX_PASSWORD_LEN {
                return Err(CredentialsError {
                    key: key("password"),
                    problem: format!("{} bytes long", sim.password.len()),
                    fix: "use at most 128 bytes (RFC 2865 §5.2)".into(),
                });
            }
        }
        Ok(())
    }
}

/// An ICCID: 18 to 22 decimal digits.
pub fn check_iccid(iccid: &str) -> Result<(), String> {
    if !(18..=22).contains(&iccid.len()) || !iccid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{iccid:?} is not 18 to 22 digits"));
    }
    Ok(())
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
