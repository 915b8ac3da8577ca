//! The codec trait, the borrowing reader and the writer helpers every DLMS message uses.
//!
//! Decoding never panics and never trusts a length from the wire: every count is checked against
//! the bytes actually left before anything is allocated for it.

use std::fmt;

/// Why decoding stopped: the absolute byte offset and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DecodeError {}

pub type DecodeResult<T> = Result<T, DecodeError>;

/// A message with one wire form.
pub trait Codec: Sized {
    /// Appends the wire form to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Reads one value from the reader, leaving what follows it.
    fn read(r: &mut Reader<'_>) -> DecodeResult<Self>;

    /// The wire form as a new buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes a whole buffer, rejecting trailing bytes.
    fn from_bytes(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(buf);
        let value = Self::read(&mut r)?;
        r.expect_end()?;
        Ok(value)
    }
}

/// A cursor over borrowed bytes that knows its absolute offset for error messages.
///
/// The primitives are `#[inline]` with their error messages built in `#[cold]` functions, so a
/// decoder's success path compiles to bounds checks and loads, with no formatting code in it.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// A reader whose offsets start at `base` (for a buffer cut out of a larger one).
    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// The absolute offset of the next byte.
    #[inline]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// An error at the current offset.
    pub fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.offset(),
            message: message.into(),
        }
    }

    #[inline]
    pub fn take(&mut self, n: usize, what: &str) -> DecodeResult<&'a [u8]> {
        match self.buf.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(out) => {
                self.pos += n;
                Ok(out)
            }
            None => Err(self.too_short(n, what)),
        }
    }

    #[inline]
    pub fn array<const N: usize>(&mut self, what: &str) -> DecodeResult<[u8; N]> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Everything left, without consuming it.
    #[inline]
    pub fn peek_rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// A reader over the next `n` bytes, which this reader skips.
    #[inline]
    pub fn sub(&mut self, n: usize, what: &str) -> DecodeResult<Reader<'a>> {
        let base = self.offset();
        let bytes = self.take(n, what)?;
        Ok(Reader::with_base(bytes, base))
    }

    pub fn expect_end(&self) -> DecodeResult<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(format!("expected end of message, found {n} trailing bytes"))),
        }
    }

    #[inline]
    pub fn u8(&mut self, what: &str) -> DecodeResult<u8> {
        match self.peek() {
            Some(b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.end_of_input(what)),
        }
    }

    /// Reads one byte and checks it equals `value`.
    #[inline]
    pub fn expect_u8(&mut self, value: u8, what: &str) -> DecodeResult<()> {
        let found = self.u8(what)?;
        if found != value {
            return Err(self.unexpected_byte(value, found, what));
        }
        Ok(())
    }

    #[inline]
    pub fn i8(&mut self, what: &str) -> DecodeResult<i8> {
        Ok(self.u8(what)? as i8)
    }

    #[inline]
    pub fn u16(&mut self, what: &str) -> DecodeResult<u16> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub fn i16(&mut self, what: &str) -> DecodeResult<i16> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub fn u32(&mut self, what: &str) -> DecodeResult<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub fn i32(&mut self, what: &str) -> DecodeResult<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub fn u64(&mut self, what: &str) -> DecodeResult<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub fn i64(&mut self, what: &str) -> DecodeResult<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub fn bool(&mut self, what: &str) -> DecodeResult<bool> {
        Ok(self.u8(what)? != 0)
    }

    /// An A-XDR/BER length: one byte below 0x80, else 0x8n followed by n big-endian bytes.
    #[inline]
    pub fn length(&mut self, what: &str) -> DecodeResult<usize> {
        let first = self.u8(what)?;
        if first < 0x80 {
            return Ok(first as usize);
        }
        self.long_length(first, what)
    }

    /// The rest of a length whose first byte `first` (already read) is 0x80 or more.
    fn long_length(&mut self, first: u8, what: &str) -> DecodeResult<usize> {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 {
            return Err(DecodeError {
                offset: self.offset() - 1,
                message: format!(
                    "expected length of {what}, found unsupported length form 0x{first:02X}"
                ),
            });
        }
        let mut value = 0usize;
        for b in self.take(n, what)? {
            value = (value << 8) | *b as usize;
        }
        Ok(value)
    }

    /// A length that counts bytes which must all still be in the buffer.
    #[inline]
    pub fn byte_length(&mut self, what: &str) -> DecodeResult<usize> {
        let at = self.offset();
        let n = self.length(what)?;
        if n > self.remaining() {
            return Err(self.bytes_beyond_input(at, n, what));
        }
        Ok(n)
    }

    /// A length-prefixed byte string.
    #[inline]
    pub fn length_prefixed(&mut self, what: &str) -> DecodeResult<&'a [u8]> {
        let n = self.byte_length(what)?;
        self.take(n, what)
    }

    /// A count of elements each at least `min_size` bytes long, checked against what is left.
    #[inline]
    pub fn count(&mut self, min_size: usize, what: &str) -> DecodeResult<usize> {
        let at = self.offset();
        let n = self.length(what)?;
        if n.saturating_mul(min_size) > self.remaining() {
            return Err(self.elements_beyond_input(at, n, what));
        }
        Ok(n)
    }

    // The error paths, kept out of line so the primitives above stay small enough to inline.

    #[cold]
    #[inline(never)]
    fn end_of_input(&self, what: &str) -> DecodeError {
        self.error(format!("expected {what}, found end of input"))
    }

    #[cold]
    #[inline(never)]
    fn too_short(&self, n: usize, what: &str) -> DecodeError {
        self.error(format!(
            "expected {n} bytes of {what}, only {} left",
            self.remaining()
        ))
    }

    /// `found` was read at the previous offset where `value` was expected.
    #[cold]
    #[inline(never)]
    fn unexpected_byte(&self, value: u8, found: u8, what: &str) -> DecodeError {
        DecodeError {
            offset: self.offset() - 1,
            message: format!("expected {what} (0x{value:02X}), found 0x{found:02X}"),
        }
    }

    /// A length read at `at` announcing `n` bytes, more than are left.
    #[cold]
    #[inline(never)]
    fn bytes_beyond_input(&self, at: usize, n: usize, what: &str) -> DecodeError {
        DecodeError {
            offset: at,
            message: format!("{what} announces {n} bytes, only {} left", self.remaining()),
        }
    }

    /// A count read at `at` announcing `n` elements, more than the bytes left can hold.
    #[cold]
    #[inline(never)]
    fn elements_beyond_input(&self, at: usize, n: usize, what: &str) -> DecodeError {
        DecodeError {
            offset: at,
            message: format!(
                "{what} announces {n} elements, only {} bytes left",
                self.remaining()
            ),
        }
    }
}

