//! AARE: the meter's answer to an AARQ (tag 0x61).

use super::ber::{self, BitString, ElementWriter, Field, UnknownElement};
use super::initiate::UserInformation;
use super::values::{
    AcseServiceUserDiagnostic, ApplicationContext, AssociationResult, AuthenticationValue,
    Mechanism, ResultSourceDiagnostic,
};
use crate::dlms::codec::{put_tlv, Codec, DecodeResult, Reader};
use crate::dlms::serde_hex;
use serde::Serialize;

/// AARE-apdu. Every element is optional as decoded; the constructors fill in what DLMS requires.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Aare {
    /// `[0]` 0x80, BIT STRING, DEFAULT version1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<BitString>,
    /// `[1]` 0xA1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_context_name: Option<ApplicationContext>,
    /// `[2]` 0xA2 (`A2 03 02 01 r`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<AssociationResult>,
    /// `[3]` 0xA3 (`A3 05 A1 03 02 01 d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_source_diagnostic: Option<ResultSourceDiagnostic>,
    /// `[4]` 0xA4: the meter's system title (`A4 0A 04 08 <8 bytes>`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub responding_ap_title: Option<Vec<u8>>,
    /// `[5]` 0xA5: the meter's certificate, an OCTET STRING inside.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub responding_ae_qualifier: Option<Vec<u8>>,
    /// `[6]` 0xA6, an INTEGER inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responding_ap_invocation_id: Option<i64>,
    /// `[7]` 0xA7, an INTEGER inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responding_ae_invocation_id: Option<i64>,
    /// `[8]` 0x88: bit 0 set (`88 02 07 80`) selects the authentication functional unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responder_acse_requirements: Option<BitString>,
    /// `[9]` 0x89.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism_name: Option<Mechanism>,
    /// `[10]` 0xAA: the HLS server-to-client challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responding_authentication_value: Option<AuthenticationValue>,
    /// `[29]` 0x9D, IMPLICIT GraphicString.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_hex::opt_bytes"
    )]
    pub implementation_information: Option<Vec<u8>>,
    /// `[30]` 0xBE: an InitiateResponse, or a ConfirmedServiceError when the xDLMS part failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_information: Option<UserInformation>,
    /// Elements with other tags, kept as they came.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<UnknownElement>,
}

impl Aare {
    /// An accepted association carrying `user_information` (normally the InitiateResponse).
    pub fn accepted(context: ApplicationContext, user_information: UserInformation) -> Self {
        Aare {
            application_context_name: Some(context),
            result: Some(AssociationResult::Accepted),
            result_source_diagnostic: Some(ResultSourceDiagnostic::ServiceUser(
                AcseServiceUserDiagnostic::Null,
            )),
            user_information: Some(user_information),
            ..Aare::default()
        }
    }

    /// A refused association; `user_information` carries a ConfirmedServiceError when the
    /// refusal comes from the xDLMS part.
    pub fn rejected(
        context: ApplicationContext,
        result: AssociationResult,
        diagnostic: ResultSourceDiagnostic,
        user_information: Option<UserInformation>,
    ) -> Self {
        Aare {
            application_context_name: Some(context),
            result: Some(result),
            result_source_diagnostic: Some(diagnostic),
            user_information,
            ..Aare::default()
        }
    }

    /// Names `mechanism` and sends `challenge` (the HLS StoC, none for LLS) as charstring; an
    /// accepted HLS association gets diagnostic authentication-required, as the Green Book says.
    pub fn with_authentication(mut self, mechanism: Mechanism, challenge: Option<Vec<u8>>) -> Self {
        self.responder_acse_requirements = Some(BitString::first_bit());
        self.mechanism_name = Some(mechanism);
        self.responding_authentication_value = challenge.map(AuthenticationValue::CharString);
        if self.is_accepted() && !matches!(mechanism, Mechanism::Lowest | Mechanism::Low) {
            self.result_source_diagnostic = Some(ResultSourceDiagnostic::ServiceUser(
                AcseServiceUserDiagnostic::AuthenticationRequired,
            ));
        }
        self
    }

