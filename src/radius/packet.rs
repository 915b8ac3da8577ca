//! The RADIUS packet (RFC 2865 §3): a 20-byte header, then attributes as type-length-value.
//!
//! `code u8 | identifier u8 | length u16 | authenticator [u8; 16] | attributes`, big-endian.
//! [`PacketView::new_checked`] checks the header and walks every attribute before any accessor
//! reads it, so nothing here panics on wire data and nothing is allocated for a length the datagram
//! does not hold. Bytes after the announced length are padding and ignored (RFC 2865 §3); a
//! datagram shorter than its announced length is invalid.
//!
//! [`Packet`] is the owned form. Attributes keep unknown types; a Vendor-Specific attribute whose
//! value holds a vendor id and well-formed sub-attributes (RFC 2865 §5.26's suggested format, which
//! 3GPP uses) decodes as [`Attribute::Vendor`], any other as raw bytes, so encoding what was decoded
//! gives back the same bytes. Authenticators and hidden passwords are computed elsewhere
//! ([`super::authenticator`], [`super::password`]): a packet here is just bytes and fields.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::dictionary::{AttributeType, Code};
use crate::dlms::codec::{hex, DecodeError, DecodeResult, Reader};

/// The header size, which is fixed.
pub const HEADER_LEN: usize = 20;
/// The largest packet RFC 2865 §3 allows.
pub const MAX_PACKET_LEN: usize = 4096;
/// The longest attribute value (the length byte counts type and length too).
pub const MAX_VALUE_LEN: usize = 253;
/// The size of the Request and Response Authenticators.
pub const AUTHENTICATOR_LEN: usize = 16;

/// The 16-byte authenticator field.
pub type Authenticator = [u8; AUTHENTICATOR_LEN];

/// The byte ranges of the header fields.
pub mod field {
    use std::ops::{Range, RangeFrom};

    pub const CODE: usize = 0;
    pub const IDENTIFIER: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const AUTHENTICATOR: Range<usize> = 4..20;
    pub const ATTRIBUTES: RangeFrom<usize> = 20..;
}

/// A checked view of a RADIUS packet over bytes.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PacketView<T> {
    /// A view once the header is whole, the announced length fits the datagram and the
    /// attributes fill it exactly.
    pub fn new_checked(buffer: T) -> DecodeResult<Self> {
        let bytes = buffer.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError {
                offset: bytes.len(),
                message: format!(
                    "expected a {HEADER_LEN}-byte RADIUS header, found {} bytes",
                    bytes.len()
                ),
            });
        }
        let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let length_error = |message: String| DecodeError {
            offset: field::LENGTH.start,
            message,
        };
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
            return Err(length_error(format!(
                "packet length {length} is outside {HEADER_LEN}..={MAX_PACKET_LEN}"
            )));
        }
        if length > bytes.len() {
            return Err(length_error(format!(
                "packet announces {length} bytes, the datagram holds {}",
                bytes.len()
            )));
        }
        let view = PacketView { buffer };
        for attribute in view.raw_attributes() {
            attribute?;
        }
        Ok(view)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn code(&self) -> Code {
        Code::from_wire(self.buffer.as_ref()[field::CODE])
    }

    pub fn identifier(&self) -> u8 {
        self.buffer.as_ref()[field::IDENTIFIER]
    }

    /// The announced length, header included.
    pub fn length(&self) -> usize {
        let bytes = &self.buffer.as_ref()[field::LENGTH];
        usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    pub fn authenticator(&self) -> Authenticator {
        let mut out = [0u8; AUTHENTICATOR_LEN];
        out.copy_from_slice(&self.buffer.as_ref()[field::AUTHENTICATOR]);
        out
    }

    /// The packet without padding.
    pub fn bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.length()]
    }

    /// Each attribute as (type, value, offset of its type byte).
    pub fn raw_attributes(&self) -> RawAttributes<'_> {
        let bytes = self.buffer.as_ref();
        let end = usize::from(u16::from_be_bytes([bytes[2], bytes[3]])).min(bytes.len());
        RawAttributes {
            reader: Reader::with_base(&bytes[HEADER_LEN..end], HEADER_LEN),
        }
    }

    /// The first attribute of a type, with the offset of its type byte.
    pub fn find(&self, kind: AttributeType) -> Option<(usize, &[u8])> {
        self.raw_attributes()
            .flatten()
            .find(|a| a.kind == kind)
            .map(|a| (a.offset, a.value))
    }
}

/// One attribute as it sits in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    pub kind: AttributeType,
    pub value: &'a [u8],
    /// Where its type byte is in the packet.
    pub offset: usize,
}

/// Walks the attribute list, stopping at the first malformed one.
#[derive(Debug, Clone)]
pub struct RawAttributes<'a> {
    reader: Reader<'a>,
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = DecodeResult<RawAttribute<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.is_empty() {
            return None;
        }
        let item =
            read_tlv(&mut self.reader, "attribute").map(|(kind, value, offset)| RawAttribute {
                kind: AttributeType::from_wire(kind),
                value,
                offset,
            });
        if item.is_err() {
            self.reader.rest();
        }
        Some(item)
    }
}

