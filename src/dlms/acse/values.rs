//! The named values inside ACSE elements: contexts, mechanisms, results, diagnostics.

use super::ber::{self, BitString};
use crate::dlms::codec::{put_tlv, DecodeError, DecodeResult, Reader};
use crate::dlms::serde_hex;
use serde::Serialize;

wire_enum! {
    /// The application context: how objects are referenced and whether APDUs are ciphered.
    pub enum ApplicationContext {
        LogicalName = 1 => "logical-name",
        ShortName = 2 => "short-name",
        LogicalNameCiphered = 3 => "logical-name-ciphered",
        ShortNameCiphered = 4 => "short-name-ciphered",
    }
}

impl ApplicationContext {
    /// Reads the contents of the application-context-name element (`06 07 <OID>`).
    pub(crate) fn read_contents(c: &mut Reader<'_>) -> DecodeResult<Self> {
        let oid = ber::expect_element(c, 0x06, "application-context-name OBJECT IDENTIFIER")?;
        ber::whole(oid, |o| {
            ber::read_dlms_oid(o, 1, "application-context-name")
        })
        .map(Self::from_u8)
    }

    pub(crate) fn put_contents(self, out: &mut Vec<u8>) {
        put_tlv(out, 0x06, |out| ber::put_dlms_oid(out, 1, self.to_u8()));
    }
}

wire_enum! {
    /// The authentication mechanism named in mechanism-name.
    pub enum Mechanism {
        /// No authentication; normally sent by leaving mechanism-name out.
        Lowest = 0 => "lowest",
        /// LLS: a password.
        Low = 1 => "lls",
        /// HLS with a manufacturer-specific proof.
        High = 2 => "hls",
        HighMd5 = 3 => "hls-md5",
        HighSha1 = 4 => "hls-sha1",
        HighGmac = 5 => "hls-gmac",
        HighSha256 = 6 => "hls-sha256",
        HighEcdsa = 7 => "hls-ecdsa",
    }
}

impl Mechanism {
    /// Reads the mechanism-name contents (an implicit OBJECT IDENTIFIER).
    pub(crate) fn read_contents(c: &mut Reader<'_>) -> DecodeResult<Self> {
        ber::read_dlms_oid(c, 2, "mechanism-name").map(Self::from_u8)
    }

    pub(crate) fn put_contents(self, out: &mut Vec<u8>) {
        ber::put_dlms_oid(out, 2, self.to_u8());
    }
}

/// The calling or responding authentication value: an LLS password or an HLS challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthenticationValue {
    /// charstring `[0]` (tag 0x80): what every DLMS mechanism uses.
    CharString(#[serde(serialize_with = "serde_hex::bytes")] Vec<u8>),
    /// bitstring `[1]` (tag 0x81).
    BitString(BitString),
    /// Another choice (external `[2]`, other `[3]`, ...) kept as its tag and contents.
    Other {
        tag: u8,
        #[serde(serialize_with = "serde_hex::bytes")]
        contents: Vec<u8>,
    },
}

impl AuthenticationValue {
    /// Reads the contents of the explicit authentication-value element: one tagged choice.
    pub(crate) fn read_contents(c: &mut Reader<'_>) -> DecodeResult<Self> {
        let (tag, mut inner) = ber::read_element(c, "authentication-value choice")?;
        Ok(match tag {
            0x80 => AuthenticationValue::CharString(inner.rest().to_vec()),
            0x81 => AuthenticationValue::BitString(ber::whole(inner, BitString::read_contents)?),
            _ => AuthenticationValue::Other {
                tag,
                contents: inner.rest().to_vec(),
            },
        })
    }

    pub(crate) fn put_contents(&self, out: &mut Vec<u8>) {
        match self {
            AuthenticationValue::CharString(bytes) => {
                put_tlv(out, 0x80, |o| o.extend_from_slice(bytes))
            }
            AuthenticationValue::BitString(bits) => put_tlv(out, 0x81, |o| bits.put_contents(o)),
            AuthenticationValue::Other { tag, contents } => {
                put_tlv(out, *tag, |o| o.extend_from_slice(contents))
            }
        }
    }
}

wire_enum! {
    /// The result element of an AARE.
    pub enum AssociationResult {
        Accepted = 0 => "accepted",
        RejectedPermanent = 1 => "rejected-permanent",
        RejectedTransient = 2 => "rejected-transient",
    }
}

impl AssociationResult {
    /// A plain-English sentence for a lab engineer.
    pub fn describe(&self) -> String {
        match self {
            Self::Accepted => "association accepted".into(),
            Self::RejectedPermanent => {
                "association rejected permanently: retrying with the same parameters will fail again".into()
            }
            Self::RejectedTransient => {
                "association rejected for now: the meter may accept the same request later".into()
            }
            Self::Unknown(n) => format!("association result {n}, which the standard does not define"),
        }
    }
}

