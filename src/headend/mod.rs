//! The head-end: read cycles, retries and escalation, diagnosis, outages. Pure: it emits actions
//! and consumes their results.

pub mod diagnosis;
