//! AARQ: the client's request to open an application association (tag 0x60).

use super::ber::{self, BitString, ElementWriter, Field, UnknownElement};
use super::initiate::UserInformation;
use super::values::{ApplicationContext, AuthenticationValue, Mechanism};
use crate::dlms::codec::{put_tlv, Codec, DecodeResult, Reader};
use crate::dlms::serde_hex;
use serde::Serialize;

/// AARQ-apdu. Every element is optional on the wire as decoded; `new` fills in what DLMS requires.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Aarq {
    /// `[0]` 0x80, BIT STRING, DEFAULT version1 (`80 02 07 80`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<BitString>,
    /// `[1]` 0xA1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_context_name: Option<ApplicationContext>,
    /// `[2]` 0xA2, an OCTET STRING inside.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub called_ap_title: Option<Vec<u8>>,
    /// `[3]` 0xA3, an OCTET STRING inside.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub called_ae_qualifier: Option<Vec<u8>>,
    /// `[4]` 0xA4, an INTEGER inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_ap_invocation_id: Option<i64>,
    /// `[5]` 0xA5, an INTEGER inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_ae_invocation_id: Option<i64>,
    /// `[6]` 0xA6: the client's system title (`A6 0A 04 08 <8 bytes>`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub calling_ap_title: Option<Vec<u8>>,
    /// `[7]` 0xA7: the client's certificate, an OCTET STRING inside.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub calling_ae_qualifier: Option<Vec<u8>>,
    /// `[8]` 0xA8, an INTEGER inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_ap_invocation_id: Option<i64>,
    /// `[9]` 0xA9, an INTEGER inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_ae_invocation_id: Option<i64>,
    /// `[10]` 0x8A: bit 0 set (`8A 02 07 80`) selects the authentication functional unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_acse_requirements: Option<BitString>,
    /// `[11]` 0x8B.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism_name: Option<Mechanism>,
    /// `[12]` 0xAC: the LLS password or the HLS client-to-server challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_authentication_value: Option<AuthenticationValue>,
    /// `[29]` 0x9D, IMPLICIT GraphicString.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub implementation_information: Option<Vec<u8>>,
    /// `[30]` 0xBE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_information: Option<UserInformation>,
    /// Elements with other tags, kept as they came.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<UnknownElement>,
}

impl Aarq {
    /// An AARQ with the given context and xDLMS request, no authentication.
    pub fn new(context: ApplicationContext, user_information: UserInformation) -> Self {
        Aarq {
            application_context_name: Some(context),
            user_information: Some(user_information),
            ..Aarq::default()
        }
    }

    /// Proposes `mechanism` with `value` (the LLS password or the HLS challenge) as charstring;
    /// `Mechanism::Lowest` removes the authentication elements instead.
    pub fn with_authentication(mut self, mechanism: Mechanism, value: impl Into<Vec<u8>>) -> Self {
        if mechanism == Mechanism::Lowest {
            self.sender_acse_requirements = None;
            self.mechanism_name = None;
            self.calling_authentication_value = None;
        } else {
            self.sender_acse_requirements = Some(BitString::first_bit());
            self.mechanism_name = Some(mechanism);
            self.calling_authentication_value = Some(AuthenticationValue::CharString(value.into()));
        }
        self
    }

    /// Sets the calling AP title to the client's system title.
    pub fn with_calling_ap_title(mut self, system_title: impl Into<Vec<u8>>) -> Self {
        self.calling_ap_title = Some(system_title.into());
        self
    }

    /// The mechanism proposed, `Lowest` when none is named.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism_name.unwrap_or(Mechanism::Lowest)
    }
}

impl Codec for Aarq {
    fn encode(&self, out: &mut Vec<u8>) {
        put_tlv(out, 0x60, |out| {
            let mut w = ElementWriter::new(out, &self.other);
            if let Some(v) = &self.protocol_version {
                w.element(0x80, |o| v.put_contents(o));
            }
            if let Some(c) = self.application_context_name {
                w.element(0xA1, |o| c.put_contents(o));
            }
            w.titles_and_ids(
                0xA2,
                [&self.called_ap_title, &self.called_ae_qualifier],
                [self.called_ap_invocation_id, self.called_ae_invocation_id],
            );
            w.titles_and_ids(
                0xA6,
                [&self.calling_ap_title, &self.calling_ae_qualifier],
                [self.calling_ap_invocation_id, self.calling_ae_invocation_id],
            );
            if let Some(v) = &self.sender_acse_requirements {
                w.element(0x8A, |o| v.put_contents(o));
            }
            if let Some(m) = self.mechanism_name {
                w.element(0x8B, |o| m.put_contents(o));
            }
            if let Some(v) = &self.calling_authentication_value {
                w.element(0xAC, |o| v.put_contents(o));
            }
            if let Some(v) = &self.implementation_information {
                w.element(0x9D, |o| o.extend_from_slice(v));
            }
            if let Some(u) = &self.user_information {
                w.element(0xBE, |o| u.put_contents(o));
            }
            w.finish();
        });
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let mut body = ber::expect_element(r, 0x60, "AARQ")?;
        let mut a = Aarq::default();
        while !body.is_empty() {
            let f = Field::read(&mut body, "AARQ element", element_name)?;
            match f.tag {
                0x80 => f.set(&mut a.protocol_version, BitString::read_contents)?,
                0xA1 => f.set(
                    &mut a.application_context_name,
                    ApplicationContext::read_contents,
                )?,
                0xA2 => f.octets(&mut a.called_ap_title)?,
                0xA3 => f.octets(&mut a.called_ae_qualifier)?,
                0xA4 => f.integer(&mut a.called_ap_invocation_id)?,
                0xA5 => f.integer(&mut a.called_ae_invocation_id)?,
                0xA6 => f.octets(&mut a.calling_ap_title)?,
                0xA7 => f.octets(&mut a.calling_ae_qualifier)?,
                0xA8 => f.integer(&mut a.calling_ap_invocation_id)?,
                0xA9 => f.integer(&mut a.calling_ae_invocation_id)?,
                0x8A => f.set(&mut a.sender_acse_requirements, BitString::read_contents)?,
                0x8B => f.set(&mut a.mechanism_name, Mechanism::read_contents)?,
                0xAC => f.set(
                    &mut a.calling_authentication_value,
                    AuthenticationValue::read_contents,
                )?,
                0x9D => f.raw(&mut a.implementation_information)?,
                0xBE => f.set(&mut a.user_information, UserInformation::read_contents)?,
                _ => a.other.push(f.unknown()),
            }
        }
        a.other = ber::in_wire_order(a.other);
        Ok(a)
    }
}

/// The ASN.1 name of an AARQ element, for error messages.
fn element_name(tag: u8) -> &'static str {
    match tag {
        0x80 => "protocol-version",
        0xA1 => "application-context-name",
        0xA2 => "called-AP-title",
        0xA3 => "called-AE-qualifier",
        0xA4 => "called-AP-invocation-identifier",
        0xA5 => "called-AE-invocation-identifier",
        0xA6 => "calling-AP-title",
        0xA7 => "calling-AE-qualifier",
        0xA8 => "calling-AP-invocation-identifier",
        0xA9 => "calling-AE-invocation-identifier",
        0x8A => "sender-acse-requirements",
        0x8B => "mechanism-name",
        0xAC => "calling-authentication-value",
        0x9D => "implementation-information",
        0xBE => "user-information",
        _ => "unknown",
    }
}
