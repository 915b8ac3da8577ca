//! The ACSE layer: AARQ, AARE, RLRQ and RLRE in BER, and the xDLMS initiate APDUs they carry.
//!
//! Decoding checks every inner length against its enclosing one, keeps elements and values it does
//! not know (so a decoded APDU re-encodes to the same elements), and re-encodes elements in tag
//! order with minimal length forms. Layouts follow the Green Book (DLMS UA 1000-2) ACSE ASN.1.

mod aare;
mod aarq;
mod ber;
mod conformance;
mod initiate;
mod release;
mod values;

#[cfg(test)]
mod tests;

pub use aare::Aare;
pub use aarq::Aarq;
pub use ber::{BitString, UnknownElement};
pub use conformance::Conformance;
pub use initiate::{InitiateRequest, InitiateResponse, UserInformation};
pub use release::{ReleaseRequestReason, ReleaseResponseReason, Rlre, Rlrq};
pub use values::{
    AcseServiceProviderDiagnostic, AcseServiceUserDiagnostic, ApplicationContext,
    AssociationResult, AuthenticationValue, Mechanism, ResultSourceDiagnostic,
};

/// Serde helpers that print byte strings as upper-case hex.
pub(crate) mod hex_serde {
    use crate::dlms::codec::hex;
    use serde::Serializer;

    pub fn bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    #[allow(clippy::ref_option)] // serde's serialize_with passes `&Option<Vec<u8>>`
    pub fn opt_bytes<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }
}
