//! The DLMS/COSEM codec for the TCP-UDP/IP wrapper profile. Pure: no tokio, no clock, no randomness.

#[macro_use]
mod wire_enum;

pub mod acse;
pub mod apdu;
pub mod codec;
pub mod data;
pub mod data_view;
pub mod datetime;
pub mod obis;
pub mod security;
pub mod serde_hex;
pub mod wrapper;
pub mod xdlms;
