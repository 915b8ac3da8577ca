//! A-XDR `Data`: the typed values every GET, SET, ACTION and push carries.

use serde::Serialize;

use super::codec::{put_length, put_length_prefixed, Codec, DecodeError, DecodeResult, Reader};
use super::datetime::{Date, DateTime, Time};
use super::serde_hex;

/// How deep arrays and structures may nest before a decoder refuses (a hostile frame of nested
/// array tags must not exhaust the stack).
pub const MAX_DEPTH: usize = 32;

/// A-XDR data tags (Green Book, `Data` CHOICE).
pub mod tag {
    pub const NULL: u8 = 0;
    pub const ARRAY: u8 = 1;
    pub const STRUCTURE: u8 = 2;
    pub const BOOLEAN: u8 = 3;
    pub const BIT_STRING: u8 = 4;
    pub const DOUBLE_LONG: u8 = 5;
    pub const DOUBLE_LONG_UNSIGNED: u8 = 6;
    pub const OCTET_STRING: u8 = 9;
    pub const VISIBLE_STRING: u8 = 10;
    pub const UTF8_STRING: u8 = 12;
    pub const BCD: u8 = 13;
    pub const INTEGER: u8 = 15;
    pub const LONG: u8 = 16;
    pub const UNSIGNED: u8 = 17;
    pub const LONG_UNSIGNED: u8 = 18;
    pub const COMPACT_ARRAY: u8 = 19;
    pub const LONG64: u8 = 20;
    pub const LONG64_UNSIGNED: u8 = 21;
    pub const ENUM: u8 = 22;
    pub const FLOAT32: u8 = 23;
    pub const FLOAT64: u8 = 24;
    pub const DATE_TIME: u8 = 25;
    pub const DATE: u8 = 26;
    pub const TIME: u8 = 27;
    pub const DONT_CARE: u8 = 255;
}

/// One A-XDR value. Strings keep their raw bytes so that any input re-encodes identically.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "kebab-case")]
pub enum Data {
    Null,
    Array(Vec<Data>),
    Structure(Vec<Data>),
    Boolean(bool),
    BitString(BitString),
    DoubleLong(i32),
    DoubleLongUnsigned(u32),
    OctetString(#[serde(serialize_with = "serde_hex::bytes")] Vec<u8>),
    VisibleString(#[serde(serialize_with = "serde_hex::text")] Vec<u8>),
    Utf8String(#[serde(serialize_with = "serde_hex::text")] Vec<u8>),
    Bcd(i8),
    Integer(i8),
    Long(i16),
    Unsigned(u8),
    LongUnsigned(u16),
    CompactArray(Box<CompactArray>),
    Long64(i64),
    Long64Unsigned(u64),
    Enum(u8),
    Float32(f32),
    Float64(f64),
    DateTime(DateTime),
    Date(Date),
    Time(Time),
    DontCare,
}

/// A bit-string: `bits` significant bits, most significant first, padded to whole bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BitString {
    pub bits: usize,
    #[serde(serialize_with = "serde_hex::bytes")]
    pub bytes: Vec<u8>,
}

/// A compact array: one type description, then values encoded without their tags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompactArray {
    pub description: TypeDescription,
    pub values: Vec<Data>,
}

/// The type of a compact array's elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TypeDescription {
    /// A type with no inner description, by its data tag.
    Simple(u8),
    Array {
        count: u16,
        element: Box<TypeDescription>,
    },
    Structure(Vec<TypeDescription>),
}

