//! reanimator: a DLMS/COSEM head-end, smart-meter fleet simulator and wake-up orchestrator.
//!
//! The protocol and decision logic is pure (no sockets, no clock, no randomness inside); the
//! `net` drivers run it on tokio, and later a discrete-event driver runs it in virtual time.

pub mod app;
pub mod civil;
pub mod cosem;
pub mod dlms;
pub mod headend;
pub mod meter;
pub mod net;
pub mod operator;
pub mod radius;
pub mod scenario;
mod serde_name;
pub mod session;
pub mod sim;
pub mod store;
pub mod time;
