//! The ACSE layer: AARQ, AARE, RLRQ and RLRE in BER, and the xDLMS initiate APDUs they carry.
//!
//! Decoding checks every inner length against its enclosing one, rejects trailing bytes and
//! duplicate elements, and keeps elements and values it does not know. Encoding writes elements
//! in tag-number order with the shortest length forms, so canonical input (what gurux, dlms-cosem
//! and the Green Book examples send) re-encodes byte for byte; anything else that decodes
//! re-encodes canonically to the same value. Layouts follow the Green Book (DLMS UA 1000-2) ASN.1.

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