impl Data {
    /// The name the Green Book gives this value's type.
    pub fn type_name(&self) -> &'static str {
        type_name(self.tag())
    }

    /// The A-XDR tag of this value.
    pub fn tag(&self) -> u8 {
        match self {
            Data::Null => tag::NULL,
            Data::Array(_) => tag::ARRAY,
            Data::Structure(_) => tag::STRUCTURE,
            Data::Boolean(_) => tag::BOOLEAN,
            Data::BitString(_) => tag::BIT_STRING,
            Data::DoubleLong(_) => tag::DOUBLE_LONG,
            Data::DoubleLongUnsigned(_) => tag::DOUBLE_LONG_UNSIGNED,
            Data::OctetString(_) => tag::OCTET_STRING,
            Data::VisibleString(_) => tag::VISIBLE_STRING,
            Data::Utf8String(_) => tag::UTF8_STRING,
            Data::Bcd(_) => tag::BCD,
            Data::Integer(_) => tag::INTEGER,
            Data::Long(_) => tag::LONG,
            Data::Unsigned(_) => tag::UNSIGNED,
            Data::LongUnsigned(_) => tag::LONG_UNSIGNED,
            Data::CompactArray(_) => tag::COMPACT_ARRAY,
            Data::Long64(_) => tag::LONG64,
            Data::Long64Unsigned(_) => tag::LONG64_UNSIGNED,
            Data::Enum(_) => tag::ENUM,
            Data::Float32(_) => tag::FLOAT32,
            Data::Float64(_) => tag::FLOAT64,
            Data::DateTime(_) => tag::DATE_TIME,
            Data::Date(_) => tag::DATE,
            Data::Time(_) => tag::TIME,
            Data::DontCare => tag::DONT_CARE,
        }
    }

    /// The value of any integer type, widened.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Data::DoubleLong(v) => v.into(),
            Data::DoubleLongUnsigned(v) => v.into(),
            Data::Bcd(v) | Data::Integer(v) => v.into(),
            Data::Long(v) => v.into(),
            Data::Unsigned(v) | Data::Enum(v) => v.into(),
            Data::LongUnsigned(v) => v.into(),
            Data::Long64(v) => v.into(),
            Data::Long64Unsigned(v) => v.into(),
            _ => return None,
        })
    }

    /// The value of any numeric type as a float (integers and floats alike).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Data::Float32(v) => Some(v.into()),
            Data::Float64(v) => Some(v),
            _ => self.as_i128().map(|v| v as f64),
        }
    }

    pub fn as_octets(&self) -> Option<&[u8]> {
        match self {
            Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of an array or structure.
    pub fn as_elements(&self) -> Option<&[Data]> {
        match self {
            Data::Array(v) | Data::Structure(v) => Some(v),
            _ => None,
        }
    }

    /// A date-time, whether typed (tag 25) or carried as a 12-byte octet-string as most meters do.
    pub fn as_date_time(&self) -> Option<DateTime> {
        match self {
            Data::DateTime(dt) => Some(*dt),
            Data::OctetString(b) if b.len() == DateTime::LEN => DateTime::from_bytes(b).ok(),
            _ => None,
        }
    }

    fn read_at_depth(r: &mut Reader<'_>, depth: usize) -> DecodeResult<Self> {
        let at = r.offset();
        let tag = r.u8("data tag")?;
        match Self::read_body(r, tag, depth) {
            Ok(data) => Ok(data),
            Err(e) => Err(name_the_type(e, tag, at)),
        }
    }

    #[inline]
    fn read_body(r: &mut Reader<'_>, tag: u8, depth: usize) -> DecodeResult<Self> {
        Ok(match tag {
            tag::NULL => Data::Null,
            tag::ARRAY => Data::Array(read_elements(r, depth, "array")?),
            tag::STRUCTURE => Data::Structure(read_elements(r, depth, "structure")?),
            tag::BOOLEAN => Data::Boolean(r.bool("boolean")?),
            tag::BIT_STRING => Data::BitString(BitString::read(r)?),
            tag::DOUBLE_LONG => Data::DoubleLong(r.i32("double-long")?),
            tag::DOUBLE_LONG_UNSIGNED => Data::DoubleLongUnsigned(r.u32("double-long-unsigned")?),
            tag::OCTET_STRING => Data::OctetString(r.length_prefixed("octet-string")?.to_vec()),
            tag::VISIBLE_STRING => {
                Data::VisibleString(r.length_prefixed("visible-string")?.to_vec())
            }
            tag::UTF8_STRING => Data::Utf8String(r.length_prefixed("utf8-string")?.to_vec()),
            tag::BCD => Data::Bcd(r.i8("bcd")?),
            tag::INTEGER => Data::Integer(r.i8("integer")?),
            tag::LONG => Data::Long(r.i16("long")?),
            tag::UNSIGNED => Data::Unsigned(r.u8("unsigned")?),
            tag::LONG_UNSIGNED => Data::LongUnsigned(r.u16("long-unsigned")?),
            tag::COMPACT_ARRAY => Data::CompactArray(Box::new(CompactArray::read_at(r, depth)?)),
            tag::LONG64 => Data::Long64(r.i64("long64")?),
            tag::LONG64_UNSIGNED => Data::Long64Unsigned(r.u64("long64-unsigned")?),
            tag::ENUM => Data::Enum(r.u8("enum")?),
            tag::FLOAT32 => Data::Float32(f32::from_be_bytes(r.array("float32")?)),
            tag::FLOAT64 => Data::Float64(f64::from_be_bytes(r.array("float64")?)),
            tag::DATE_TIME => Data::DateTime(DateTime::read(r)?),
            tag::DATE => Data::Date(Date::read(r)?),
            tag::TIME => Data::Time(Time::read(r)?),
            tag::DONT_CARE => Data::DontCare,
            other => return Err(unknown_tag(r, other)),
        })
    }

    /// The value without its tag (inside a compact array), following `description`.
    fn encode_untagged(&self, out: &mut Vec<u8>) {
        match self {
            Data::Array(items) | Data::Structure(items) => {
                items.iter().for_each(|d| d.encode_untagged(out))
            }
            other => {
                let start = out.len();
                other.encode(out);
                out.remove(start);
            }
        }
    }
}

/// `tag`, just read, is not an A-XDR data tag.
#[cold]
#[inline(never)]
fn unknown_tag(r: &Reader<'_>, tag: u8) -> DecodeError {
    DecodeError {
        offset: r.offset() - 1,
        message: format!("expected an A-XDR data tag, found unknown tag {tag} (0x{tag:02X})"),
    }
}

/// Says which value a read failing right after the tag at `at` was for.
#[cold]
#[inline(never)]
fn name_the_type(mut e: DecodeError, tag: u8, at: usize) -> DecodeError {
    if e.offset == at + 1 && e.message.starts_with("expected") {
        e.message = format!("{} (for {} at byte {at})", e.message, type_name(tag));
    }
    e
}

/// A compact human form: numbers plainly, strings as text, octet-strings as hex (or as a date-time
/// when they hold a valid one), arrays as `[..]` and structures as `{..}`.
impl std::fmt::Display for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::dlms::codec::hex;
        let list = |f: &mut std::fmt::Formatter<'_>, items: &[Data], open: &str, close: &str| {
            f.write_str(open)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(close)
        };
        match self {
            Data::Null => f.write_str("null"),
            Data::DontCare => f.write_str("dont-care"),
            Data::Array(items) => list(f, items, "[", "]"),
            Data::Structure(items) => list(f, items, "{", "}"),
            Data::CompactArray(c) => list(f, &c.values, "[", "]"),
            Data::Boolean(b) => write!(f, "{b}"),
            Data::BitString(b) => write!(f, "{}", hex::encode(&b.bytes)),
            Data::OctetString(b) => {
                match self.as_date_time().filter(|dt| dt.local_unix().is_some()) {
                    Some(dt) => write!(f, "{dt}"),
                    None => f.write_str(&hex::encode(b)),
                }
            }
            Data::VisibleString(b) | Data::Utf8String(b) => {
                f.write_str(&String::from_utf8_lossy(b))
            }
            Data::Float32(v) => write!(f, "{v}"),
            Data::Float64(v) => write!(f, "{v}"),
            Data::DateTime(v) => write!(f, "{v}"),
            Data::Date(v) => write!(f, "{v}"),
            Data::Time(v) => write!(f, "{v}"),
            other => write!(f, "{}", other.as_i128().unwrap_or_default()),
        }
    }
}

