//! A borrowed view of one encoded A-XDR value: validated in one pass, then read in place without
//! allocating. The head-end's hot path (load-profile rows from thousands of meters) reads through
//! it; [`Data`] is the owned form for everything else.

use super::codec::{Codec, DecodeResult, Reader};
use super::data::{tag, Data, MAX_DEPTH};
use super::datetime::DateTime;

/// Exactly one encoded value, tag included, known to be well-formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataView<'a> {
    bytes: &'a [u8],
}

impl<'a> DataView<'a> {
    /// Validates the next value and returns a view of its bytes.
    pub fn read(r: &mut Reader<'a>) -> DecodeResult<Self> {
        let rest = r.peek_rest();
        let len = match encoded_len(rest, 0) {
            Some(len) => len,
            // Something is off (or it is a compact array): the owned decoder says what, and where.
            None => {
                let mut owned = r.clone();
                Data::read(&mut owned)?;
                r.remaining() - owned.remaining()
            }
        };
        let bytes = r.take(len, "data")?;
        Ok(DataView { bytes })
    }

    /// Validates a whole buffer holding one value.
    pub fn from_bytes(bytes: &'a [u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let view = Self::read(&mut r)?;
        r.expect_end()?;
        Ok(view)
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn tag(&self) -> u8 {
        self.bytes[0]
    }

    /// The elements of an array or structure (none for other types).
    pub fn elements(&self) -> Elements<'a> {
        match self.tag() {
            tag::ARRAY | tag::STRUCTURE => match length(&self.bytes[1..]) {
                Some((count, header)) => Elements {
                    rest: &self.bytes[1 + header..],
                    left: count,
                },
                None => Elements { rest: &[], left: 0 },
            },
            _ => Elements { rest: &[], left: 0 },
        }
    }

    /// Any integer type, widened.
    pub fn as_i128(&self) -> Option<i128> {
        let b = &self.bytes[1..];
        let be = |n: usize| {
            b.get(..n)
                .map(|s| s.iter().fold(0u64, |acc, x| acc << 8 | *x as u64))
        };
        Some(match self.tag() {
            tag::DOUBLE_LONG_UNSIGNED => u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as i128,
            tag::UNSIGNED | tag::ENUM => *b.first()? as i128,
            tag::INTEGER | tag::BCD => *b.first()? as i8 as i128,
            tag::LONG_UNSIGNED => be(2)? as i128,
            tag::LONG => be(2)? as u16 as i16 as i128,
            tag::DOUBLE_LONG => be(4)? as u32 as i32 as i128,
            tag::LONG64_UNSIGNED => be(8)? as i128,
            tag::LONG64 => be(8)? as i64 as i128,
            _ => return None,
        })
    }

    /// The bytes of an octet-, visible- or utf8-string.
    pub fn as_octets(&self) -> Option<&'a [u8]> {
        match self.tag() {
            tag::OCTET_STRING | tag::VISIBLE_STRING | tag::UTF8_STRING => {
                let (n, header) = length(&self.bytes[1..])?;
                self.bytes.get(1 + header..1 + header + n)
            }
            _ => None,
        }
    }

    /// A date-time, typed or in a 12-byte octet-string.
    pub fn as_date_time(&self) -> Option<DateTime> {
        match self.tag() {
            tag::DATE_TIME => DateTime::from_bytes(&self.bytes[1..]).ok(),
            _ => self
                .as_octets()
                .filter(|b| b.len() == DateTime::LEN)
                .and_then(|b| DateTime::from_bytes(b).ok()),
        }
    }

    /// The owned value.
    pub fn to_data(&self) -> DecodeResult<Data> {
        Data::from_bytes(self.bytes)
    }
}

