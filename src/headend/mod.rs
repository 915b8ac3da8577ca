//! The head-end: read cycles, retries and escalation, diagnosis, outages. Pure: it emits actions
//! and consumes their results.

pub mod diagnosis;
pub mod evidence;
pub mod fleet;
pub mod in_process;
pub mod operator_adapter;
pub mod orchestrator;
pub mod outage;
pub mod outage_log;
pub mod policy;
pub mod profile_read;
pub mod reading;