/// Reads one type-length-value whose length byte counts itself and the type.
fn read_tlv<'a>(r: &mut Reader<'a>, what: &str) -> DecodeResult<(u8, &'a [u8], usize)> {
    let offset = r.offset();
    let kind = r.u8(what)?;
    let length = usize::from(r.u8(what)?);
    if length < 2 {
        return Err(DecodeError {
            offset: offset + 1,
            message: format!("{what} type {kind} has length {length}, the minimum is 2"),
        });
    }
    let value = r.take(length - 2, what).map_err(|_| DecodeError {
        offset: offset + 1,
        message: format!(
            "{what} type {kind} announces {length} bytes, only {} left",
            r.remaining() + 2
        ),
    })?;
    Ok((kind, value, offset))
}

/// One sub-attribute of a Vendor-Specific attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorAttribute {
    pub kind: u8,
    #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
    pub value: Vec<u8>,
}

/// One attribute, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Attribute {
    /// Any attribute kept as bytes, including a Vendor-Specific one in a vendor's own format.
    Raw {
        kind: AttributeType,
        #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
        value: Vec<u8>,
    },
    /// A Vendor-Specific attribute (26) in the type-length-value format of RFC 2865 §5.26.
    Vendor {
        vendor: u32,
        attributes: Vec<VendorAttribute>,
    },
}

impl Attribute {
    pub fn octets(kind: AttributeType, value: impl Into<Vec<u8>>) -> Self {
        Attribute::Raw {
            kind,
            value: value.into(),
        }
    }

    pub fn text(kind: AttributeType, value: &str) -> Self {
        Self::octets(kind, value.as_bytes())
    }

    pub fn integer(kind: AttributeType, value: u32) -> Self {
        Self::octets(kind, value.to_be_bytes())
    }

    pub fn ipv4(kind: AttributeType, value: Ipv4Addr) -> Self {
        Self::octets(kind, value.octets())
    }

    /// A Vendor-Specific attribute with one sub-attribute.
    pub fn vendor(vendor: u32, kind: u8, value: impl Into<Vec<u8>>) -> Self {
        Attribute::Vendor {
            vendor,
            attributes: vec![VendorAttribute {
                kind,
                value: value.into(),
            }],
        }
    }

    pub fn kind(&self) -> AttributeType {
        match self {
            Attribute::Raw { kind, .. } => *kind,
            Attribute::Vendor { .. } => AttributeType::VendorSpecific,
        }
    }

    /// The value of a raw attribute.
    pub fn value(&self) -> Option<&[u8]> {
        match self {
            Attribute::Raw { value, .. } => Some(value),
            Attribute::Vendor { .. } => None,
        }
    }

    /// Decodes one attribute from its type and value.
    fn from_wire(kind: AttributeType, value: &[u8]) -> Self {
        if kind == AttributeType::VendorSpecific {
            if let Some(vendor) = parse_vendor(value) {
                return vendor;
            }
        }
        Attribute::octets(kind, value)
    }

    /// Appends the wire form; fails when a value is longer than one attribute can carry.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&[self.kind().to_wire(), 0]);
        match self {
            Attribute::Raw { value, .. } => out.extend_from_slice(value),
            Attribute::Vendor { vendor, attributes } => {
                out.extend_from_slice(&vendor.to_be_bytes());
                for sub in attributes {
                    let length = sub.value.len() + 2;
                    if length > usize::from(u8::MAX) {
                        return Err(EncodeError::ValueTooLong {
                            kind: self.kind(),
                            length: sub.value.len(),
                        });
                    }
                    out.extend_from_slice(&[sub.kind, length as u8]);
                    out.extend_from_slice(&sub.value);
                }
            }
        }
        let value_len = out.len() - start - 2;
        if value_len > MAX_VALUE_LEN {
            return Err(EncodeError::ValueTooLong {
                kind: self.kind(),
                length: value_len,
            });
        }
        out[start + 1] = (value_len + 2) as u8;
        Ok(())
    }
}

/// A vendor id and sub-attributes that fill the value exactly, or `None`.
fn parse_vendor(value: &[u8]) -> Option<Attribute> {
    let mut r = Reader::new(value);
    let vendor = r.u32("vendor id").ok()?;
    let mut attributes = Vec::new();
    while !r.is_empty() {
        let (kind, value, _) = read_tlv(&mut r, "vendor attribute").ok()?;
        attributes.push(VendorAttribute {
            kind,
            value: value.to_vec(),
        });
    }
    if attributes.is_empty() {
        return None;
    }
    Some(Attribute::Vendor { vendor, attributes })
}

