//! A borrowed view of one encoded A-XDR value: validated in one pass, then read in place without
//! allocating. The head-end's hot path (load-profile rows from thousands of meters) reads through
//! it; [`Data`] is the owned form for everything else.
//!
//! Validation walks the tags once, without recursion, and is the only place the nesting depth is
//! checked. Iterating the elements afterwards only needs each element's length: known from the tag
//! for a fixed-size leaf, a length for a string, a count-down walk for a nested array or structure.
//!
//! A profile buffer is an array of rows of one shape, and both passes use that. Validation walks
//! the first element ("row") of the outermost array or structure, notes the bytes that steered
//! the walk (tags and lengths), and accepts each following row holding the same bytes at the same
//! offsets without walking it; a row that differs is walked. It also notes whether every row has
//! the same length, and if so iteration steps from row to row by that length.

use super::codec::{Codec, DecodeResult, Reader};
use super::data::{tag, Data, MAX_DEPTH};
use super::datetime::DateTime;

/// Exactly one encoded value, tag included, known to be well-formed.
#[derive(Clone, Copy)]
pub struct DataView<'a> {
    bytes: &'a [u8],
    /// The length every element of this array or structure has, when validation found them all
    /// the same; 0 when unknown.
    stride: usize,
}

impl<'a> DataView<'a> {
    /// Validates the next value and returns a view of its bytes.
    pub fn read(r: &mut Reader<'a>) -> DecodeResult<Self> {
        let (len, stride) = match validated_len(r.peek_rest()) {
            Some(found) => found,
            None => (owned_len(r)?, 0),
        };
        let bytes = r.take(len, "data")?;
        Ok(DataView { bytes, stride })
    }

    /// Validates a whole buffer holding one value.
    pub fn from_bytes(bytes: &'a [u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let view = Self::read(&mut r)?;
        r.expect_end()?;
        Ok(view)
    }

    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    #[inline]
    pub fn tag(&self) -> u8 {
        // Never empty: a view holds a validated value, tag included.
        self.bytes.first().copied().unwrap_or(tag::NULL)
    }