/// The elements of an array or structure, each a view.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = DataView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Validated when the view was made, so this cannot fail; stop rather than panic anyway.
        let len = encoded_len(self.rest, 0).or_else(|| {
            DataView::read(&mut Reader::new(self.rest))
                .ok()
                .map(|v| v.bytes.len())
        })?;
        let (bytes, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(DataView { bytes })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// Body sizes of the fixed-size types by tag; `VARIABLE` for the others and unknown tags.
const VARIABLE: u8 = 0xFF;
const FIXED: [u8; 256] = {
    let mut t = [VARIABLE; 256];
    t[tag::NULL as usize] = 0;
    t[tag::DONT_CARE as usize] = 0;
    t[tag::BOOLEAN as usize] = 1;
    t[tag::BCD as usize] = 1;
    t[tag::INTEGER as usize] = 1;
    t[tag::UNSIGNED as usize] = 1;
    t[tag::ENUM as usize] = 1;
    t[tag::LONG as usize] = 2;
    t[tag::LONG_UNSIGNED as usize] = 2;
    t[tag::DOUBLE_LONG as usize] = 4;
    t[tag::DOUBLE_LONG_UNSIGNED as usize] = 4;
    t[tag::FLOAT32 as usize] = 4;
    t[tag::TIME as usize] = 4;
    t[tag::DATE as usize] = 5;
    t[tag::LONG64 as usize] = 8;
    t[tag::LONG64_UNSIGNED as usize] = 8;
    t[tag::FLOAT64 as usize] = 8;
    t[tag::DATE_TIME as usize] = 12;
    t
};

/// The encoded length of the value at the start of `b`, if it is well-formed and not a compact
/// array; `None` sends the caller to the owned decoder for the error (or the compact array).
#[inline]
fn encoded_len(b: &[u8], depth: usize) -> Option<usize> {
    let &t = b.first()?;
    match FIXED[t as usize] {
        VARIABLE => variable_len(b, t, depth),
        body => ((body as usize) < b.len()).then_some(1 + body as usize),
    }
}

fn variable_len(b: &[u8], t: u8, depth: usize) -> Option<usize> {
    let rest = &b[1..];
    let body = match t {
        tag::OCTET_STRING | tag::VISIBLE_STRING | tag::UTF8_STRING => {
            let (n, header) = length(rest)?;
            header.checked_add(n)?
        }
        tag::BIT_STRING => {
            let (bits, header) = length(rest)?;
            header + bits.div_ceil(8)
        }
        tag::ARRAY | tag::STRUCTURE if depth < MAX_DEPTH => {
            let (n, header) = length(rest)?;
            if n > rest.len() - header {
                return None;
            }
            let mut at = header;
            for _ in 0..n {
                at += encoded_len(rest.get(at..)?, depth + 1)?;
            }
            at
        }
        _ => return None,
    };
    (body <= rest.len()).then_some(1 + body)
}

/// An A-XDR length and how many bytes it took.
fn length(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let value = b
        .get(1..1 + n)?
        .iter()
        .fold(0usize, |acc, x| acc << 8 | *x as usize);
    Some((value, 1 + n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_profile_row_in_place() {
        let bytes = crate::dlms::codec::hex::decode(
            "0201 0204 090C07EA0B1A040D000000FFC400 1100 0600001391 06FFFFFFFF",
        )
        .unwrap();
        let view = DataView::from_bytes(&bytes).unwrap();
        let row = view.elements().next().unwrap();
        let cells: Vec<_> = row.elements().collect();
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].as_date_time().unwrap().time.hour, 13);
        assert_eq!(cells[2].as_i128(), Some(5009));
        assert_eq!(cells[3].as_i128(), Some(u32::MAX as i128));
        assert_eq!(view.to_data().unwrap().to_bytes(), bytes);
    }

    #[test]
    fn rejects_what_the_owned_decoder_rejects() {
        for bad in ["0102 0600", "1C", "09 05 0102", "01 84 7FFFFFFF 00"] {
            let bytes = crate::dlms::codec::hex::decode(bad).unwrap();
            let view = DataView::from_bytes(&bytes).unwrap_err();
            assert_eq!(
                view.offset,
                Data::from_bytes(&bytes).unwrap_err().offset,
                "{bad}: {view}"
            );
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_owned_decoder(value in crate::dlms::data::tests::arb_data()) {
            let bytes = value.to_bytes();
            let view = DataView::from_bytes(&bytes).unwrap();
            prop_assert_eq!(view.to_data().unwrap().to_bytes(), bytes.clone());
            prop_assert_eq!(view.elements().count(), value.as_elements().map_or(0, |e| e.len()));
            prop_assert_eq!(view.as_i128(), value.as_i128());
        }

        #[test]
        fn accepts_exactly_what_the_owned_decoder_accepts(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            prop_assert_eq!(DataView::from_bytes(&bytes).is_ok(), Data::from_bytes(&bytes).is_ok());
        }
    }
}