fn read_elements(r: &mut Reader<'_>, depth: usize, what: &str) -> DecodeResult<Vec<Data>> {
    if depth >= MAX_DEPTH {
        return Err(r.error(format!("{what} nested deeper than {MAX_DEPTH} levels")));
    }
    let n = r.count(1, what)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(Data::read_at_depth(r, depth + 1)?);
    }
    Ok(items)
}

impl Codec for Data {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match self {
            Data::Null | Data::DontCare => {}
            Data::Array(items) | Data::Structure(items) => {
                put_length(out, items.len());
                items.iter().for_each(|d| d.encode(out));
            }
            Data::Boolean(b) => out.push(*b as u8),
            Data::BitString(b) => b.encode(out),
            Data::DoubleLong(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::DoubleLongUnsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => {
                put_length_prefixed(out, b)
            }
            Data::Bcd(v) | Data::Integer(v) => out.push(*v as u8),
            Data::Long(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Unsigned(v) | Data::Enum(v) => out.push(*v),
            Data::LongUnsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::CompactArray(c) => c.encode(out),
            Data::Long64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Long64Unsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Float32(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Float64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::DateTime(v) => v.encode(out),
            Data::Date(v) => v.encode(out),
            Data::Time(v) => v.encode(out),
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Self::read_at_depth(r, 0)
    }
}

impl Codec for BitString {
    fn encode(&self, out: &mut Vec<u8>) {
        put_length(out, self.bits);
        out.extend_from_slice(&self.bytes);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let bits = r.length("bit-string length")?;
        let bytes = r.take(bits.div_ceil(8), "bit-string")?.to_vec();
        Ok(BitString { bits, bytes })
    }
}

impl CompactArray {
    fn encode(&self, out: &mut Vec<u8>) {
        self.description.encode(out);
        let mut contents = Vec::new();
        self.values
            .iter()
            .for_each(|v| v.encode_untagged(&mut contents));
        put_length_prefixed(out, &contents);
    }

    fn read_at(r: &mut Reader<'_>, depth: usize) -> DecodeResult<Self> {
        let description = TypeDescription::read_at(r, depth)?;
        let len = r.byte_length("compact-array contents")?;
        let mut contents = r.sub(len, "compact-array contents")?;
        let mut values = Vec::new();
        while !contents.is_empty() {
            let before = contents.remaining();
            values.push(description.read_value(&mut contents, depth + 1)?);
            if contents.remaining() == before {
                return Err(
                    contents.error("compact-array element of zero size: contents cannot be split")
                );
            }
        }
        Ok(CompactArray {
            description,
            values,
        })
    }
}

impl TypeDescription {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TypeDescription::Simple(tag) => out.push(*tag),
            TypeDescription::Array { count, element } => {
                out.push(tag::ARRAY);
                out.extend_from_slice(&count.to_be_bytes());
                element.encode(out);
            }
            TypeDescription::Structure(items) => {
                out.push(tag::STRUCTURE);
                put_length(out, items.len());
                items.iter().for_each(|t| t.encode(out));
            }
        }
    }

