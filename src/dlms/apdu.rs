//! Any APDU that can arrive in a wrapper frame, told apart by its first byte.

use serde::Serialize;

use super::acse::{Aare, Aarq, InitiateRequest, InitiateResponse, Rlre, Rlrq};
use super::codec::{Codec, DecodeResult, Reader};
use super::security::{plain_tag_for, GeneralGloCiphering, GloCiphered};
use super::serde_hex;
use super::xdlms::{
    ActionRequest, ActionResponse, ConfirmedServiceError, DataNotification, EventNotification,
    ExceptionResponse, GetRequest, GetResponse, SetRequest, SetResponse,
};

/// A whole APDU. Unknown tags are kept with their bytes so they re-encode unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "apdu", content = "fields", rename_all = "kebab-case")]
pub enum Apdu {
    Aarq(Aarq),
    Aare(Aare),
    Rlrq(Rlrq),
    Rlre(Rlre),
    InitiateRequest(InitiateRequest),
    InitiateResponse(InitiateResponse),
    GetRequest(GetRequest),
    GetResponse(GetResponse),
    SetRequest(SetRequest),
    SetResponse(SetResponse),
    ActionRequest(ActionRequest),
    ActionResponse(ActionResponse),
    EventNotification(EventNotification),
    DataNotification(DataNotification),
    ExceptionResponse(ExceptionResponse),
    ConfirmedServiceError(ConfirmedServiceError),
    /// A glo- or ded- service-specific ciphered APDU.
    Ciphered(GloCiphered),
    /// general-glo-ciphering or general-ded-ciphering.
    GeneralCiphered(GeneralGloCiphering),
    Unknown {
        tag: u8,
        #[serde(serialize_with = "serde_hex::bytes")]
        body: Vec<u8>,
    },
}

impl Apdu {
    /// The name the Green Book gives this APDU.
    pub fn name(&self) -> &'static str {
        match self {
            Apdu::Aarq(_) => "AARQ",
            Apdu::Aare(_) => "AARE",
            Apdu::Rlrq(_) => "RLRQ",
            Apdu::Rlre(_) => "RLRE",
            Apdu::InitiateRequest(_) => "InitiateRequest",
            Apdu::InitiateResponse(_) => "InitiateResponse",
            Apdu::GetRequest(_) => "GET-Request",
            Apdu::GetResponse(_) => "GET-Response",
            Apdu::SetRequest(_) => "SET-Request",
            Apdu::SetResponse(_) => "SET-Response",
            Apdu::ActionRequest(_) => "ACTION-Request",
            Apdu::ActionResponse(_) => "ACTION-Response",
            Apdu::EventNotification(_) => "EventNotificationRequest",
            Apdu::DataNotification(_) => "Data-Notification",
            Apdu::ExceptionResponse(_) => "ExceptionResponse",
            Apdu::ConfirmedServiceError(_) => "ConfirmedServiceError",
            Apdu::Ciphered(_) => "glo/ded-ciphered APDU",
            Apdu::GeneralCiphered(_) => "general-ciphering APDU",
            Apdu::Unknown { .. } => "unknown APDU",
        }
    }
}

