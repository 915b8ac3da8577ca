//! The few BER building blocks the ACSE APDUs need: elements, small integers, bit strings.

use crate::dlms::codec::{put_length_prefixed, put_tlv, DecodeError, DecodeResult, Reader};
use crate::dlms::serde_hex;
use serde::Serialize;

/// An element of an ACSE APDU this crate does not model, kept so the APDU re-encodes unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownElement {
    pub tag: u8,
    #[serde(serialize_with = "serde_hex::bytes")]
    pub contents: Vec<u8>,
}

impl UnknownElement {
    /// The tag number (low 5 bits), which orders elements on the wire.
    pub fn number(&self) -> u8 {
        self.tag & 0x1F
    }
}

/// Puts unknown elements in the order [`ElementWriter`] writes them (stable by tag number), so
/// that a decoded APDU equals the decoding of its own encoding even when a peer sent them
/// out of order.
pub(crate) fn in_wire_order(mut unknown: Vec<UnknownElement>) -> Vec<UnknownElement> {
    unknown.sort_by_key(UnknownElement::number);
    unknown
}

/// A BER BIT STRING: the count of unused bits in the last byte, then the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BitString {
    pub unused_bits: u8,
    #[serde(serialize_with = "serde_hex::bytes")]
    pub bytes: Vec<u8>,
}

impl BitString {
    /// The one-bit string with bit 0 set (`07 80`): protocol-version version1, and the
    /// authentication functional unit of the ACSE requirements.
    pub fn first_bit() -> Self {
        BitString {
            unused_bits: 7,
            bytes: vec![0x80],
        }
    }

    /// Whether bit `n` (0 = most significant bit of the first byte) is present and set.
    pub fn is_set(&self, n: usize) -> bool {
        let len = (self.bytes.len() * 8).saturating_sub(self.unused_bits as usize);
        n < len
            && self
                .bytes
                .get(n / 8)
                .is_some_and(|b| b & (0x80 >> (n % 8)) != 0)
    }

    pub(crate) fn read_contents(c: &mut Reader<'_>) -> DecodeResult<Self> {
        let at = c.offset();
        let unused_bits = c.u8("BIT STRING unused-bit count")?;
        if unused_bits > 7 || (unused_bits > 0 && c.is_empty()) {
            return Err(DecodeError {
                offset: at,
                message: format!(
                    "expected a BIT STRING unused-bit count of 0..7 with data, found {unused_bits}"
                ),
            });
        }
        Ok(BitString {
            unused_bits,
            bytes: c.rest().to_vec(),
        })
    }

    pub(crate) fn put_contents(&self, out: &mut Vec<u8>) {
        out.push(self.unused_bits);
        out.extend_from_slice(&self.bytes);
    }
}

/// Reads one element: its single-byte tag and a reader over its contents, which must fit in `r`.
pub(crate) fn read_element<'a>(r: &mut Reader<'a>, what: &str) -> DecodeResult<(u8, Reader<'a>)> {
    let at = r.offset();
    let tag = r.u8(what)?;
    if tag & 0x1F == 0x1F {
        return Err(DecodeError {
            offset: at,
            message: format!(
                "expected a one-byte tag for {what}, found high-tag-number form 0x{tag:02X}"
            ),
        });
    }
    let n = r.byte_length(what)?;
    Ok((tag, r.sub(n, what)?))
}

/// Reads an element that must carry `tag`, returning a reader over its contents.
pub(crate) fn expect_element<'a>(
    r: &mut Reader<'a>,
    tag: u8,
    what: &str,
) -> DecodeResult<Reader<'a>> {
    r.expect_u8(tag, what)?;
    let n = r.byte_length(what)?;
    r.sub(n, what)
}

/// Parses all of `c` with `f`, rejecting anything `f` leaves over.
pub(crate) fn whole<'a, T>(
    mut c: Reader<'a>,
    f: impl FnOnce(&mut Reader<'a>) -> DecodeResult<T>,
) -> DecodeResult<T> {
    let value = f(&mut c)?;
    c.expect_end()?;
    Ok(value)
}

