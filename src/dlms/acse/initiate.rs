//! The xDLMS APDUs an association carries in its user-information: InitiateRequest,
//! InitiateResponse, their ciphered forms, and anything else kept as bytes.

use super::ber;
use super::conformance::Conformance;
use crate::dlms::codec::{put_length_prefixed, put_tlv, Codec, DecodeError, DecodeResult, Reader};
use crate::dlms::security::{
    plain_tag_for, GeneralGloCiphering, GloCiphered, GENERAL_DED_CIPHERING, GENERAL_GLO_CIPHERING,
};
use crate::dlms::serde_hex;
use crate::dlms::xdlms::{tag, ConfirmedServiceError};
use serde::Serialize;

/// xDLMS InitiateRequest (tag 0x01), in A-XDR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitiateRequest {
    #[serde(serialize_with = "serde_hex::opt_bytes")]
    pub dedicated_key: Option<Vec<u8>>,
    /// BOOLEAN DEFAULT TRUE: `true` is sent as "default" (00), `false` as `01 00`.
    pub response_allowed: bool,
    pub proposed_quality_of_service: Option<u8>,
    pub proposed_dlms_version: u8,
    pub proposed_conformance: Conformance,
    pub client_max_receive_pdu_size: u16,
}

impl InitiateRequest {
    /// A DLMS version 6 request without dedicated key or quality of service.
    pub fn new(proposed_conformance: Conformance, client_max_receive_pdu_size: u16) -> Self {
        InitiateRequest {
            dedicated_key: None,
            response_allowed: true,
            proposed_quality_of_service: None,
            proposed_dlms_version: 6,
            proposed_conformance,
            client_max_receive_pdu_size,
        }
    }
}

impl Codec for InitiateRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::INITIATE_REQUEST);
        match &self.dedicated_key {
            Some(key) => {
                out.push(0x01);
                put_length_prefixed(out, key);
            }
            None => out.push(0x00),
        }
        if self.response_allowed {
            out.push(0x00);
        } else {
            out.extend_from_slice(&[0x01, 0x00]);
        }
        put_optional_u8(out, self.proposed_quality_of_service);
        out.push(self.proposed_dlms_version);
        self.proposed_conformance.encode(out);
        out.extend_from_slice(&self.client_max_receive_pdu_size.to_be_bytes());
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::INITIATE_REQUEST, "InitiateRequest tag")?;
        let dedicated_key = match optional_flag(r, "dedicated-key")? {
            true => Some(r.length_prefixed("dedicated-key")?.to_vec()),
            false => None,
        };
        let response_allowed = match optional_flag(r, "response-allowed")? {
            true => r.bool("response-allowed")?,
            false => true,
        };
        Ok(InitiateRequest {
            dedicated_key,
            response_allowed,
            proposed_quality_of_service: read_optional_u8(r, "proposed-quality-of-service")?,
            proposed_dlms_version: r.u8("proposed-dlms-version-number")?,
            proposed_conformance: Conformance::read(r)?,
            client_max_receive_pdu_size: r.u16("client-max-receive-pdu-size")?,
        })
    }
}

/// xDLMS InitiateResponse (tag 0x08), in A-XDR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitiateResponse {
    pub negotiated_quality_of_service: Option<u8>,
    pub negotiated_dlms_version: u8,
    pub negotiated_conformance: Conformance,
    pub server_max_receive_pdu_size: u16,
    /// 0x0007 with logical name referencing, 0xFA00 with short name referencing.
    pub vaa_name: u16,
}

impl InitiateResponse {
    /// A DLMS version 6 response for logical name referencing (VAA name 0x0007).
    pub fn new(negotiated_conformance: Conformance, server_max_receive_pdu_size: u16) -> Self {
        InitiateResponse {
            negotiated_quality_of_service: None,
            negotiated_dlms_version: 6,
            negotiated_conformance,
            server_max_receive_pdu_size,
            vaa_name: 0x0007,
        }
    }
}

