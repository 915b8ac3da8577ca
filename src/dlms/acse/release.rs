//! RLRQ and RLRE: releasing an association (tags 0x62 and 0x63).

use super::ber::{self, ElementWriter, Field, UnknownElement};
use super::initiate::UserInformation;
use crate::dlms::codec::{put_tlv, Codec, DecodeResult, Reader};
use serde::{Serialize, Serializer};

/// A release reason: a one-byte INTEGER kept as is, with names for the standard values.
macro_rules! reason {
    ($(#[$meta:meta])* $name:ident { $($konst:ident = $value:literal => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub u8);

        impl $name {
            $(pub const $konst: Self = Self($value);)*

            /// The standard's name for the value, if it has one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }

        /// The name when the value has one, else the number.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(name) => s.serialize_str(name),
                    None => s.serialize_u8(self.0),
                }
            }
        }
    };
}

reason! {
    /// Release-request-reason.
    ReleaseRequestReason {
        NORMAL = 0 => "normal",
        URGENT = 1 => "urgent",
        USER_DEFINED = 30 => "user-defined",
    }
}

reason! {
    /// Release-response-reason.
    ReleaseResponseReason {
        NORMAL = 0 => "normal",
        NOT_FINISHED = 1 => "not-finished",
        USER_DEFINED = 30 => "user-defined",
    }
}

/// RLRQ-apdu (`62 03 80 01 00` for a plain normal release).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Rlrq {
    /// `[0]` 0x80.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReleaseRequestReason>,
    /// `[30]` 0xBE: with ciphering, a glo-initiateRequest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_information: Option<UserInformation>,
    /// Elements with other tags, kept as they came.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<UnknownElement>,
}

impl Rlrq {
    /// A release with reason normal and no user-information.
    pub fn normal() -> Self {
        Rlrq {
            reason: Some(ReleaseRequestReason::NORMAL),
            ..Rlrq::default()
        }
    }
}

/// RLRE-apdu (`63 03 80 01 00` for a plain normal release).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Rlre {
    /// `[0]` 0x80.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReleaseResponseReason>,
    /// `[30]` 0xBE: with ciphering, a glo-initiateResponse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_information: Option<UserInformation>,
    /// Elements with other tags, kept as they came.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<UnknownElement>,
}

impl Rlre {
    /// A release response with reason normal and no user-information.
    pub fn normal() -> Self {
        Rlre {
            reason: Some(ReleaseResponseReason::NORMAL),
            ..Rlre::default()
        }
    }
}

impl Codec for Rlrq {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_release(
            out,
            0x62,
            self.reason.map(|r| r.0),
            &self.user_information,
            &self.other,
        );
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let (reason, user_information, other) = read_release(r, 0x62, "RLRQ")?;
        Ok(Rlrq {
            reason: reason.map(ReleaseRequestReason),
            user_information,
            other,
        })
    }
}

impl Codec for Rlre {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_release(
            out,
            0x63,
            self.reason.map(|r| r.0),
            &self.user_information,
            &self.other,
        );
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let (reason, user_information, other) = read_release(r, 0x63, "RLRE")?;
        Ok(Rlre {
            reason: reason.map(ReleaseResponseReason),
            user_information,
            other,
        })
    }
}

fn encode_release(
    out: &mut Vec<u8>,
    tag: u8,
    reason: Option<u8>,
    user_information: &Option<UserInformation>,
    other: &[UnknownElement],
) {
    put_tlv(out, tag, |out| {
        let mut w = ElementWriter::new(out, other);
        if let Some(reason) = reason {
            w.element(0x80, |o| o.push(reason));
        }
        if let Some(u) = user_information {
            w.element(0xBE, |o| u.put_contents(o));
        }
        w.finish();
    });
}

type ReleaseParts = (Option<u8>, Option<UserInformation>, Vec<UnknownElement>);

/// RLRQ and RLRE share one layout: reason `[0]` (a one-byte INTEGER) and user-information `[30]`.
fn read_release(r: &mut Reader<'_>, tag: u8, what: &str) -> DecodeResult<ReleaseParts> {
    let mut body = ber::expect_element(r, tag, what)?;
    let (mut reason, mut user_information, mut other) = (None, None, Vec::new());
    while !body.is_empty() {
        let f = Field::read(&mut body, what, element_name)?;
        match f.tag {
            0x80 => f.set(&mut reason, |c| c.u8("one-byte reason INTEGER"))?,
            0xBE => f.set(&mut user_information, UserInformation::read_contents)?,
            _ => other.push(f.unknown()),
        }
    }
    Ok((reason, user_information, ber::in_wire_order(other)))
}

fn element_name(tag: u8) -> &'static str {
    match tag {
        0x80 => "reason",
        0xBE => "user-information",
        _ => "unknown",
    }
}