    fn read_at(r: &mut Reader<'_>, depth: usize) -> DecodeResult<Self> {
        if depth >= MAX_DEPTH {
            return Err(r.error(format!(
                "type description nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let at = r.offset();
        Ok(match r.u8("type description tag")? {
            tag::ARRAY => {
                let count = r.u16("compact array element count")?;
                let element = Box::new(Self::read_at(r, depth + 1)?);
                TypeDescription::Array { count, element }
            }
            tag::STRUCTURE => {
                let n = r.count(1, "structure type description")?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(Self::read_at(r, depth + 1)?);
                }
                TypeDescription::Structure(items)
            }
            tag::COMPACT_ARRAY | tag::DONT_CARE => {
                return Err(DecodeError {
                    offset: at,
                    message: "expected a type description, found a type that cannot be described"
                        .into(),
                })
            }
            simple if is_known_tag(simple) => TypeDescription::Simple(simple),
            other => {
                return Err(DecodeError {
                    offset: at,
                    message: format!("expected a type description, found unknown tag {other}"),
                })
            }
        })
    }

    /// Reads one untagged value of this type.
    fn read_value(&self, r: &mut Reader<'_>, depth: usize) -> DecodeResult<Data> {
        if depth >= MAX_DEPTH {
            return Err(r.error(format!(
                "compact array nested deeper than {MAX_DEPTH} levels"
            )));
        }
        match self {
            TypeDescription::Simple(tag) => Data::read_body(r, *tag, depth),
            TypeDescription::Array { count, element } => {
                if *count as usize > r.remaining() {
                    return Err(r.error(format!(
                        "compact array announces {count} elements, only {} bytes left",
                        r.remaining()
                    )));
                }
                let items = (0..*count)
                    .map(|_| element.read_value(r, depth + 1))
                    .collect::<Result<_, _>>()?;
                Ok(Data::Array(items))
            }
            TypeDescription::Structure(types) => {
                let items = types
                    .iter()
                    .map(|t| t.read_value(r, depth + 1))
                    .collect::<Result<_, _>>()?;
                Ok(Data::Structure(items))
            }
        }
    }
}

fn is_known_tag(tag: u8) -> bool {
    type_name(tag) != "unknown"
}

/// The Green Book name of a data tag.
pub fn type_name(tag: u8) -> &'static str {
    match tag {
        tag::NULL => "null-data",
        tag::ARRAY => "array",
        tag::STRUCTURE => "structure",
        tag::BOOLEAN => "boolean",
        tag::BIT_STRING => "bit-string",
        tag::DOUBLE_LONG => "double-long",
        tag::DOUBLE_LONG_UNSIGNED => "double-long-unsigned",
        tag::OCTET_STRING => "octet-string",
        tag::VISIBLE_STRING => "visible-string",
        tag::UTF8_STRING => "utf8-string",
        tag::BCD => "bcd",
        tag::INTEGER => "integer",
        tag::LONG => "long",
        tag::UNSIGNED => "unsigned",
        tag::LONG_UNSIGNED => "long-unsigned",
        tag::COMPACT_ARRAY => "compact-array",
        tag::LONG64 => "long64",
        tag::LONG64_UNSIGNED => "long64-unsigned",
        tag::ENUM => "enum",
        tag::FLOAT32 => "float32",
        tag::FLOAT64 => "float64",
        tag::DATE_TIME => "date-time",
        tag::DATE => "date",
        tag::TIME => "time",
        tag::DONT_CARE => "dont-care",
        _ => "unknown",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::codec::hex;
    use proptest::prelude::*;

    fn d(hex_text: &str) -> Vec<u8> {
        hex::decode(hex_text).unwrap()
    }

    /// (value, bytes): drives both encode and decode. Sources: REFERENCE.md §1 (A-XDR tags) and
    /// the Green Book's A-XDR examples; the scaler_unit and capture object shapes are Blue Book's.
    fn vectors() -> Vec<(Data, Vec<u8>)> {
        let dt = DateTime::from_bytes(&d("07EA0B1A040D000000FFC400")).unwrap();
        vec![
            (Data::Null, d("00")),
            (Data::Boolean(true), d("0301")),
            (
                Data::BitString(BitString {
                    bits: 10,
                    bytes: vec![0xFF, 0xC0],
                }),
                d("040AFFC0"),
            ),
            (Data::DoubleLong(-2), d("05FFFFFFFE")),
            (Data::DoubleLongUnsigned(5009), d("0600001391")),
            (
                Data::OctetString(vec![0, 0, 43, 1, 0, 255]),
                d("090600002B0100FF"),
            ),
            (Data::VisibleString(b"ABC".to_vec()), d("0A03414243")),
            (Data::Utf8String("é".as_bytes().to_vec()), d("0C02C3A9")),
            (Data::Bcd(0x12), d("0D12")),
            (Data::Integer(-3), d("0FFD")),
            (Data::Long(-300), d("10FED4")),
            (Data::Unsigned(200), d("11C8")),
            (Data::LongUnsigned(0xFFFF), d("12FFFF")),
            (Data::Long64(-1), d("14FFFFFFFFFFFFFFFF")),
            (Data::Long64Unsigned(1 << 40), d("150000010000000000")),
            (Data::Enum(30), d("161E")),
            (Data::Float32(1.5), d("173FC00000")),
            (Data::Float64(-2.0), d("18C000000000000000")),
            (Data::DateTime(dt), d("1907EA0B1A040D000000FFC400")),
            (Data::Date(dt.date), d("1A07EA0B1A04")),
            (Data::Time(dt.time), d("1B0D000000")),
            (Data::DontCare, d("FF")),
            // Register scaler_unit: scaler 0, unit 30 (Wh).
            (
                Data::Structure(vec![Data::Integer(0), Data::Enum(30)]),
                d("02020F00161E"),
            ),
            (Data::Array(vec![]), d("0100")),
            (
                Data::OctetString(vec![0xAB; 200]),
                [d("0981C8"), vec![0xAB; 200]].concat(),
            ),
            (
                Data::Array(vec![Data::Null; 300]),
                [d("0182012C"), vec![0; 300]].concat(),
            ),
            (
                Data::CompactArray(Box::new(CompactArray {
                    description: TypeDescription::Structure(vec![
                        TypeDescription::Simple(tag::LONG_UNSIGNED),
                        TypeDescription::Simple(tag::OCTET_STRING),
                    ]),
                    values: vec![
                        Data::Structure(vec![Data::LongUnsigned(1), Data::OctetString(vec![0xAA])]),
                        Data::Structure(vec![Data::LongUnsigned(2), Data::OctetString(vec![])]),
                    ],
                })),
                d("1302021209" /* description */)
                    .into_iter()
                    .chain(d("07 0001 01AA 0002 00"))
                    .collect(),
            ),
            (
                Data::CompactArray(Box::new(CompactArray {
                    description: TypeDescription::Array {
                        count: 2,
                        element: Box::new(TypeDescription::Simple(tag::UNSIGNED)),
                    },
                    values: vec![Data::Array(vec![Data::Unsigned(1), Data::Unsigned(2)])],
                })),
                d("13 01 0002 11 02 0102"),
            ),
        ]
    }

    #[test]
    fn decodes_every_vector() {
        for (value, bytes) in vectors() {
            assert_eq!(
                Data::from_bytes(&bytes).unwrap(),
                value,
                "{}",
                hex::encode(&bytes)
            );
        }
    }

    #[test]
    fn encodes_every_vector() {
        for (value, bytes) in vectors() {
            assert_eq!(
                hex::encode(&value.to_bytes()),
                hex::encode(&bytes),
                "{value:?}"
            );
        }
    }

    #[test]
    fn rejects_unknown_tag_with_offset() {
        let err = Data::from_bytes(&d("0202 11 01 1C")).unwrap_err();
        assert_eq!(err.offset, 4);
        assert!(err.message.contains("unknown tag 28"), "{err}");
    }

    #[test]
    fn rejects_count_beyond_input_without_allocating() {
        let err = Data::from_bytes(&d("01 84 7FFFFFFF 00")).unwrap_err();
        assert!(err.message.contains("elements"), "{err}");
    }

    #[test]
    fn rejects_deep_nesting() {
        let bytes: Vec<u8> = std::iter::repeat_n([1u8, 1], 10_000)
            .flatten()
            .chain([0])
            .collect();
        let err = Data::from_bytes(&bytes).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err}");
    }

    #[test]
    fn rejects_truncated_value_naming_its_type() {
        let err = Data::from_bytes(&d("06 0000 13")).unwrap_err();
        assert!(err.message.contains("double-long-unsigned"), "{err}");
    }

    #[test]
    fn rejects_zero_size_compact_elements() {
        assert!(Data::from_bytes(&d("13 00 01 00")).is_err());
    }

    #[test]
    fn displays_compactly() {
        let data =
            Data::from_bytes(&d("0203 090C07EA0B1A040D000000FFC400 0600001391 0A024142")).unwrap();
        assert_eq!(data.to_string(), "{2026-11-26T13:00:00+01:00, 5009, AB}");
    }

    #[test]
    fn reads_date_time_in_octet_string() {
        let data = Data::from_bytes(&d("090C07EA0B1A040D000000FFC400")).unwrap();
        assert_eq!(data.as_date_time().unwrap().time.hour, 13);
    }

    #[test]
    fn serializes_readably() {
        let json = serde_json::to_string(&Data::Structure(vec![
            Data::OctetString(vec![1, 2]),
            Data::VisibleString(b"MMM".to_vec()),
            Data::DoubleLongUnsigned(7),
        ]))
        .unwrap();
        assert_eq!(
            json,
            r#"{"type":"structure","value":[{"type":"octet-string","value":"0102"},{"type":"visible-string","value":"MMM"},{"type":"double-long-unsigned","value":7}]}"#
        );
    }

    pub fn arb_data() -> impl Strategy<Value = Data> {
        let leaf = prop_oneof![
            Just(Data::Null),
            any::<bool>().prop_map(Data::Boolean),
            any::<i32>().prop_map(Data::DoubleLong),
            any::<u32>().prop_map(Data::DoubleLongUnsigned),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Data::OctetString),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Data::VisibleString),
            any::<i8>().prop_map(Data::Integer),
            any::<i16>().prop_map(Data::Long),
            any::<u8>().prop_map(Data::Unsigned),
            any::<u16>().prop_map(Data::LongUnsigned),
            any::<i64>().prop_map(Data::Long64),
            any::<u64>().prop_map(Data::Long64Unsigned),
            any::<u8>().prop_map(Data::Enum),
            any::<u32>().prop_map(|b| Data::Float32(f32::from_bits(b))),
            any::<u64>().prop_map(|b| Data::Float64(f64::from_bits(b))),
            any::<[u8; 12]>().prop_map(|b| Data::DateTime(DateTime::from_bytes(&b).unwrap())),
            (0usize..40).prop_flat_map(|bits| proptest::collection::vec(
                any::<u8>(),
                bits.div_ceil(8)
            )
            .prop_map(move |bytes| Data::BitString(BitString { bits, bytes }))),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Data::Array),
                proptest::collection::vec(inner, 0..8).prop_map(Data::Structure),
            ]
        })
    }

    proptest! {
        #[test]
        fn can_round_trip_generated_values(value in arb_data()) {
            let bytes = value.to_bytes();
            let decoded = Data::from_bytes(&bytes).unwrap();
            prop_assert_eq!(decoded.to_bytes(), bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            // Non-minimal lengths and booleans other than 0/1 decode, so compare canonical forms.
            if let Ok(value) = Data::from_bytes(&bytes) {
                let canonical = value.to_bytes();
                prop_assert_eq!(Data::from_bytes(&canonical).unwrap().to_bytes(), canonical);
            }
        }
    }
}