wire_enum! {
    /// Why the meter's application (the ACSE service user) answered as it did.
    pub enum AcseServiceUserDiagnostic {
        Null = 0 => "null",
        NoReasonGiven = 1 => "no-reason-given",
        ApplicationContextNameNotSupported = 2 => "application-context-name-not-supported",
        CallingApTitleNotRecognized = 3 => "calling-ap-title-not-recognized",
        CallingApInvocationIdentifierNotRecognized = 4 => "calling-ap-invocation-identifier-not-recognized",
        CallingAeQualifierNotRecognized = 5 => "calling-ae-qualifier-not-recognized",
        CallingAeInvocationIdentifierNotRecognized = 6 => "calling-ae-invocation-identifier-not-recognized",
        CalledApTitleNotRecognized = 7 => "called-ap-title-not-recognized",
        CalledApInvocationIdentifierNotRecognized = 8 => "called-ap-invocation-identifier-not-recognized",
        CalledAeQualifierNotRecognized = 9 => "called-ae-qualifier-not-recognized",
        CalledAeInvocationIdentifierNotRecognized = 10 => "called-ae-invocation-identifier-not-recognized",
        AuthenticationMechanismNameNotRecognised = 11 => "authentication-mechanism-name-not-recognised",
        AuthenticationMechanismNameRequired = 12 => "authentication-mechanism-name-required",
        AuthenticationFailure = 13 => "authentication-failure",
        AuthenticationRequired = 14 => "authentication-required",
    }
}

impl AcseServiceUserDiagnostic {
    /// A plain-English sentence for a lab engineer.
    pub fn describe(&self) -> String {
        let text = match self {
            Self::Null => "no diagnostic",
            Self::NoReasonGiven => "the meter refused without giving a reason",
            Self::ApplicationContextNameNotSupported => {
                "the meter does not support the proposed application context \
                 (logical or short name referencing, with or without ciphering)"
            }
            Self::CallingApTitleNotRecognized => {
                "the meter did not recognise the client's calling AP title (its system title)"
            }
            Self::CallingApInvocationIdentifierNotRecognized => {
                "the meter did not recognise the calling AP invocation identifier"
            }
            Self::CallingAeQualifierNotRecognized => {
                "the meter did not recognise the calling AE qualifier (the client's certificate)"
            }
            Self::CallingAeInvocationIdentifierNotRecognized => {
                "the meter did not recognise the calling AE invocation identifier"
            }
            Self::CalledApTitleNotRecognized => "the meter did not recognise the called AP title",
            Self::CalledApInvocationIdentifierNotRecognized => {
                "the meter did not recognise the called AP invocation identifier"
            }
            Self::CalledAeQualifierNotRecognized => {
                "the meter did not recognise the called AE qualifier"
            }
            Self::CalledAeInvocationIdentifierNotRecognized => {
                "the meter did not recognise the called AE invocation identifier"
            }
            Self::AuthenticationMechanismNameNotRecognised => {
                "the meter does not support the proposed authentication mechanism for this client"
            }
            Self::AuthenticationMechanismNameRequired => {
                "the meter requires authentication for this client but no mechanism was proposed"
            }
            Self::AuthenticationFailure => {
                "authentication failed: wrong password or secret for this client address"
            }
            Self::AuthenticationRequired => {
                "authentication required: with HLS the meter waits for the client's answer \
                 to its challenge before the association is usable"
            }
            Self::Unknown(n) => {
                return format!("service-user diagnostic {n}, which the standard does not define")
            }
        };
        text.into()
    }
}

wire_enum! {
    /// Why the meter's ACSE protocol machine (the service provider) refused.
    pub enum AcseServiceProviderDiagnostic {
        Null = 0 => "null",
        NoReasonGiven = 1 => "no-reason-given",
        NoCommonAcseVersion = 2 => "no-common-acse-version",
    }
}

impl AcseServiceProviderDiagnostic {
    /// A plain-English sentence for a lab engineer.
    pub fn describe(&self) -> String {
        match self {
            Self::Null => "no diagnostic".into(),
            Self::NoReasonGiven => "the meter's ACSE layer refused without giving a reason".into(),
            Self::NoCommonAcseVersion => {
                "the meter does not support the proposed ACSE protocol version".into()
            }
            Self::Unknown(n) => {
                format!("service-provider diagnostic {n}, which the standard does not define")
            }
        }
    }
}

/// The result-source-diagnostic of an AARE: which side of the meter explains the result, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultSourceDiagnostic {
    /// acse-service-user `[1]` (`A1 03 02 01 d`).
    ServiceUser(AcseServiceUserDiagnostic),
    /// acse-service-provider `[2]` (`A2 03 02 01 d`).
    ServiceProvider(AcseServiceProviderDiagnostic),
}

impl ResultSourceDiagnostic {
    /// A plain-English sentence for a lab engineer.
    pub fn describe(&self) -> String {
        match self {
            Self::ServiceUser(d) => d.describe(),
            Self::ServiceProvider(d) => d.describe(),
        }
    }

    pub(crate) fn read_contents(c: &mut Reader<'_>) -> DecodeResult<Self> {
        let at = c.offset();
        let (tag, inner) = ber::read_element(c, "result-source-diagnostic choice")?;
        let value = ber::whole(inner, |i| ber::read_small_integer(i, "diagnostic INTEGER"))?;
        match tag {
            0xA1 => Ok(Self::ServiceUser(AcseServiceUserDiagnostic::from_u8(value))),
            0xA2 => Ok(Self::ServiceProvider(AcseServiceProviderDiagnostic::from_u8(value))),
            _ => Err(DecodeError {
                offset: at,
                message: format!(
                    "expected acse-service-user (0xA1) or acse-service-provider (0xA2), found 0x{tag:02X}"
                ),
            }),
        }
    }

    pub(crate) fn put_contents(&self, out: &mut Vec<u8>) {
        let (tag, value) = match self {
            Self::ServiceUser(d) => (0xA1, d.to_u8()),
            Self::ServiceProvider(d) => (0xA2, d.to_u8()),
        };
        put_tlv(out, tag, |o| ber::put_small_integer(o, value));
    }
}