    /// The bytes after the tag.
    #[inline]
    fn body(&self) -> &'a [u8] {
        self.bytes.get(1..).unwrap_or_default()
    }

    /// The elements of an array or structure (none for other types).
    #[inline]
    pub fn elements(&self) -> Elements<'a> {
        let none = Elements {
            rest: &[],
            left: 0,
            stride: 0,
        };
        match self.tag() {
            tag::ARRAY | tag::STRUCTURE => match length(self.body()) {
                Some((count, header)) => Elements {
                    rest: self.body().get(header..).unwrap_or_default(),
                    left: count,
                    stride: self.stride,
                },
                None => none,
            },
            _ => none,
        }
    }

    /// Any integer type, widened.
    #[inline]
    pub fn as_i128(&self) -> Option<i128> {
        let b = self.body();
        Some(match self.tag() {
            tag::DOUBLE_LONG_UNSIGNED => u32::from_be_bytes(be(b)?) as i128,
            tag::UNSIGNED | tag::ENUM => *b.first()? as i128,
            tag::INTEGER | tag::BCD => *b.first()? as i8 as i128,
            tag::LONG_UNSIGNED => u16::from_be_bytes(be(b)?) as i128,
            tag::LONG => i16::from_be_bytes(be(b)?) as i128,
            tag::DOUBLE_LONG => i32::from_be_bytes(be(b)?) as i128,
            tag::LONG64_UNSIGNED => u64::from_be_bytes(be(b)?) as i128,
            tag::LONG64 => i64::from_be_bytes(be(b)?) as i128,
            _ => return None,
        })
    }

    /// The bytes of an octet-, visible- or utf8-string.
    #[inline]
    pub fn as_octets(&self) -> Option<&'a [u8]> {
        match self.tag() {
            tag::OCTET_STRING | tag::VISIBLE_STRING | tag::UTF8_STRING => {
                let (n, header) = length(self.body())?;
                self.body().get(header..header.checked_add(n)?)
            }
            _ => None,
        }
    }

    /// A date-time, typed or in a 12-byte octet-string.
    pub fn as_date_time(&self) -> Option<DateTime> {
        match self.tag() {
            tag::DATE_TIME => DateTime::from_bytes(self.body()).ok(),
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

// Views are their bytes: the stride is only a hint for iterating.
impl PartialEq for DataView<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for DataView<'_> {}

impl std::fmt::Debug for DataView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataView")
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// The first `N` bytes of `b`.
#[inline]
fn be<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.get(..N)?.try_into().ok()
}

/// The length of the next value by the owned decoder: the error for malformed input, and the
/// way through a compact array, whose size the tag walk does not work out.
#[cold]
#[inline(never)]
fn owned_len(r: &Reader<'_>) -> DecodeResult<usize> {
    let mut owned = r.clone();
    Data::read(&mut owned)?;
    Ok(r.remaining() - owned.remaining())
}

/// The elements of an array or structure, each a view.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    rest: &'a [u8],
    left: usize,
    /// Every element's length, when validation found them all the same; 0 when unknown.
    stride: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = DataView<'a>;

    // Always inlined: returned from a call, a view (three words) would go through memory and
    // its reader would stall on the store; inlined, it stays in registers.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The whole value was validated when the view was made, so only lengths are worked out
        // here; a failure (which cannot happen) ends the iteration rather than panicking.
        let len = if self.stride != 0 {
            self.stride
        } else {
            match head(self.rest) {
                Some(Head::Leaf(len)) => len,
                Some(Head::Container { .. }) => match skip_len(self.rest) {
                    Some(len) => len,
                    None => owned_len(&Reader::new(self.rest)).ok()?,
                },
                None => owned_len(&Reader::new(self.rest)).ok()?,
            }
        };
        let (bytes, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(DataView { bytes, stride: 0 })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// How the value at the start of some bytes begins.
enum Head {
    /// A value without elements, this many bytes long in all (it may run past the end).
    Leaf(usize),
    /// An array or structure: its element count, and the bytes of its tag and length.
    Container { count: usize, header: usize },
}

/// Reads the tag and length at the start of `b`. `None` for an unknown tag, a compact array, a
/// length form A-XDR does not have, or a count of elements that cannot fit in what is left.
///
/// One `match` over every tag, so that it compiles to a jump table rather than a table of sizes:
/// the walk's next position then comes from a predicted branch, and the CPU can move on before
/// this tag has arrived from memory instead of waiting for two dependent loads on every step.
#[inline(always)]
fn head(b: &[u8]) -> Option<Head> {
    let leaf = |len| Some(Head::Leaf(len));
    match *b.first()? {
        tag::NULL | tag::DONT_CARE => leaf(1),
        tag::BOOLEAN | tag::BCD | tag::INTEGER | tag::UNSIGNED | tag::ENUM => leaf(2),
        tag::LONG | tag::LONG_UNSIGNED => leaf(3),
        tag::DOUBLE_LONG | tag::DOUBLE_LONG_UNSIGNED | tag::FLOAT32 | tag::TIME => leaf(5),
        tag::DATE => leaf(6),
        tag::LONG64 | tag::LONG64_UNSIGNED | tag::FLOAT64 => leaf(9),
        tag::DATE_TIME => leaf(13),
        tag::OCTET_STRING | tag::VISIBLE_STRING | tag::UTF8_STRING => {
            let (n, header) = length(b.get(1..)?)?;
            leaf(n.checked_add(1 + header)?)
        }
        tag::BIT_STRING => {
            let (bits, header) = length(b.get(1..)?)?;
            leaf(bits.div_ceil(8).checked_add(1 + header)?)
        }
        tag::ARRAY | tag::STRUCTURE => {
            let rest = b.get(1..)?;
            let (n, header) = length(rest)?;
            // Each element takes at least its tag byte; the owned decoder checks the same.
            (n <= rest.len() - header).then_some(Head::Container {
                count: n,
                header: 1 + header,
            })
        }
        _ => None,
    }
}

/// The encoded length of the value at the start of `b` if it is well-formed and holds no compact
/// array, with the stride of its elements (see [`Rows`]); `None` sends the caller to the owned
/// decoder for the error (or the compact array).
///
/// One loop over the tags, no recursion: `left` counts the values still to read at the current
/// depth, and `outer` keeps that count for each enclosing array or structure, so the depth limit
/// is the size of that stack.
fn validated_len(b: &[u8]) -> Option<(usize, usize)> {
    let mut outer = [0usize; MAX_DEPTH];
    let mut depth = 0;
    let mut left = 1usize;
    let mut at = 0;
    let mut rows = Rows::default();
    loop {
        match head(b.get(at..)?)? {
            Head::Leaf(len) => at = at.checked_add(len)?,
            Head::Container { count, header } => {
                // The owned decoder's limit: containers nest at most MAX_DEPTH deep.
                let saved = outer.get_mut(depth)?;
                at += header;
                if count > 0 {
                    *saved = left;
                    depth += 1;
                    left = count;
                    rows.open(depth, at);
                    continue;
                }
            }
        }
        // A value at `depth` is complete, and so is each container it was the last element of.
        loop {
            rows.close(b, depth, at);
            left -= 1;
            if depth == 1 {
                rows.step_over_same(b, &mut at, &mut left);
            }
            if left > 0 {
                break;
            }
            let Some(up) = depth.checked_sub(1) else {
                return (at <= b.len()).then_some((at, rows.stride()));
            };
            depth = up;
            left = *outer.get(depth)?;
        }
    }
}

/// The elements ("rows") of the outermost array or structure, as validation goes through them:
/// whether they all have one length, and the first one's shape, so that the rows after it that
/// have the same shape are checked without walking them.
#[derive(Default)]
struct Rows<'a> {
    /// Where the row being read began.
    start: usize,
    /// The first row's length, 0 before it ends.
    len: usize,
    /// Whether a row of another length was seen.
    mixed: bool,
    /// The first row's shape, when it is small enough to note.
    shape: Option<Shape<'a>>,
}

impl<'a> Rows<'a> {
    /// A container opened: at depth 1, the outermost one's rows start at `at`.
    #[inline(always)]
    fn open(&mut self, depth: usize, at: usize) {
        if depth == 1 {
            self.start = at;
        }
    }

    /// A value at `depth` ended at `at`: at depth 1, a row.
    #[inline(always)]
    fn close(&mut self, b: &'a [u8], depth: usize, at: usize) {
        if depth != 1 {
            return;
        }
        let len = at.saturating_sub(self.start);
        if self.len == 0 {
            self.len = len;
            self.shape = b.get(self.start..at).and_then(Shape::of);
        } else {
            self.mixed |= len != self.len;
        }
        self.start = at;
    }

    /// Steps over the rows from `at` on that have the first row's shape, at most `left` of them.
    #[inline(always)]
    fn step_over_same(&mut self, b: &[u8], at: &mut usize, left: &mut usize) {
        let Some(shape) = &self.shape else {
            return;
        };
        while *left > 0 && shape.is_at(b, *at) {
            *at += shape.first.len();
            *left -= 1;
        }
        self.start = *at;
    }

    /// The rows' common length, or 0 if they differ.
    fn stride(&self) -> usize {
        if self.mixed {
            0
        } else {
            self.len
        }
    }
}

/// Most bytes a row's shape notes; a row with more is walked like any other value.
const SHAPE_MAX: usize = 16;

/// Where the bytes that steer the walk through a valid row (its tags and lengths) lie in it. The
/// walk reads nothing else, so bytes holding the same values at the same offsets are walked step
/// for step the same: valid, and as long.
struct Shape<'a> {
    first: &'a [u8],
    steering: [u16; SHAPE_MAX],
    n: usize,
}