impl Codec for InitiateResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::INITIATE_RESPONSE);
        put_optional_u8(out, self.negotiated_quality_of_service);
        out.push(self.negotiated_dlms_version);
        self.negotiated_conformance.encode(out);
        out.extend_from_slice(&self.server_max_receive_pdu_size.to_be_bytes());
        out.extend_from_slice(&self.vaa_name.to_be_bytes());
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::INITIATE_RESPONSE, "InitiateResponse tag")?;
        Ok(InitiateResponse {
            negotiated_quality_of_service: read_optional_u8(r, "negotiated-quality-of-service")?,
            negotiated_dlms_version: r.u8("negotiated-dlms-version-number")?,
            negotiated_conformance: Conformance::read(r)?,
            server_max_receive_pdu_size: r.u16("server-max-receive-pdu-size")?,
            vaa_name: r.u16("vaa-name")?,
        })
    }
}

/// The xDLMS APDU inside an ACSE user-information element (`BE len 04 len <apdu>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserInformation {
    InitiateRequest(InitiateRequest),
    InitiateResponse(InitiateResponse),
    /// What an AARE carries when the meter refuses the InitiateRequest.
    ConfirmedServiceError(ConfirmedServiceError),
    /// A glo- or ded- APDU: glo-initiateRequest 0x21, glo-initiateResponse 0x28,
    /// ded-initiateRequest 0x41, glo-confirmedServiceError 0x2E, ...
    Ciphered(GloCiphered),
    /// general-glo-ciphering 0xDB or general-ded-ciphering 0xDC.
    GeneralCiphered(GeneralGloCiphering),
    /// Any other xDLMS APDU, whole, tag included.
    Other(#[serde(serialize_with = "serde_hex::bytes")] Vec<u8>),
}

impl UserInformation {
    /// Reads the contents of a user-information element: `04 len <apdu>`, nothing after.
    pub(crate) fn read_contents(c: &mut Reader<'_>) -> DecodeResult<Self> {
        let apdu = ber::expect_element(c, 0x04, "user-information OCTET STRING")?;
        ber::whole(apdu, Self::read)
    }

    pub(crate) fn put_contents(&self, out: &mut Vec<u8>) {
        put_tlv(out, 0x04, |o| self.encode(o));
    }
}

/// The APDU alone, without the ACSE wrapping. `read` takes everything left for
/// [`UserInformation::Other`], which has no length of its own.
impl Codec for UserInformation {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            UserInformation::InitiateRequest(req) => req.encode(out),
            UserInformation::InitiateResponse(resp) => resp.encode(out),
            UserInformation::ConfirmedServiceError(err) => err.encode(out),
            UserInformation::Ciphered(apdu) => apdu.encode(out),
            UserInformation::GeneralCiphered(apdu) => apdu.encode(out),
            UserInformation::Other(bytes) => out.extend_from_slice(bytes),
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(match r.peek() {
            Some(tag::INITIATE_REQUEST) => {
                UserInformation::InitiateRequest(InitiateRequest::read(r)?)
            }
            Some(tag::INITIATE_RESPONSE) => {
                UserInformation::InitiateResponse(InitiateResponse::read(r)?)
            }
            Some(tag::CONFIRMED_SERVICE_ERROR) => {
                UserInformation::ConfirmedServiceError(ConfirmedServiceError::read(r)?)
            }
            Some(GENERAL_GLO_CIPHERING | GENERAL_DED_CIPHERING) => {
                UserInformation::GeneralCiphered(GeneralGloCiphering::read(r)?)
            }
            Some(t) if plain_tag_for(t).is_some() => {
                UserInformation::Ciphered(GloCiphered::read(r)?)
            }
            _ => UserInformation::Other(r.rest().to_vec()),
        })
    }
}

/// Reads an A-XDR OPTIONAL/DEFAULT marker: 00 absent, 01 present.
fn optional_flag(r: &mut Reader<'_>, what: &str) -> DecodeResult<bool> {
    let at = r.offset();
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(DecodeError {
            offset: at,
            message: format!(
                "expected 00 (absent) or 01 (present) before {what}, found 0x{other:02X}"
            ),
        }),
    }
}

fn read_optional_u8(r: &mut Reader<'_>, what: &str) -> DecodeResult<Option<u8>> {
    match optional_flag(r, what)? {
        true => Ok(Some(r.u8(what)?)),
        false => Ok(None),
    }
}

fn put_optional_u8(out: &mut Vec<u8>, value: Option<u8>) {
    match value {
        Some(v) => out.extend_from_slice(&[0x01, v]),
        None => out.push(0x00),
    }
}