    /// Sets the responding AP title to the meter's system title.
    pub fn with_responding_ap_title(mut self, system_title: impl Into<Vec<u8>>) -> Self {
        self.responding_ap_title = Some(system_title.into());
        self
    }

    pub fn is_accepted(&self) -> bool {
        self.result == Some(AssociationResult::Accepted)
    }

    /// The result and diagnostic in plain English, for a lab engineer.
    pub fn describe(&self) -> String {
        let result = match self.result {
            Some(r) => r.describe(),
            None => "no association result in the AARE".into(),
        };
        match &self.result_source_diagnostic {
            Some(d) => format!("{result} ({})", d.describe()),
            None => result,
        }
    }
}

impl Codec for Aare {
    fn encode(&self, out: &mut Vec<u8>) {
        put_tlv(out, 0x61, |out| {
            let mut w = ElementWriter::new(out, &self.other);
            if let Some(v) = &self.protocol_version {
                w.element(0x80, |o| v.put_contents(o));
            }
            if let Some(c) = self.application_context_name {
                w.element(0xA1, |o| c.put_contents(o));
            }
            if let Some(r) = self.result {
                w.element(0xA2, |o| ber::put_small_integer(o, r.to_u8()));
            }
            if let Some(d) = &self.result_source_diagnostic {
                w.element(0xA3, |o| d.put_contents(o));
            }
            w.titles_and_ids(
                0xA4,
                [&self.responding_ap_title, &self.responding_ae_qualifier],
                [
                    self.responding_ap_invocation_id,
                    self.responding_ae_invocation_id,
                ],
            );
            if let Some(v) = &self.responder_acse_requirements {
                w.element(0x88, |o| v.put_contents(o));
            }
            if let Some(m) = self.mechanism_name {
                w.element(0x89, |o| m.put_contents(o));
            }
            if let Some(v) = &self.responding_authentication_value {
                w.element(0xAA, |o| v.put_contents(o));
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
        let mut body = ber::expect_element(r, 0x61, "AARE")?;
        let mut a = Aare::default();
        while !body.is_empty() {
            let f = Field::read(&mut body, "AARE element", element_name)?;
            match f.tag {
                0x80 => f.set(&mut a.protocol_version, BitString::read_contents)?,
                0xA1 => f.set(
                    &mut a.application_context_name,
                    ApplicationContext::read_contents,
                )?,
                0xA2 => f.set(&mut a.result, |c| {
                    Ok(AssociationResult::from_u8(ber::read_small_integer(
                        c,
                        "result INTEGER",
                    )?))
                })?,
                0xA3 => f.set(
                    &mut a.result_source_diagnostic,
                    ResultSourceDiagnostic::read_contents,
                )?,
                0xA4 => f.octets(&mut a.responding_ap_title)?,
                0xA5 => f.octets(&mut a.responding_ae_qualifier)?,
                0xA6 => f.integer(&mut a.responding_ap_invocation_id)?,
                0xA7 => f.integer(&mut a.responding_ae_invocation_id)?,
                0x88 => f.set(&mut a.responder_acse_requirements, BitString::read_contents)?,
                0x89 => f.set(&mut a.mechanism_name, Mechanism::read_contents)?,
                0xAA => f.set(
                    &mut a.responding_authentication_value,
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

/// The ASN.1 name of an AARE element, for error messages.
fn element_name(tag: u8) -> &'static str {
    match tag {
        0x80 => "protocol-version",
        0xA1 => "application-context-name",
        0xA2 => "result",
        0xA3 => "result-source-diagnostic",
        0xA4 => "responding-AP-title",
        0xA5 => "responding-AE-qualifier",
        0xA6 => "responding-AP-invocation-identifier",
        0xA7 => "responding-AE-invocation-identifier",
        0x88 => "responder-acse-requirements",
        0x89 => "mechanism-name",
        0xAA => "responding-authentication-value",
        0x9D => "implementation-information",
        0xBE => "user-information",
        _ => "unknown",
    }
}