impl<'a> Shape<'a> {
    /// The shape of `row`, one valid value, if it has at most `SHAPE_MAX` steering bytes.
    fn of(row: &'a [u8]) -> Option<Self> {
        let mut shape = Shape {
            first: row,
            steering: [0; SHAPE_MAX],
            n: 0,
        };
        let mut pending = 1usize;
        let mut at = 0;
        while pending > 0 {
            pending -= 1;
            let rest = row.get(at..)?;
            for offset in at..at + steering_len(rest)? {
                *shape.steering.get_mut(shape.n)? = u16::try_from(offset).ok()?;
                shape.n += 1;
            }
            match head(rest)? {
                Head::Leaf(len) => at += len,
                Head::Container { count, header } => {
                    at += header;
                    pending = pending.checked_add(count)?;
                }
            }
        }
        (at == row.len()).then_some(shape)
    }

    /// Whether a row of this shape starts at `at` in `b`.
    #[inline(always)]
    fn is_at(&self, b: &[u8], at: usize) -> bool {
        let Some(row) = b.get(at..).and_then(|rest| rest.get(..self.first.len())) else {
            return false;
        };
        let steering = self.steering.get(..self.n).unwrap_or_default();
        steering
            .iter()
            .all(|&offset| row.get(offset as usize) == self.first.get(offset as usize))
    }
}

