//! Unsolicited messages from a server: Data-Notification (0x0F, pushes) and EventNotificationRequest (0xC2).

use serde::Serialize;

use super::{read_optional_flag, tag, AttributeDescriptor};
use crate::dlms::codec::{Codec, DecodeError, DecodeResult, Reader};
use crate::dlms::data::Data;
use crate::dlms::datetime::DateTime;

/// Long-Invoke-Id-And-Priority: invoke id in bits 0..23, self-descriptive bit 28, break-on-error
/// bit 29, confirmed bit 30, high priority bit 31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LongInvokeIdAndPriority(pub u32);

impl LongInvokeIdAndPriority {
    pub fn new(invoke_id: u32, confirmed: bool, high_priority: bool) -> Self {
        LongInvokeIdAndPriority(
            (invoke_id & 0x00FF_FFFF) | (confirmed as u32) << 30 | (high_priority as u32) << 31,
        )
    }

    pub fn invoke_id(self) -> u32 {
        self.0 & 0x00FF_FFFF
    }

    pub fn self_descriptive(self) -> bool {
        self.0 & 1 << 28 != 0
    }

    pub fn break_on_error(self) -> bool {
        self.0 & 1 << 29 != 0
    }

    pub fn confirmed(self) -> bool {
        self.0 & 1 << 30 != 0
    }

    pub fn high_priority(self) -> bool {
        self.0 & 1 << 31 != 0
    }
}

impl Serialize for LongInvokeIdAndPriority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LongInvokeIdAndPriority", 5)?;
        st.serialize_field("invoke_id", &self.invoke_id())?;
        st.serialize_field("self_descriptive", &self.self_descriptive())?;
        st.serialize_field("break_on_error", &self.break_on_error())?;
        st.serialize_field("confirmed", &self.confirmed())?;
        st.serialize_field("high_priority", &self.high_priority())?;
        st.end()
    }
}

/// Data-Notification: a push, e.g. a meter announcing itself after a wake-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataNotification {
    pub invoke: LongInvokeIdAndPriority,
    pub date_time: Option<DateTime>,
    pub body: Data,
}

impl Codec for DataNotification {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::DATA_NOTIFICATION);
        out.extend_from_slice(&self.invoke.0.to_be_bytes());
        match &self.date_time {
            None => out.push(0),
            Some(dt) => {
                out.push(DateTime::LEN as u8);
                dt.encode(out);
            }
        }
        self.body.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::DATA_NOTIFICATION, "data-notification tag")?;
        let invoke = LongInvokeIdAndPriority(r.u32("long-invoke-id-and-priority")?);
        let at = r.offset();
        let date_time = match r.length("date-time length")? {
            0 => None,
            DateTime::LEN => Some(DateTime::read(r)?),
            other => {
                return Err(DecodeError {
                    offset: at,
                    message: format!("expected a date-time of 0 or 12 bytes, found length {other}"),
                })
            }
        };
        Ok(DataNotification {
            invoke,
            date_time,
            body: Data::read(r)?,
        })
    }
}

/// EventNotificationRequest: an attribute's value sent without being asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventNotification {
    pub time: Option<DateTime>,
    pub attribute: AttributeDescriptor,
    pub value: Data,
}

impl Codec for EventNotification {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::EVENT_NOTIFICATION_REQUEST);
        match &self.time {
            None => out.push(0),
            Some(dt) => {
                out.extend_from_slice(&[1, DateTime::LEN as u8]);
                dt.encode(out);
            }
        }
        self.attribute.encode(out);
        self.value.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(
            tag::EVENT_NOTIFICATION_REQUEST,
            "event-notification-request tag",
        )?;
        let time = match read_optional_flag(r, "time")? {
            false => None,
            true => {
                r.expect_u8(DateTime::LEN as u8, "date-time length")?;
                Some(DateTime::read(r)?)
            }
        };
        Ok(EventNotification {
            time,
            attribute: AttributeDescriptor::read(r)?,
            value: Data::read(r)?,
        })
    }
}
