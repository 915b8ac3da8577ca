//! RADIUS on the wire (RFC 2865, RFC 2866): the operator's proxy client and the utility's
//! embedded server. Pure: no sockets, no clock, no randomness inside.
//!
//! - [`packet`], [`dictionary`], [`authenticator`], [`password`]: the codec.
//! - [`message`]: the Access-Request and Accounting-Request the operator's proxy sends.
//! - [`client`]: [`ProxyClient`], the operator's side, sans-I/O, with retransmission.
//! - [`utility`]: [`UtilityServer`], the utility's credentials per SIM and their change
//!   [`logbook`], deciding accept or reject; [`credentials`] is its file format.
//! - [`server`]: [`RadiusServer`], the utility's server on the wire, sans-I/O.
//!
//! `net::radius_udp` runs the client and the server over loopback UDP; the simulator calls
//! [`UtilityServer::authenticate`] directly or steps a [`ProxyClient`] against a [`RadiusServer`]
//! in virtual time.

pub mod authenticator;
pub mod client;
pub mod credentials;
pub mod dictionary;
pub mod logbook;
pub mod message;
pub mod packet;
pub mod password;
pub mod server;
pub mod utility;

#[cfg(test)]
mod pair_tests;
#[cfg(test)]
mod tests;

pub use client::{
    AccessOutcome, AccountingOutcome, ClientConfig, ClientEvent, Discard, ProxyClient, RequestId,
    Transmit,
};
pub use credentials::{Credentials, CredentialsError, SimCredential};
pub use dictionary::{AcctStatusType, AttributeType, Code, TerminateCause, VENDOR_3GPP};
pub use logbook::{Change, LogEntry, Logbook};
pub use message::{AccessRequest, AccountingRequest, AcctStatusKind};
pub use packet::{Attribute, Packet, PacketView};
pub use server::{RadiusServer, ServerConfig, ServerEvent};
pub use utility::{Decision, RejectReason, UtilityError, UtilityServer};

/// The IANA ports: authentication and accounting.
pub const AUTH_PORT: u16 = 1812;
pub const ACCT_PORT: u16 = 1813;
