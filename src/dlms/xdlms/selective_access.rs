//! Selective access to a Profile Generic buffer: by range (selector 1) and by entry (selector 2).

use serde::Serialize;

use super::read_optional_flag;
use crate::dlms::codec::{Codec, DecodeResult, Reader};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;

/// Selective-Access-Descriptor as on the wire: a selector and its parameters, kept whole so any
/// selector round-trips; [`SelectiveAccess::range`] and [`SelectiveAccess::entry`] type them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectiveAccess {
    pub selector: u8,
    pub parameters: Data,
}

impl SelectiveAccess {
    pub const RANGE: u8 = 1;
    pub const ENTRY: u8 = 2;

    /// The range descriptor, when the selector is 1 and the parameters have its shape.
    pub fn range(&self) -> Result<RangeDescriptor, String> {
        match self.selector {
            Self::RANGE => RangeDescriptor::from_data(&self.parameters),
            other => Err(format!("selector {other} is not a range descriptor")),
        }
    }

    /// The entry descriptor, when the selector is 2 and the parameters have its shape.
    pub fn entry(&self) -> Result<EntryDescriptor, String> {
        match self.selector {
            Self::ENTRY => EntryDescriptor::from_data(&self.parameters),
            other => Err(format!("selector {other} is not an entry descriptor")),
        }
    }

    /// Reads the OPTIONAL access selection that follows an attribute descriptor.
    pub(crate) fn read_optional(r: &mut Reader<'_>) -> DecodeResult<Option<Self>> {
        if !read_optional_flag(r, "access-selection")? {
            return Ok(None);
        }
        Ok(Some(SelectiveAccess {
            selector: r.u8("access-selector")?,
            parameters: Data::read(r)?,
        }))
    }

    pub(crate) fn encode_optional(this: &Option<Self>, out: &mut Vec<u8>) {
        match this {
            None => out.push(0),
            Some(access) => {
                out.extend_from_slice(&[1, access.selector]);
                access.parameters.encode(out);
            }
        }
    }
}

impl From<RangeDescriptor> for SelectiveAccess {
    fn from(range: RangeDescriptor) -> Self {
        SelectiveAccess {
            selector: Self::RANGE,
            parameters: range.to_data(),
        }
    }
}

impl From<EntryDescriptor> for SelectiveAccess {
    fn from(entry: EntryDescriptor) -> Self {
        SelectiveAccess {
            selector: Self::ENTRY,
            parameters: entry.to_data(),
        }
    }
}

/// A column of a profile: which attribute of which object, and which element of it (0 = whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CaptureObject {
    pub class_id: u16,
    pub logical_name: Obis,
    pub attribute: i8,
    pub data_index: u16,
}

impl CaptureObject {
    pub fn new(class_id: u16, logical_name: Obis, attribute: i8) -> Self {
        CaptureObject {
            class_id,
            logical_name,
            attribute,
            data_index: 0,
        }
    }

    /// The capture object definition `02 04 12 <class> 09 06 <OBIS> 0F <attr> 12 <index>`.
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![
            Data::LongUnsigned(self.class_id),
            Data::OctetString(self.logical_name.0.to_vec()),
            Data::Integer(self.attribute),
            Data::LongUnsigned(self.data_index),
        ])
    }

    pub fn from_data(data: &Data) -> Result<Self, String> {
        let shape = "a capture object is structure {long-unsigned class, octet-string(6) OBIS, integer attribute, long-unsigned data index}";
        match data.as_elements() {
            Some(
                [Data::LongUnsigned(class_id), Data::OctetString(ln), Data::Integer(attribute), Data::LongUnsigned(data_index)],
            ) if ln.len() == 6 => {
                let logical_name = Obis::from_bytes(ln).map_err(|e| e.to_string())?;
                Ok(CaptureObject {
                    class_id: *class_id,
                    logical_name,
                    attribute: *attribute,
                    data_index: *data_index,
                })
            }
            _ => Err(shape.to_string()),
        }
    }
}

/// range_descriptor: rows whose restricting column lies in [from, to], with the selected columns
/// (empty = all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeDescriptor {
    pub restricting_object: CaptureObject,
    pub from: Data,
    pub to: Data,
    pub selected_values: Vec<CaptureObject>,
}

impl RangeDescriptor {
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![
            self.restricting_object.to_data(),
            self.from.clone(),
            self.to.clone(),
            Data::Array(
                self.selected_values
                    .iter()
                    .map(CaptureObject::to_data)
                    .collect(),
            ),
        ])
    }

    pub fn from_data(data: &Data) -> Result<Self, String> {
        match data.as_elements() {
            Some([restricting, from, to, Data::Array(selected)]) => Ok(RangeDescriptor {
                restricting_object: CaptureObject::from_data(restricting)?,
                from: from.clone(),
                to: to.clone(),
                selected_values: selected.iter().map(CaptureObject::from_data).collect::<Result<_, _>>()?,
            }),
            _ => Err("a range descriptor is structure {capture object, from, to, array of capture objects}".into()),
        }
    }
}

/// entry_descriptor: rows `from_entry..=to_entry` (1-based, 0 = to the last) and columns
/// `from_selected_value..=to_selected_value` (1-based, 0 = to the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EntryDescriptor {
    pub from_entry: u32,
    pub to_entry: u32,
    pub from_selected_value: u16,
    pub to_selected_value: u16,
}

impl EntryDescriptor {
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![
            Data::DoubleLongUnsigned(self.from_entry),
            Data::DoubleLongUnsigned(self.to_entry),
            Data::LongUnsigned(self.from_selected_value),
            Data::LongUnsigned(self.to_selected_value),
        ])
    }

    pub fn from_data(data: &Data) -> Result<Self, String> {
        match data.as_elements() {
            Some([Data::DoubleLongUnsigned(from_entry), Data::DoubleLongUnsigned(to_entry), Data::LongUnsigned(from_sv), Data::LongUnsigned(to_sv)]) => {
                Ok(EntryDescriptor { from_entry: *from_entry, to_entry: *to_entry, from_selected_value: *from_sv, to_selected_value: *to_sv })
            }
            _ => Err("an entry descriptor is structure {double-long-unsigned from, double-long-unsigned to, long-unsigned from column, long-unsigned to column}".into()),
        }
    }
}
