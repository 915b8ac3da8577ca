//! The one door through which the head-end talks to a mobile operator. Implementations: our
//! simulator's HTTP API (`net::operator_client`), the in-process model (simulation); CAMARA,
//! 3GPP T8 and SIM-platform adapters fit the same trait.

use std::future::Future;
use std::time::Duration;

use super::diagnosis::Evidence;
use super::evidence::AaaRecord;
use super::fleet::MeterRef;
use super::outage::EvidenceItem;
use crate::time::Timestamp;

/// The text of a wake-up SMS (the simulated meters wake on any text).
pub const WAKE_UP_TEXT: &str = "WAKEUP";
/// How long the operator keeps trying to deliver a wake-up SMS.
pub const WAKE_UP_VALIDITY: Duration = Duration::from_secs(600);
/// How far ahead an escalation asks for forecasts: far enough to tell when a degradation that
/// covers now ends.
pub const FORECAST_AHEAD: Duration = Duration::from_secs(6 * 3600);

/// A reset the head-end may ask for, gentlest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetKind {
    /// Delete the data session: the modem sets up a new one.
    DataSession,
    /// Cancel location: the modem must register again.
    CancelLocation,
}

/// What the operator told the head-end about one silent meter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gathered {
    /// The evidence the diagnosis reads (its `dlms` field is the head-end's own, left `None`).
    pub evidence: Evidence,
    /// The records it came from, in words, for the outage log.
    pub items: Vec<EvidenceItem>,
    /// The AAA record that starts the current run of refusals, for the next escalation.
    pub first_reject: Option<AaaRecord>,
}

/// A planned maintenance or forecast degradation ahead for a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellOutlook {
    pub cell: String,
    pub from: Timestamp,
    pub until: Timestamp,
    pub kind: OutlookKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlookKind {
    Maintenance,
    Degradation,
}

/// Why an operator call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("the operator refused: rate limit, retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the operator does not know this meter's SIM")]
    UnknownSim,
    #[error("the operator's API failed: {0}")]
    Failed(String),
}

/// Every operator call the head-end makes. `now` is the head-end's clock (virtual in simulation).
pub trait OperatorAdapter {
    /// Reachability, session status, AAA records with the utility's credential logbook, SIM
    /// status, maintenance and forecasts for the meter's cell, session set-up success rate.
    /// `earlier_reject` is the first refusal an earlier escalation of the same outage saw.
    fn gather(
        &self,
        meter: &MeterRef,
        now: Timestamp,
        earlier_reject: Option<&AaaRecord>,
    ) -> impl Future<Output = Result<Gathered, AdapterError>> + Send;

    /// Sends a wake-up SMS to the meter.
    fn wake_up(
        &self,
        meter: &MeterRef,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), AdapterError>> + Send;

    /// Asks for a reset; `Ok` carries the operator's reference for the audit trail.
    fn reset(
        &self,
        meter: &MeterRef,
        kind: ResetKind,
        reason: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<String, AdapterError>> + Send;

    /// Announced maintenance and forecast degradations for these cells in `[from, until)`.
    fn outlook(
        &self,
        cells: &[String],
        from: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<CellOutlook>, AdapterError>> + Send;
}