impl Codec for Apdu {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Apdu::Aarq(a) => a.encode(out),
            Apdu::Aare(a) => a.encode(out),
            Apdu::Rlrq(a) => a.encode(out),
            Apdu::Rlre(a) => a.encode(out),
            Apdu::InitiateRequest(a) => a.encode(out),
            Apdu::InitiateResponse(a) => a.encode(out),
            Apdu::GetRequest(a) => a.encode(out),
            Apdu::GetResponse(a) => a.encode(out),
            Apdu::SetRequest(a) => a.encode(out),
            Apdu::SetResponse(a) => a.encode(out),
            Apdu::ActionRequest(a) => a.encode(out),
            Apdu::ActionResponse(a) => a.encode(out),
            Apdu::EventNotification(a) => a.encode(out),
            Apdu::DataNotification(a) => a.encode(out),
            Apdu::ExceptionResponse(a) => a.encode(out),
            Apdu::ConfirmedServiceError(a) => a.encode(out),
            Apdu::Ciphered(a) => a.encode(out),
            Apdu::GeneralCiphered(a) => a.encode(out),
            Apdu::Unknown { tag, body } => {
                out.push(*tag);
                out.extend_from_slice(body);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let Some(tag) = r.peek() else {
            return Err(r.error("expected an APDU tag, found end of input"));
        };
        Ok(match tag {
            0x60 => Apdu::Aarq(Aarq::read(r)?),
            0x61 => Apdu::Aare(Aare::read(r)?),
            0x62 => Apdu::Rlrq(Rlrq::read(r)?),
            0x63 => Apdu::Rlre(Rlre::read(r)?),
            0x01 => Apdu::InitiateRequest(InitiateRequest::read(r)?),
            0x08 => Apdu::InitiateResponse(InitiateResponse::read(r)?),
            0xC0 => Apdu::GetRequest(GetRequest::read(r)?),
            0xC4 => Apdu::GetResponse(GetResponse::read(r)?),
            0xC1 => Apdu::SetRequest(SetRequest::read(r)?),
            0xC5 => Apdu::SetResponse(SetResponse::read(r)?),
            0xC3 => Apdu::ActionRequest(ActionRequest::read(r)?),
            0xC7 => Apdu::ActionResponse(ActionResponse::read(r)?),
            0xC2 => Apdu::EventNotification(EventNotification::read(r)?),
            0x0F => Apdu::DataNotification(DataNotification::read(r)?),
            0xD8 => Apdu::ExceptionResponse(ExceptionResponse::read(r)?),
            0x0E => Apdu::ConfirmedServiceError(ConfirmedServiceError::read(r)?),
            0xDB | 0xDC => Apdu::GeneralCiphered(GeneralGloCiphering::read(r)?),
            t if plain_tag_for(t).is_some() => Apdu::Ciphered(GloCiphered::read(r)?),
            _ => {
                r.u8("APDU tag")?;
                Apdu::Unknown {
                    tag,
                    body: r.rest().to_vec(),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::codec::hex;
    use proptest::prelude::*;

    #[test]
    fn dispatches_every_public_vector() {
        // REFERENCE.md §1 public vectors, one per APDU kind.
        for (text, name) in [
            ("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF", "AARQ"),
            ("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007", "AARE"),
            ("C001C1000100002B0100FF0200", "GET-Request"),
            ("C401C1000600001391", "GET-Response"),
            ("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B", "glo/ded-ciphered APDU"),
            ("0F000001DB000922125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100", "Data-Notification"),
            ("6203800100", "RLRQ"),
            ("6303800100", "RLRE"),
        ] {
            let bytes = hex::decode(text).unwrap();
            let apdu = Apdu::from_bytes(&bytes).unwrap();
            assert_eq!(apdu.name(), name);
            assert_eq!(apdu.to_bytes(), bytes, "{name}");
        }
    }

    #[test]
    fn keeps_unknown_apdus() {
        let bytes = [0xE7, 1, 2, 3];
        let apdu = Apdu::from_bytes(&bytes).unwrap();
        assert_eq!(
            apdu,
            Apdu::Unknown {
                tag: 0xE7,
                body: vec![1, 2, 3]
            }
        );
        assert_eq!(apdu.to_bytes(), bytes);
    }

    #[test]
    fn rejects_empty_input() {
        assert_eq!(Apdu::from_bytes(&[]).unwrap_err().offset, 0);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(apdu) = Apdu::from_bytes(&bytes) {
                let canonical = apdu.to_bytes();
                prop_assert_eq!(Apdu::from_bytes(&canonical).unwrap().to_bytes(), canonical);
            }
        }
    }
}
