//! The meters the head-end is responsible for, as it knows them.

use serde::{Deserialize, Serialize};

/// How the head-end reaches a meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadMode {
    /// The head-end connects to the meter's address.
    Direct,
    /// The head-end sends a wake-up SMS and reads over the meter's inbound connection.
    WakeUp,
}

/// One meter: identity, how to read it, where it sits in the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterRef {
    pub id: String,
    pub mode: ReadMode,
    pub iccid: String,
    pub msisdn: String,
    pub cell: String,
}

/// Index of a meter in the head-end's fleet (the order of the manifest).
pub type MeterIx = usize;
