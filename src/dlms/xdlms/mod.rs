//! xDLMS services for logical-name referencing: GET, SET, ACTION, notifications and errors.

mod action;
mod errors;
mod get;
mod notification;
mod selective_access;
mod set;

pub use action::{ActionOutcome, ActionRequest, ActionResponse, ActionResult};
pub use errors::{
    ConfirmedService, ConfirmedServiceError, DataAccessResult, ExceptionResponse, ServiceError,
    StateError,
};
pub use get::{DataBlockG, GetDataResult, GetRequest, GetResponse, GetResponseRef, RawOrResult};
pub use notification::{DataNotification, EventNotification, LongInvokeIdAndPriority};
pub use selective_access::{CaptureObject, EntryDescriptor, RangeDescriptor, SelectiveAccess};
pub use set::{DataBlockSA, SetRequest, SetResponse};

use serde::Serialize;

use super::codec::{Codec, DecodeResult, Reader};
use super::obis::Obis;

/// xDLMS APDU tags (Green Book).
pub mod tag {
    pub const INITIATE_REQUEST: u8 = 0x01;
    pub const INITIATE_RESPONSE: u8 = 0x08;
    pub const CONFIRMED_SERVICE_ERROR: u8 = 0x0E;
    pub const DATA_NOTIFICATION: u8 = 0x0F;
    pub const GET_REQUEST: u8 = 0xC0;
    pub const SET_REQUEST: u8 = 0xC1;
    pub const EVENT_NOTIFICATION_REQUEST: u8 = 0xC2;
    pub const ACTION_REQUEST: u8 = 0xC3;
    pub const GET_RESPONSE: u8 = 0xC4;
    pub const SET_RESPONSE: u8 = 0xC5;
    pub const ACTION_RESPONSE: u8 = 0xC7;
    pub const EXCEPTION_RESPONSE: u8 = 0xD8;
}

/// Invoke-Id-And-Priority: invoke id in bits 0..3, confirmed in bit 6, high priority in bit 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvokeIdAndPriority(pub u8);

impl InvokeIdAndPriority {
    pub fn new(invoke_id: u8, confirmed: bool, high_priority: bool) -> Self {
        InvokeIdAndPriority(
            (invoke_id & 0x0F) | (confirmed as u8) << 6 | (high_priority as u8) << 7,
        )
    }

    pub fn invoke_id(self) -> u8 {
        self.0 & 0x0F
    }

    pub fn confirmed(self) -> bool {
        self.0 & 0x40 != 0
    }

    pub fn high_priority(self) -> bool {
        self.0 & 0x80 != 0
    }
}

impl Codec for InvokeIdAndPriority {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(InvokeIdAndPriority(r.u8("invoke-id-and-priority")?))
    }
}

impl Serialize for InvokeIdAndPriority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("InvokeIdAndPriority", 3)?;
        st.serialize_field("invoke_id", &self.invoke_id())?;
        st.serialize_field("confirmed", &self.confirmed())?;
        st.serialize_field("high_priority", &self.high_priority())?;
        st.end()
    }
}

/// Cosem-Attribute-Descriptor: which attribute of which object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct AttributeDescriptor {
    pub class_id: u16,
    pub instance: Obis,
    pub attribute: i8,
}

impl AttributeDescriptor {
    pub fn new(class_id: u16, instance: Obis, attribute: i8) -> Self {
        AttributeDescriptor {
            class_id,
            instance,
            attribute,
        }
    }
}

impl Codec for AttributeDescriptor {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.class_id.to_be_bytes());
        self.instance.encode(out);
        out.push(self.attribute as u8);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(AttributeDescriptor {
            class_id: r.u16("class id")?,
            instance: Obis::read(r)?,
            attribute: r.i8("attribute id")?,
        })
    }
}

/// Cosem-Method-Descriptor: which method of which object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MethodDescriptor {
    pub class_id: u16,
    pub instance: Obis,
    pub method: i8,
}

impl Codec for MethodDescriptor {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.class_id.to_be_bytes());
        self.instance.encode(out);
        out.push(self.method as u8);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(MethodDescriptor {
            class_id: r.u16("class id")?,
            instance: Obis::read(r)?,
            method: r.i8("method id")?,
        })
    }
}

/// Reads the A-XDR OPTIONAL marker: 0 absent, 1 present.
pub(crate) fn read_optional_flag(r: &mut Reader<'_>, what: &str) -> DecodeResult<bool> {
    let at = r.offset();
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(crate::dlms::codec::DecodeError {
            offset: at,
            message: format!(
                "expected 00 or 01 marking {what} absent or present, found 0x{other:02X}"
            ),
        }),
    }
}

/// Reads a CHOICE tag, naming the value found when it is not one of `allowed`.
pub(crate) fn read_choice(r: &mut Reader<'_>, what: &str, allowed: &[u8]) -> DecodeResult<u8> {
    let at = r.offset();
    let choice = r.u8(what)?;
    if !allowed.contains(&choice) {
        return Err(crate::dlms::codec::DecodeError {
            offset: at,
            message: format!("expected {what} (one of {allowed:?}), found {choice}"),
        });
    }
    Ok(choice)
}

/// A sequence counted by an A-XDR length, each element at least `min_size` bytes.
pub(crate) fn read_seq<T>(
    r: &mut Reader<'_>,
    min_size: usize,
    what: &str,
    mut item: impl FnMut(&mut Reader<'_>) -> DecodeResult<T>,
) -> DecodeResult<Vec<T>> {
    let n = r.count(min_size, what)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(item(r)?);
    }
    Ok(out)
}

pub(crate) fn put_seq<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&T, &mut Vec<u8>)) {
    super::codec::put_length(out, items.len());
    items.iter().for_each(|i| item(i, out));
}

#[cfg(test)]
mod tests;
