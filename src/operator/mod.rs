//! The simulated mobile operator, as a pure model: cells, SIMs and their modems, the RADIUS step
//! (abstracted), SMS, the maintenance calendar, outages and forecasts, AAA records and KPIs, T8
//! monitoring events, and SIM actions with rate limits and an audit trail.
//!
//! [`Network`] is the state machine; its documentation gives the call order. Time is passed in
//! as [`Timestamp`]s; randomness comes from a seeded ChaCha8 generator.

pub mod aaa;
pub mod actions;
pub mod calendar;
pub mod cell;
pub mod config;
pub mod events;
pub mod geohash;
pub mod ids;
pub mod kpi;
pub mod manifest;
pub mod modem;
pub mod monitoring;
pub mod network;
pub mod ratelimit;
pub mod sim;
pub mod sms;
pub use crate::time;

pub use aaa::{AaaRequest, AuthId, AuthOutcome, AuthRequest, InProcessAaa};
pub use config::OperatorConfig;
pub use manifest::FleetManifest;
pub use network::Network;
pub use time::Timestamp;
