//! Association state machines for both ends of a DLMS/COSEM association, sans-I/O.
//!
//! A session consumes APDUs (`handle_apdu`) and deadlines (`handle_timeout`) and produces APDUs
//! (`poll_transmit`), events (`poll_event`) and its next deadline (`poll_timeout`). It never reads
//! a clock, draws randomness or touches a socket: the driver (tokio in `net`, or a simulator)
//! passes `now` in, supplies challenges, and wraps each APDU in a wrapper frame with the SAPs.

mod cipher;
mod client;
mod server;

pub use client::{ClientConfig, ClientEvent, ClientSession, RequestId, Response};
pub use server::{
    AccessContext, ClientPolicy, CosemServer, ServerConfig, ServerEvent, ServerSession,
};

use std::time::Duration;

use crate::dlms::acse::Conformance;
use crate::dlms::codec::DecodeError;
use crate::dlms::security::{Keys, SecurityError, SystemTitle};

/// How the client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// Lowest level: no authentication (the public client).
    None,
    /// Low level (LLS): a password in the AARQ.
    Low { password: Vec<u8> },
    /// High level with GMAC (HLS mechanism 5): challenges proven with the authentication key.
    HighGmac,
}

impl Authentication {
    /// The name a lab engineer types (`none`, `lls`, `hls-gmac`).
    pub fn name(&self) -> &'static str {
        match self {
            Authentication::None => "none",
            Authentication::Low { .. } => "lls",
            Authentication::HighGmac => "hls-gmac",
        }
    }
}

/// One side's security material: its system title and the suite 0 keys it shares with the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuritySetup {
    pub system_title: SystemTitle,
    pub keys: Keys,
    /// The first invocation counter this side will use (persisted by the driver across sessions).
    pub invocation_counter: u32,
}

/// What the association negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Negotiated {
    pub conformance: Conformance,
    /// The largest APDU the peer accepts from us.
    pub peer_max_pdu: u16,
    pub dlms_version: u8,
}

/// Why a session stopped or a request could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("association refused: {0}")]
    Refused(String),
    #[error("authentication failed: {0}")]
    AuthenticationFailed(String),
    #[error("no answer while waiting for {waiting_for} (after {after:?})")]
    Timeout {
        waiting_for: &'static str,
        after: Duration,
    },
    #[error("malformed APDU from the peer: {0}")]
    Decode(#[from] DecodeError),
    #[error("security: {0}")]
    Security(#[from] SecurityError),
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("response larger than the {limit}-byte limit")]
    ResponseTooLarge { limit: usize },
    #[error("the session is not associated")]
    NotAssociated,
    #[error("a request is already outstanding")]
    Busy,
    #[error("configuration: {0}")]
    Config(String),
}

/// Overhead of a GET-Response-With-Datablock around its raw data: tag, choice, invoke id,
/// last-block, block number, result choice and a three-byte length.
pub(crate) const DATABLOCK_OVERHEAD: usize = 1 + 1 + 1 + 1 + 4 + 1 + 3;

/// Overhead of glo-ciphering: tag, a three-byte length, SC, invocation counter and a 12-byte tag.
pub(crate) const CIPHER_OVERHEAD: usize = 1 + 3 + 1 + 4 + 12;

#[cfg(test)]
mod tests;
