//! The DLMS/COSEM codec for the TCP-UDP/IP wrapper profile. Pure: no tokio, no clock, no randomness.

pub mod codec;
pub mod security;
