//! SMS to devices: queued at the SMSC, delivered only to registered modems, expiring after their
//! validity, with a delivery receipt. A delivered SMS is how a wake-up reaches a meter.

use serde::Serialize;

use super::ids::Iccid;
use super::time::Timestamp;

/// The longest text accepted (one GSM 7-bit SMS).
pub const MAX_SMS_CHARS: usize = 160;

/// A delivery receipt's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SmsStatus {
    Queued,
    Delivered,
    Expired,
}

/// One SMS and its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sms {
    pub id: String,
    #[serde(skip)]
    pub iccid: Iccid,
    pub text: String,
    pub submitted_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: SmsStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    pub requested_by: String,
}