/// Why a packet cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "{kind} value of {length} bytes is longer than the {MAX_VALUE_LEN} an attribute carries"
    )]
    ValueTooLong { kind: AttributeType, length: usize },
    #[error("packet of {0} bytes is longer than the {MAX_PACKET_LEN} RADIUS allows")]
    PacketTooLong(usize),
    #[error("User-Password of {0} bytes is longer than the 128 RFC 2865 §5.2 allows")]
    PasswordTooLong(usize),
}

/// A RADIUS packet, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Packet {
    pub code: Code,
    pub identifier: u8,
    #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
    pub authenticator: Authenticator,
    pub attributes: Vec<Attribute>,
}

impl Packet {
    /// A packet with no attributes and a zero authenticator.
    pub fn new(code: Code, identifier: u8) -> Self {
        Packet {
            code,
            identifier,
            authenticator: [0; AUTHENTICATOR_LEN],
            attributes: Vec::new(),
        }
    }

    /// Decodes a datagram, ignoring padding after the announced length.
    pub fn decode(datagram: &[u8]) -> DecodeResult<Self> {
        let view = PacketView::new_checked(datagram)?;
        Ok(Self::from_view(&view))
    }

    /// The owned form of a checked view.
    pub fn from_view<T: AsRef<[u8]>>(view: &PacketView<T>) -> Self {
        Packet {
            code: view.code(),
            identifier: view.identifier(),
            authenticator: view.authenticator(),
            attributes: view
                .raw_attributes()
                .flatten()
                .map(|a| Attribute::from_wire(a.kind, a.value))
                .collect(),
        }
    }

    /// The wire form, with the authenticator field as it is.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(HEADER_LEN + 16 * self.attributes.len());
        out.extend_from_slice(&[self.code.to_wire(), self.identifier, 0, 0]);
        out.extend_from_slice(&self.authenticator);
        for attribute in &self.attributes {
            attribute.encode(&mut out)?;
            if out.len() > MAX_PACKET_LEN {
                return Err(EncodeError::PacketTooLong(out.len()));
            }
        }
        let length = out.len() as u16;
        out[field::LENGTH].copy_from_slice(&length.to_be_bytes());
        Ok(out)
    }

    pub fn push(&mut self, attribute: Attribute) -> &mut Self {
        self.attributes.push(attribute);
        self
    }

    /// Builder form of [`push`](Self::push).
    pub fn with(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// The values of every raw attribute of a type, in order.
    pub fn all(&self, kind: AttributeType) -> impl Iterator<Item = &[u8]> {
        self.attributes
            .iter()
            .filter(move |a| a.kind() == kind)
            .filter_map(Attribute::value)
    }

    /// The value of the first raw attribute of a type.
    pub fn first(&self, kind: AttributeType) -> Option<&[u8]> {
        self.all(kind).next()
    }

    /// A text attribute, with invalid UTF-8 replaced (text from the wire is shown, never trusted).
    pub fn text(&self, kind: AttributeType) -> Option<String> {
        self.first(kind)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Several text attributes of one type joined (Reply-Message may be split, RFC 2865 §5.18).
    pub fn joined_text(&self, kind: AttributeType) -> Option<String> {
        let parts: Vec<&[u8]> = self.all(kind).collect();
        if parts.is_empty() {
            return None;
        }
        Some(String::from_utf8_lossy(&parts.concat()).into_owned())
    }

    /// A 32-bit integer attribute; `None` when absent or not 4 bytes long.
    pub fn integer(&self, kind: AttributeType) -> Option<u32> {
        let bytes: [u8; 4] = self.first(kind)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }

    /// An IPv4 address attribute; `None` when absent or not 4 bytes long.
    pub fn ipv4(&self, kind: AttributeType) -> Option<Ipv4Addr> {
        let bytes: [u8; 4] = self.first(kind)?.try_into().ok()?;
        Some(Ipv4Addr::from(bytes))
    }

    /// The first sub-attribute of a vendor and type.
    pub fn vendor_value(&self, vendor: u32, kind: u8) -> Option<&[u8]> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Vendor {
                vendor: v,
                attributes,
            } if *v == vendor => attributes
                .iter()
                .find(|s| s.kind == kind)
                .map(|s| s.value.as_slice()),
            _ => None,
        })
    }

    /// One line per attribute for logs and the command line.
    pub fn describe(&self) -> String {
        let mut out = format!("{} id={}", self.code, self.identifier);
        for attribute in &self.attributes {
            match attribute {
                Attribute::Raw { kind, value } => {
                    out.push_str(&format!("\n  {kind} = {}", show_value(value)))
                }
                Attribute::Vendor { vendor, attributes } => {
                    for sub in attributes {
                        out.push_str(&format!(
                            "\n  Vendor-{vendor}-Attr-{} = {}",
                            sub.kind,
                            show_value(&sub.value)
                        ));
                    }
                }
            }
        }
        out
    }
}

/// Printable text in quotes, anything else as hex.
fn show_value(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) if !text.is_empty() && text.chars().all(|c| !c.is_control()) => {
            format!("{text:?}")
        }
        _ => format!("0x{}", hex::encode(value)),
    }
}
