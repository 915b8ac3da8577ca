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