/// How many bytes at the start of the value in `b` steer the walk: its tag, and the length of a
/// string or container.
fn steering_len(b: &[u8]) -> Option<usize> {
    match *b.first()? {
        tag::ARRAY
        | tag::STRUCTURE
        | tag::OCTET_STRING
        | tag::VISIBLE_STRING
        | tag::UTF8_STRING
        | tag::BIT_STRING => Some(1 + length(b.get(1..)?)?.1),
        _ => Some(1),
    }
}

/// The encoded length of the value at the start of `b`, already validated: a walk that only
/// counts down the elements still to skip. `None` if it holds a compact array. On bytes that were
/// not validated it still never panics and stops at the end of `b`, every step consuming a byte.
fn skip_len(b: &[u8]) -> Option<usize> {
    let mut pending = 1usize;
    let mut at = 0;
    while pending > 0 {
        pending -= 1;
        match head(b.get(at..)?)? {
            Head::Leaf(len) => at = at.checked_add(len)?,
            Head::Container { count, header } => {
                at += header;
                pending = pending.checked_add(count)?;
            }
        }
    }
    (at <= b.len()).then_some(at)
}

/// An A-XDR length and how many bytes it took.
#[inline]
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
    fn steps_through_rows_of_one_length_and_walks_rows_of_mixed_lengths() {
        let same = "0103 0202 1101 0600000001 0202 1102 0600000002 0202 1103 0600000003";
        let mixed = "0103 0202 1101 0600000001 0202 1102 120002 0202 1103 0600000003";
        for (text, stride) in [(same, 9), (mixed, 0)] {
            let bytes = crate::dlms::codec::hex::decode(text).unwrap();
            let view = DataView::from_bytes(&bytes).unwrap();
            assert_eq!(view.stride, stride, "{text}");
            let firsts: Vec<_> = view
                .elements()
                .map(|row| row.elements().next().unwrap().as_i128())
                .collect();
            assert_eq!(firsts, [Some(1), Some(2), Some(3)], "{text}");
            let seconds: Vec<_> = view
                .elements()
                .map(|row| row.elements().nth(1).unwrap().as_i128())
                .collect();
            assert_eq!(seconds, [Some(1), Some(2), Some(3)], "{text}");
        }
    }

    #[test]
    fn notes_the_bytes_that_steer_the_walk_through_a_row() {
        let row = crate::dlms::codec::hex::decode(
            "0204 090C07EA0B1A040D000000FFC400 1100 0600001391 06FFFFFFFF",
        )
        .unwrap();
        let shape = Shape::of(&row).unwrap();
        assert_eq!(&shape.steering[..shape.n], [0, 1, 2, 3, 16, 18, 23]);
        let mut next = row.clone();
        next[20] ^= 0xFF; // a value: same shape
        assert!(shape.is_at(&[row.clone(), next.clone()].concat(), row.len()));
        next[3] = 0x0B; // the octet-string's length: another shape
        assert!(!shape.is_at(&[row.clone(), next].concat(), row.len()));
        assert!(!shape.is_at(&[row.clone(), row[..27].to_vec()].concat(), row.len()));
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

    /// `levels` arrays, each holding the next, the innermost holding `inner` (hex).
    fn nested(levels: usize, inner: &str) -> Vec<u8> {
        let mut bytes = crate::dlms::codec::hex::decode(inner).unwrap();
        for _ in 0..levels {
            let count = if bytes.is_empty() { 0 } else { 1 };
            bytes = [vec![tag::ARRAY, count], bytes].concat();
        }
        bytes
    }

    #[test]
    fn nests_exactly_as_deep_as_the_owned_decoder() {
        for levels in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1] {
            for inner in ["", "1105", "0100", "0201 0100"] {
                let bytes = nested(levels, inner);
                assert_eq!(
                    DataView::from_bytes(&bytes).is_ok(),
                    Data::from_bytes(&bytes).is_ok(),
                    "{levels} levels around {inner:?}"
                );
            }
        }
        assert!(DataView::from_bytes(&nested(MAX_DEPTH, "1105")).is_ok());
        assert!(DataView::from_bytes(&nested(MAX_DEPTH, "0100")).is_err());
    }

    #[test]
    fn iterates_past_a_compact_array_inside_a_structure() {
        // structure {structure {unsigned 1, compact-array of structure {long-unsigned,
        // octet-string}}, unsigned 7, structure {array []}}
        let bytes = crate::dlms::codec::hex::decode(
            "0203 0202 1101 1302021209 07 0001 01AA 0002 00 1107 0201 0100",
        )
        .unwrap();
        let view = DataView::from_bytes(&bytes).unwrap();
        let cells: Vec<_> = view.elements().collect();
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0].elements().count(), 2);
        assert_eq!(
            cells[0].elements().nth(1).unwrap().tag(),
            tag::COMPACT_ARRAY
        );
        assert_eq!(cells[1].as_i128(), Some(7));
        assert_eq!(cells[2].elements().count(), 1);
        assert_eq!(view.to_data().unwrap().to_bytes(), bytes);
    }

    proptest! {
        #[test]
        fn agrees_with_the_owned_decoder(value in crate::dlms::data::tests::arb_data()) {
            let bytes = value.to_bytes();
            let view = DataView::from_bytes(&bytes).unwrap();
            prop_assert_eq!(view.to_data().unwrap().to_bytes(), bytes.clone());
            let elements: Vec<_> = view.elements().map(|e| e.bytes().to_vec()).collect();
            let owned: Vec<_> = value.as_elements().unwrap_or_default().iter().map(Data::to_bytes).collect();
            prop_assert_eq!(elements, owned);
            prop_assert_eq!(view.as_i128(), value.as_i128());
        }

        #[test]
        fn accepts_exactly_what_the_owned_decoder_accepts(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            prop_assert_eq!(DataView::from_bytes(&bytes).is_ok(), Data::from_bytes(&bytes).is_ok());
            prop_assert!(skip_len(&bytes).is_none_or(|n| n <= bytes.len()));
        }

        #[test]
        fn accepts_exactly_what_the_owned_decoder_accepts_one_byte_off(
            value in crate::dlms::data::tests::arb_data(),
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<bool>(),
        ) {
            let mut bytes = value.to_bytes();
            let at = at.index(bytes.len());
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            prop_assert_eq!(DataView::from_bytes(&bytes).is_ok(), Data::from_bytes(&bytes).is_ok());
        }

        #[test]
        fn accepts_exactly_what_the_owned_decoder_accepts_in_rows_of_one_shape(
            row in crate::dlms::data::tests::arb_data(),
            rows in 1..6usize,
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
            change in any::<bool>(),
        ) {
            let mut bytes = Data::Array(vec![row; rows]).to_bytes();
            if change {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            let owned = Data::from_bytes(&bytes);
            prop_assert_eq!(DataView::from_bytes(&bytes).is_ok(), owned.is_ok());
            if let (Ok(view), Ok(owned)) = (DataView::from_bytes(&bytes), owned) {
                // Compared re-encoded: the owned decoder reads any non-zero boolean as true, and
                // a NaN is not equal to itself.
                let elements: Vec<_> =
                    view.elements().map(|e| e.to_data().unwrap().to_bytes()).collect();
                let owned: Vec<_> =
                    owned.as_elements().unwrap_or_default().iter().map(Data::to_bytes).collect();
                prop_assert_eq!(elements, owned);
            }
        }

        #[test]
        fn skips_a_valid_value_to_its_end(value in crate::dlms::data::tests::arb_data()) {
            let bytes = value.to_bytes();
            // None only for a compact array, which iteration hands to the owned decoder.
            prop_assert!(skip_len(&bytes).is_none_or(|n| n == bytes.len()));
        }
    }
}