/// Appends an A-XDR/BER length.
pub fn put_length(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xFF {
        out.extend_from_slice(&[0x81, n as u8]);
    } else if n <= 0xFFFF {
        out.push(0x82);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x84);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Appends a length-prefixed byte string.
pub fn put_length_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    put_length(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Encodes `body` into `out` behind a tag and its length, without a second buffer.
pub fn put_tlv(out: &mut Vec<u8>, tag: u8, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(tag);
    let len_at = out.len();
    out.push(0);
    body(out);
    let len = out.len() - len_at - 1;
    if len >= 0x80 {
        let mut prefix = Vec::with_capacity(5);
        put_length(&mut prefix, len);
        out.splice(len_at..len_at + 1, prefix);
    } else {
        out[len_at] = len as u8;
    }
}

/// Hex helpers for the command line, tests and error messages.
pub mod hex {
    /// Upper-case hex without separators.
    pub fn encode(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(DIGITS[(b >> 4) as usize] as char);
            s.push(DIGITS[(b & 15) as usize] as char);
        }
        s
    }

    /// Parses hex digits with white space, ':', '-' and ',' between them and optional `0x` prefixes;
    /// an error names the 1-based column.
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let mut nibbles = Vec::with_capacity(text.len());
        let mut chars = text.chars().enumerate().peekable();
        let mut after_separator = true;
        while let Some((i, c)) = chars.next() {
            if c.is_whitespace() || matches!(c, ':' | '-' | ',') {
                after_separator = true;
                continue;
            }
            if c == '0' && after_separator && matches!(chars.peek(), Some((_, 'x' | 'X'))) {
                chars.next();
                after_separator = false;
                continue;
            }
            after_separator = false;
            match c.to_digit(16) {
                Some(d) => nibbles.push(d as u8),
                None => return Err(format!("column {}: '{c}' is not a hex digit", i + 1)),
            }
        }
        if nibbles.len() % 2 != 0 {
            return Err(format!(
                "odd number of hex digits ({}): the last byte is missing a digit",
                nibbles.len()
            ));
        }
        Ok(nibbles.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_round_trip_every_length_form() {
        for (n, bytes) in [
            (0usize, &[0x00][..]),
            (0x7F, &[0x7F]),
            (0x80, &[0x81, 0x80]),
            (0xFF, &[0x81, 0xFF]),
            (0x100, &[0x82, 0x01, 0x00]),
            (0x1_0000, &[0x84, 0x00, 0x01, 0x00, 0x00]),
        ] {
            let mut out = Vec::new();
            put_length(&mut out, n);
            assert_eq!(out, bytes, "encode {n}");
            assert_eq!(
                Reader::new(bytes).length("length").unwrap(),
                n,
                "decode {n}"
            );
        }
    }

    #[test]
    fn rejects_length_beyond_input() {
        let err = Reader::new(&[0x82, 0xFF, 0xFF, 1, 2])
            .byte_length("octet-string")
            .unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(err.message.contains("65535"), "{err}");
    }

    #[test]
    fn rejects_indefinite_and_oversized_length_forms() {
        assert!(Reader::new(&[0x80]).length("x").is_err());
        assert!(Reader::new(&[0x85, 1, 1, 1, 1, 1]).length("x").is_err());
    }

    #[test]
    fn sub_reader_reports_absolute_offsets() {
        let mut r = Reader::new(&[1, 2, 3, 4]);
        r.u8("x").unwrap();
        let mut sub = r.sub(2, "inner").unwrap();
        sub.u8("y").unwrap();
        assert_eq!(sub.offset(), 2);
        assert_eq!(sub.u16("z").unwrap_err().offset, 2);
        assert_eq!(r.offset(), 3);
    }

    #[test]
    fn put_tlv_handles_long_bodies() {
        let mut out = Vec::new();
        put_tlv(&mut out, 0xBE, |o| o.extend_from_slice(&[7u8; 200]));
        assert_eq!(&out[..3], &[0xBE, 0x81, 200]);
        assert_eq!(out.len(), 203);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex::decode("0x0a Ff:00").unwrap(), vec![0x0A, 0xFF, 0]);
        assert_eq!(hex::encode(&[0x0A, 0xFF]), "0AFF");
        assert!(hex::decode("abc").is_err());
        assert!(hex::decode("zz").is_err());
    }
}
