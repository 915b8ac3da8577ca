//! The two requests the operator's proxy sends, as typed values, and their attribute lists.
//!
//! In an M2M APN the packet gateway (or its RADIUS proxy) forwards the modem's PAP credentials
//! with Calling-Station-Id = MSISDN, Called-Station-Id = APN and 3GPP-IMSI (TS 29.061 §16.4.7);
//! Accounting Start / Interim-Update / Stop frame the data session (RFC 2866).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::dictionary::{
    AcctStatusType, AttributeType as A, Code, TerminateCause, ThreeGppType, VENDOR_3GPP,
};
use super::packet::{Attribute, Authenticator, EncodeError, Packet};
use super::password;

/// An Access-Request: a SIM asking for a data session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub user_name: String,
    pub password: String,
    /// Calling-Station-Id.
    pub msisdn: String,
    /// Called-Station-Id.
    pub apn: String,
    pub nas_ip: Ipv4Addr,
    /// 3GPP-IMSI (vendor 10415, type 1).
    pub imsi: Option<String>,
    /// Proxy-State values to carry; the server echoes them back.
    #[serde(default)]
    pub proxy_state: Vec<Vec<u8>>,
}

impl AccessRequest {
    /// The packet for this identifier and Request Authenticator, password hidden with `secret`.
    pub fn to_packet(
        &self,
        identifier: u8,
        authenticator: Authenticator,
        secret: &[u8],
    ) -> Result<Packet, EncodeError> {
        let hidden = password::hide(self.password.as_bytes(), secret, &authenticator)?;
        let mut packet = Packet::new(Code::AccessRequest, identifier);
        packet.authenticator = authenticator;
        packet
            .push(Attribute::text(A::UserName, &self.user_name))
            .push(Attribute::octets(A::UserPassword, hidden))
            .push(Attribute::text(A::CallingStationId, &self.msisdn))
            .push(Attribute::text(A::CalledStationId, &self.apn))
            .push(Attribute::ipv4(A::NasIpAddress, self.nas_ip));
        if let Some(imsi) = &self.imsi {
            packet.push(Attribute::vendor(
                VENDOR_3GPP,
                ThreeGppType::Imsi.to_wire(),
                imsi.as_bytes(),
            ));
        }
        for state in &self.proxy_state {
            packet.push(Attribute::octets(A::ProxyState, state.clone()));
        }
        Ok(packet)
    }
}

/// An Accounting-Request: a data session started, is still up, or ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountingRequest {
    pub status: AcctStatusKind,
    pub session_id: String,
    pub user_name: String,
    pub msisdn: String,
    pub apn: String,
    pub nas_ip: Ipv4Addr,
    pub imsi: Option<String>,
    /// The address the session got (Framed-IP-Address).
    pub framed_ip: Option<Ipv4Addr>,
    /// Seconds the session has lasted (Interim-Update and Stop).
    pub session_time: Option<u32>,
    pub input_octets: Option<u32>,
    pub output_octets: Option<u32>,
    /// Why the session ended (Stop only).
    pub terminate_cause: Option<TerminateCause>,
}

/// The Acct-Status-Type values the proxy sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcctStatusKind {
    Start,
    InterimUpdate,
    Stop,
}

impl AcctStatusKind {
    pub fn to_wire(self) -> AcctStatusType {
        match self {
            AcctStatusKind::Start => AcctStatusType::Start,
            AcctStatusKind::InterimUpdate => AcctStatusType::InterimUpdate,
            AcctStatusKind::Stop => AcctStatusType::Stop,
        }
    }
}

impl AccountingRequest {
    /// The packet for this identifier; its authenticator is computed when it is signed.
    pub fn to_packet(&self, identifier: u8) -> Packet {
        let mut packet = Packet::new(Code::AccountingRequest, identifier);
        packet
            .push(Attribute::integer(
                A::AcctStatusType,
                self.status.to_wire().to_wire(),
            ))
            .push(Attribute::text(A::AcctSessionId, &self.session_id))
            .push(Attribute::text(A::UserName, &self.user_name))
            .push(Attribute::text(A::CallingStationId, &self.msisdn))
            .push(Attribute::text(A::CalledStationId, &self.apn))
            .push(Attribute::ipv4(A::NasIpAddress, self.nas_ip));
        if let Some(imsi) = &self.imsi {
            packet.push(Attribute::vendor(
                VENDOR_3GPP,
                ThreeGppType::Imsi.to_wire(),
                imsi.as_bytes(),
            ));
        }
        if let Some(ip) = self.framed_ip {
            packet.push(Attribute::ipv4(A::FramedIpAddress, ip));
        }
        let counters = [
            (A::AcctSessionTime, self.session_time),
            (A::AcctInputOctets, self.input_octets),
            (A::AcctOutputOctets, self.output_octets),
            (
                A::AcctTerminateCause,
                self.terminate_cause.map(TerminateCause::to_wire),
            ),
        ];
        for (kind, value) in counters {
            if let Some(value) = value {
                packet.push(Attribute::integer(kind, value));
            }
        }
        packet
    }

    /// Reads the fields back from a received Accounting-Request (missing text becomes empty).
    pub fn from_packet(packet: &Packet) -> Result<Self, String> {
        let status = match packet
            .integer(A::AcctStatusType)
            .map(AcctStatusType::from_wire)
        {
            Some(AcctStatusType::Start) => AcctStatusKind::Start,
            Some(AcctStatusType::InterimUpdate) => AcctStatusKind::InterimUpdate,
            Some(AcctStatusType::Stop) => AcctStatusKind::Stop,
            Some(other) => return Err(format!("Acct-Status-Type {other} is not handled")),
            None => return Err("Acct-Status-Type is missing".into()),
        };
        let text = |kind| packet.text(kind).unwrap_or_default();
        Ok(AccountingRequest {
            status,
            session_id: text(A::AcctSessionId),
            user_name: text(A::UserName),
            msisdn: text(A::CallingStationId),
            apn: text(A::CalledStationId),
            nas_ip: packet
                .ipv4(A::NasIpAddress)
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
            imsi: imsi_of(packet),
            framed_ip: packet.ipv4(A::FramedIpAddress),
            session_time: packet.integer(A::AcctSessionTime),
            input_octets: packet.integer(A::AcctInputOctets),
            output_octets: packet.integer(A::AcctOutputOctets),
            terminate_cause: packet
                .integer(A::AcctTerminateCause)
                .map(TerminateCause::from_wire),
        })
    }
}

/// The 3GPP-IMSI sub-attribute as text.
pub fn imsi_of(packet: &Packet) -> Option<String> {
    packet
        .vendor_value(VENDOR_3GPP, ThreeGppType::Imsi.to_wire())
        .map(|v| String::from_utf8_lossy(v).into_owned())
}