/// One element of an APDU body, about to be parsed into its field.
pub(crate) struct Field<'a> {
    pub tag: u8,
    at: usize,
    name: &'static str,
    contents: Reader<'a>,
}

impl<'a> Field<'a> {
    /// Reads the next element of `body`; `name` gives each known tag's ASN.1 name.
    pub fn read(
        body: &mut Reader<'a>,
        what: &str,
        name: fn(u8) -> &'static str,
    ) -> DecodeResult<Self> {
        let at = body.offset();
        let (tag, contents) = read_element(body, what)?;
        Ok(Field {
            tag,
            at,
            name: name(tag),
            contents,
        })
    }

    /// Parses all the contents into `slot`, rejecting a second element with this tag.
    pub fn set<T>(
        self,
        slot: &mut Option<T>,
        parse: impl FnOnce(&mut Reader<'a>) -> DecodeResult<T>,
    ) -> DecodeResult<()> {
        if slot.is_some() {
            return Err(DecodeError {
                offset: self.at,
                message: format!("expected one {} element, found a second", self.name),
            });
        }
        *slot = Some(whole(self.contents, parse)?);
        Ok(())
    }

    /// An AP title or AE qualifier: one OCTET STRING inside.
    pub fn octets(self, slot: &mut Option<Vec<u8>>) -> DecodeResult<()> {
        let name = self.name;
        self.set(slot, |c| read_octet_string(c, name))
    }

    /// An invocation identifier: one INTEGER inside.
    pub fn integer(self, slot: &mut Option<i64>) -> DecodeResult<()> {
        let name = self.name;
        self.set(slot, |c| read_integer(c, name))
    }

    /// Contents kept as they are (implementation-information).
    pub fn raw(self, slot: &mut Option<Vec<u8>>) -> DecodeResult<()> {
        self.set(slot, |c| Ok(c.rest().to_vec()))
    }

    pub fn unknown(mut self) -> UnknownElement {
        UnknownElement {
            tag: self.tag,
            contents: self.contents.rest().to_vec(),
        }
    }
}

/// An OCTET STRING (`04 len bytes`), the form DLMS gives AP titles and AE qualifiers.
pub(crate) fn read_octet_string(c: &mut Reader<'_>, what: &str) -> DecodeResult<Vec<u8>> {
    Ok(expect_element(c, 0x04, what)?.rest().to_vec())
}

pub(crate) fn put_octet_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(0x04);
    put_length_prefixed(out, bytes);
}

/// A one-byte INTEGER (`02 01 v`), as results and diagnostics are sent; the byte is kept as is.
pub(crate) fn read_small_integer(c: &mut Reader<'_>, what: &str) -> DecodeResult<u8> {
    c.expect_u8(0x02, what)?;
    c.expect_u8(0x01, what)?;
    c.u8(what)
}

pub(crate) fn put_small_integer(out: &mut Vec<u8>, value: u8) {
    out.extend_from_slice(&[0x02, 0x01, value]);
}

/// An INTEGER of 1 to 8 bytes (`02 len ..`), two's complement.
pub(crate) fn read_integer(c: &mut Reader<'_>, what: &str) -> DecodeResult<i64> {
    let mut body = expect_element(c, 0x02, what)?;
    if body.remaining() == 0 || body.remaining() > 8 {
        return Err(body.error(format!(
            "expected 1 to 8 bytes of {what}, found {}",
            body.remaining()
        )));
    }
    let bytes = body.rest();
    let sign = if bytes[0] & 0x80 != 0 { -1i64 } else { 0 };
    Ok(bytes.iter().fold(sign, |acc, b| (acc << 8) | *b as i64))
}

pub(crate) fn put_integer(out: &mut Vec<u8>, value: i64) {
    let bytes = value.to_be_bytes();
    // Drop leading bytes that only repeat the sign of the next one.
    let skip = bytes
        .windows(2)
        .take_while(|w| (w[0] == 0x00 && w[1] & 0x80 == 0) || (w[0] == 0xFF && w[1] & 0x80 != 0))
        .count();
    out.push(0x02);
    put_length_prefixed(out, &bytes[skip..]);
}

/// The DLMS-UA object identifier prefix 2.16.756.5.8, then the arc naming its kind.
const DLMS_UA_OID: [u8; 5] = [0x60, 0x85, 0x74, 0x05, 0x08];

/// Reads the contents of a DLMS-UA OID `60 85 74 05 08 <kind> <id>`, returning `id`.
pub(crate) fn read_dlms_oid(c: &mut Reader<'_>, kind: u8, what: &str) -> DecodeResult<u8> {
    let at = c.offset();
    let prefix = c.take(6, what)?;
    if prefix[..5] != DLMS_UA_OID || prefix[5] != kind {
        return Err(DecodeError {
            offset: at,
            message: format!(
                "expected {what} OID 2.16.756.5.8.{kind}.x (60 85 74 05 08 {kind:02X} ..)"
            ),
        });
    }
    // The last arc is base 128; one byte below 128, two bytes up to 255.
    let at = c.offset();
    let arc = match c.rest() {
        [id] if *id < 0x80 => *id,
        [hi @ 0x81, lo] if *lo < 0x80 => (hi & 0x7F) << 7 | lo,
        _ => {
            return Err(DecodeError {
                offset: at,
                message: format!("expected a last {what} OID arc of 0..255"),
            })
        }
    };
    Ok(arc)
}

pub(crate) fn put_dlms_oid(out: &mut Vec<u8>, kind: u8, id: u8) {
    out.extend_from_slice(&DLMS_UA_OID);
    out.push(kind);
    if id < 0x80 {
        out.push(id);
    } else {
        out.extend_from_slice(&[0x80 | id >> 7, id & 0x7F]);
    }
}

/// Writes the elements of an ACSE APDU in tag-number order, slotting the unknown ones in
/// after any known element with the same number.
pub(crate) struct ElementWriter<'o, 'u> {
    out: &'o mut Vec<u8>,
    unknown: Vec<&'u UnknownElement>,
    next: usize,
}

impl<'o, 'u> ElementWriter<'o, 'u> {
    pub fn new(out: &'o mut Vec<u8>, unknown: &'u [UnknownElement]) -> Self {
        let mut unknown: Vec<_> = unknown.iter().collect();
        unknown.sort_by_key(|e| e.number());
        ElementWriter {
            out,
            unknown,
            next: 0,
        }
    }

    /// Writes one known element, after the unknown elements with a lower tag number.
    pub fn element(&mut self, tag: u8, body: impl FnOnce(&mut Vec<u8>)) {
        self.flush_below(tag & 0x1F);
        put_tlv(self.out, tag, body);
    }

    /// Writes AP title, AE qualifier, AP invocation id and AE invocation id from tag `first` on:
    /// the called group of an AARQ (0xA2..0xA5), the calling group (0xA6..0xA9), or the
    /// responding group of an AARE (0xA4..0xA7).
    pub fn titles_and_ids(
        &mut self,
        first: u8,
        [ap_title, ae_qualifier]: [&Option<Vec<u8>>; 2],
        [ap_invocation_id, ae_invocation_id]: [Option<i64>; 2],
    ) {
        if let Some(t) = ap_title {
            self.element(first, |o| put_octet_string(o, t));
        }
        if let Some(q) = ae_qualifier {
            self.element(first + 1, |o| put_octet_string(o, q));
        }
        if let Some(id) = ap_invocation_id {
            self.element(first + 2, |o| put_integer(o, id));
        }
        if let Some(id) = ae_invocation_id {
            self.element(first + 3, |o| put_integer(o, id));
        }
    }

    /// Writes the unknown elements not yet written.
    pub fn finish(mut self) {
        self.flush_below(u8::MAX);
    }

    fn flush_below(&mut self, number: u8) {
        while let Some(e) = self.unknown.get(self.next).filter(|e| e.number() < number) {
            self.out.push(e.tag);
            put_length_prefixed(self.out, &e.contents);
            self.next += 1;
        }
    }
}
