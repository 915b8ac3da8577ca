//! The TCP-UDP/IP wrapper (IEC 62056-47, Green Book 7.3.3): an 8-byte header in front of each APDU.
//!
//! `version u16 = 0x0001 | source wPort u16 | destination wPort u16 | APDU length u16`, big-endian.
//! Over TCP the length is the only framing, so [`decode_frame`] tells "wait for more bytes"
//! (`Ok(None)`) apart from "this stream is broken" (`Err`); over UDP one datagram is one frame
//! ([`WrapperFrame::from_datagram`]).
//!
//! Nothing here panics on wire data: [`WrapperHeader::new_checked`] checks the buffer before any
//! accessor reads it, and the announced length is compared with the caller's maximum before a
//! byte is copied or reserved for the APDU.
//!
//! A zero length is accepted: the Green Book sets no minimum for the wrapper, the framing stays in
//! step, and the peers checked (gurux-dlms, dlms-cosem-rs, jDLMS) all frame it and leave the empty
//! APDU for the APDU decoder to reject.

use bytes::Bytes;
use serde::Serialize;

use super::codec::{Codec, DecodeError, DecodeResult, Reader};

/// The IANA-registered TCP and UDP port for DLMS/COSEM.
pub const DLMS_PORT: u16 = 4059;
/// The only wrapper version defined.
pub const VERSION: u16 = 0x0001;
/// The header size, which is fixed.
pub const HEADER_LEN: usize = 8;
/// The longest APDU the 16-bit length field can announce.
pub const MAX_APDU_LEN: usize = u16::MAX as usize;

/// Client wPort of the client management process.
pub const CLIENT_MANAGEMENT: u16 = 0x01;
/// Client wPort of the public client (no security, always allowed to read the basics).
pub const PUBLIC_CLIENT: u16 = 0x10;
/// Client wPort of the pre-established association (DSMR/SMR P3).
pub const PRE_ESTABLISHED_CLIENT: u16 = 0x66;
/// Server wPort of the management logical device, which every server has.
pub const SERVER_MANAGEMENT: u16 = 0x01;
/// Server wPort that addresses every logical device at once.
pub const SERVER_BROADCAST: u16 = 0x7F;

/// The byte ranges of the header fields.
pub mod field {
    use std::ops::{Range, RangeFrom};

    pub type Field = Range<usize>;

    pub const VERSION: Field = 0..2;
    pub const SOURCE: Field = 2..4;
    pub const DESTINATION: Field = 4..6;
    pub const LENGTH: Field = 6..8;
    pub const APDU: RangeFrom<usize> = 8..;
}

/// What made a wrapper frame unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrapperError {
    #[error("expected an {HEADER_LEN}-byte wrapper header, found {0} bytes")]
    Truncated(usize),
    #[error("expected wrapper version 0x0001, found 0x{0:04X}")]
    BadVersion(u16),
    #[error("wrapper announces an APDU of {length} bytes, more than the maximum of {max}")]
    TooLong { length: usize, max: usize },
    #[error("wrapper announces an APDU of {announced} bytes, the datagram carries {actual}")]
    LengthMismatch { announced: usize, actual: usize },
}

impl WrapperError {
    /// Where in the frame the fault lies.
    pub fn offset(&self) -> usize {
        match self {
            WrapperError::Truncated(found) => *found,
            WrapperError::BadVersion(_) => field::VERSION.start,
            WrapperError::TooLong { .. } | WrapperError::LengthMismatch { .. } => {
                field::LENGTH.start
            }
        }
    }

    /// This error as a [`DecodeError`] for a frame that starts at `frame_start`.
    pub fn at(&self, frame_start: usize) -> DecodeError {
        DecodeError {
            offset: frame_start + self.offset(),
            message: self.to_string(),
        }
    }
}

impl From<WrapperError> for DecodeError {
    fn from(e: WrapperError) -> Self {
        e.at(0)
    }
}

/// A checked view of a wrapper header over bytes, the APDU (if present) following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapperHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> WrapperHeader<T> {
    /// Only for buffers known to hold `HEADER_LEN` bytes; the accessors index without checking.
    fn new_unchecked(buffer: T) -> Self {
        WrapperHeader { buffer }
    }

    /// A view over `buffer` once it holds a whole header of the one defined version.
    pub fn new_checked(buffer: T) -> Result<Self, WrapperError> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WrapperError::Truncated(len));
        }
        let header = Self::new_unchecked(buffer);
        match header.version() {
            VERSION => Ok(header),
            other => Err(WrapperError::BadVersion(other)),
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u16 {
        self.read_u16(field::VERSION)
    }

    /// The sender's wPort.
    pub fn source(&self) -> u16 {
        self.read_u16(field::SOURCE)
    }

    /// The receiver's wPort.
    pub fn destination(&self) -> u16 {
        self.read_u16(field::DESTINATION)
    }

    /// The announced APDU length.
    pub fn length(&self) -> u16 {
        self.read_u16(field::LENGTH)
    }

    /// Header and announced APDU together.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length())
    }

    /// The announced APDU, or `None` while the buffer does not hold all of it yet.
    pub fn apdu(&self) -> Option<&[u8]> {
        self.buffer.as_ref().get(HEADER_LEN..self.frame_len())
    }

    /// Rejects an announced length over `max_apdu`.
    pub fn check_max(&self, max_apdu: usize) -> Result<(), WrapperError> {
        let length = usize::from(self.length());
        if length > max_apdu {
            return Err(WrapperError::TooLong {
                length,
                max: max_apdu,
            });
        }
        Ok(())
    }

    fn read_u16(&self, field: field::Field) -> u16 {
        let bytes = &self.buffer.as_ref()[field];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> WrapperHeader<T> {
    pub fn set_version(&mut self, value: u16) {
        self.write_u16(field::VERSION, value);
    }

    pub fn set_source(&mut self, value: u16) {
        self.write_u16(field::SOURCE, value);
    }

    pub fn set_destination(&mut self, value: u16) {
        self.write_u16(field::DESTINATION, value);
    }

    pub fn set_length(&mut self, value: u16) {
        self.write_u16(field::LENGTH, value);
    }

    fn write_u16(&mut self, field: field::Field, value: u16) {
        self.buffer.as_mut()[field].copy_from_slice(&value.to_be_bytes());
    }
}

/// One wrapper frame: the two wPorts and the APDU between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrapperFrame {
    pub source: u16,
    pub destination: u16,
    #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
    pub apdu: Bytes,
}

impl WrapperFrame {
    pub fn new(source: u16, destination: u16, apdu: impl Into<Bytes>) -> Self {
        WrapperFrame {
            source,
            destination,
            apdu: apdu.into(),
        }
    }

    /// The frame answering this one: the same two wPorts, swapped.
    pub fn reply(&self, apdu: impl Into<Bytes>) -> Self {
        Self::new(self.destination, self.source, apdu)
    }

    /// Header and APDU together.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.apdu.len()
    }

    /// The header announcing this frame; fails for an APDU the length field cannot describe.
    pub fn emit_header(&self) -> Result<[u8; HEADER_LEN], WrapperError> {
        let length = u16::try_from(self.apdu.len()).map_err(|_| WrapperError::TooLong {
            length: self.apdu.len(),
            max: MAX_APDU_LEN,
        })?;
        let mut header = WrapperHeader::new_unchecked([0u8; HEADER_LEN]);
        header.set_version(VERSION);
        header.set_source(self.source);
        header.set_destination(self.destination);
        header.set_length(length);
        Ok(header.into_inner())
    }

    /// The frame in one UDP datagram, whose size must be exactly what the header announces.
    pub fn from_datagram(datagram: &[u8], max_apdu: usize) -> Result<Self, WrapperError> {
        let header = WrapperHeader::new_checked(datagram)?;
        header.check_max(max_apdu)?;
        let carried = datagram.get(field::APDU).unwrap_or_default();
        let announced = usize::from(header.length());
        if carried.len() != announced {
            return Err(WrapperError::LengthMismatch {
                announced,
                actual: carried.len(),
            });
        }
        Ok(Self::from_parts(&header, carried))
    }

    fn from_parts<T: AsRef<[u8]>>(header: &WrapperHeader<T>, apdu: &[u8]) -> Self {
        Self::new(
            header.source(),
            header.destination(),
            Bytes::copy_from_slice(apdu),
        )
    }
}

impl Codec for WrapperFrame {
    /// # Panics
    /// For an APDU over [`MAX_APDU_LEN`] bytes, which no header can announce: a caller's bug,
    /// never wire data. Use [`WrapperFrame::emit_header`] where that size can occur.
    fn encode(&self, out: &mut Vec<u8>) {
        let header = match self.emit_header() {
            Ok(header) => header,
            Err(e) => panic!("cannot encode wrapper frame: {e}"),
        };
        out.reserve(self.encoded_len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.apdu);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let start = r.offset();
        let header = r.take(HEADER_LEN, "wrapper header")?;
        let header = WrapperHeader::new_checked(header).map_err(|e| e.at(start))?;
        let apdu = r.take(usize::from(header.length()), "APDU")?;
        Ok(Self::from_parts(&header, apdu))
    }
}

/// The header at the front of a stream buffer, once all 8 bytes are there and acceptable.
///
/// A wrong version is reported as soon as its two bytes have arrived, and an announced length
/// over `max_apdu` as soon as the header is complete, before anything is reserved for the body.
pub fn peek_header(
    buf: &[u8],
    max_apdu: usize,
) -> Result<Option<WrapperHeader<&[u8]>>, WrapperError> {
    if let [hi, lo, ..] = *buf {
        let version = u16::from_be_bytes([hi, lo]);
        if version != VERSION {
            return Err(WrapperError::BadVersion(version));
        }
    }
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let header = WrapperHeader::new_checked(buf)?;
    header.check_max(max_apdu)?;
    Ok(Some(header))
}

/// The next frame of a TCP stream and the bytes it took; `Ok(None)` until it has fully arrived.
pub fn decode_frame(
    buf: &[u8],
    max_apdu: usize,
) -> Result<Option<(WrapperFrame, usize)>, WrapperError> {
    let Some(header) = peek_header(buf, max_apdu)? else {
        return Ok(None);
    };
    Ok(header
        .apdu()
        .map(|apdu| (WrapperFrame::from_parts(&header, apdu), header.frame_len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::codec::hex;
    use proptest::prelude::*;

    /// (source, destination, APDU, whole frame), each with where it comes from.
    const VECTORS: &[(u16, u16, &str, &str)] = &[
        // GET-Request-Normal 0.0.43.1.0.255/2 (APDU: u9n/dlms-cosem tests/test_xdlms/test_get.py);
        // whole frame as produced by gurux-dlms 1.0.203 GXDLMSClient(.., WRAPPER).read(Data, 2).
        (
            PUBLIC_CLIENT,
            SERVER_MANAGEMENT,
            "C001C1000100002B0100FF0200",
            "000100100001000DC001C1000100002B0100FF0200",
        ),
        // AARQ, LN, no security: gurux-dlms 1.0.203 GXDLMSClient(True, 16, 1, NONE, None,
        // WRAPPER).aarqRequest(), byte for byte.
        (
            PUBLIC_CLIENT,
            SERVER_MANAGEMENT,
            "601DA109060760857405080101BE10040E01000000065F1F0400401E5DFFFF",
            "000100100001001F601DA109060760857405080101BE10040E01000000065F1F0400401E5DFFFF",
        ),
        // GET-Response-Normal u32 5009 (APDU: u9n/dlms-cosem test_get.py); the reply frame is
        // accepted by gurux-dlms 1.0.203 GXDLMSClient.getData(), which reads the value 5009.
        (SERVER_MANAGEMENT, PUBLIC_CLIENT, "C401C1000600001391", "0001000100100009C401C1000600001391"),
        // Data-Notification pushed to the pre-established client (APDU: u9n/dlms-cosem
        // tests/test_xdlms/test_data_notification.py); header per Green Book 7.3.3.2, checked
        // against dlms-cosem-rs 0.1 in `vectors_agree_with_dlms_cosem_rs`.
        (
            SERVER_MANAGEMENT,
            PRE_ESTABLISHED_CLIENT,
            "0F000001DB000922125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100",
            "000100010066002A0F000001DB000922125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100",
        ),
    ];

    fn vectors() -> impl Iterator<Item = (WrapperFrame, Vec<u8>)> {
        VECTORS.iter().map(|(source, destination, apdu, frame)| {
            (
                WrapperFrame::new(*source, *destination, hex::decode(apdu).unwrap()),
                hex::decode(frame).unwrap(),
            )
        })
    }

    #[test]
    fn vectors_encode_and_decode() {
        for (frame, bytes) in vectors() {
            assert_eq!(
                hex::encode(&frame.to_bytes()),
                hex::encode(&bytes),
                "encode {frame:?}"
            );
            assert_eq!(frame.encoded_len(), bytes.len());
            assert_eq!(
                decode_frame(&bytes, MAX_APDU_LEN).unwrap(),
                Some((frame.clone(), bytes.len()))
            );
            assert_eq!(
                WrapperFrame::from_datagram(&bytes, MAX_APDU_LEN).unwrap(),
                frame
            );
            assert_eq!(WrapperFrame::from_bytes(&bytes).unwrap(), frame);
        }
    }

    #[test]
    fn vectors_agree_with_dlms_cosem_rs() {
        use dlms_cosem_rs::codec::Encode;
        use dlms_cosem_rs::transport::wrapper::{StreamReassembler, Wpdu};
        for (frame, bytes) in vectors() {
            let mut theirs = Vec::new();
            Wpdu::new(frame.source, frame.destination, &frame.apdu)
                .unwrap()
                .encode(&mut theirs)
                .unwrap();
            assert_eq!(theirs, bytes);
            let (pdu, used) = StreamReassembler::new(u16::MAX)
                .next_pdu(&bytes)
                .unwrap()
                .unwrap();
            assert_eq!(
                (pdu.header.source, pdu.header.destination, pdu.apdu, used),
                (
                    frame.source,
                    frame.destination,
                    &frame.apdu[..],
                    bytes.len()
                )
            );
        }
    }

    #[test]
    fn header_view_reads_every_field() {
        let bytes = hex::decode(VECTORS[0].3).unwrap();
        let header = WrapperHeader::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            (
                header.version(),
                header.source(),
                header.destination(),
                header.length()
            ),
            (VERSION, PUBLIC_CLIENT, SERVER_MANAGEMENT, 13)
        );
        assert_eq!(header.frame_len(), bytes.len());
        assert_eq!(header.apdu(), Some(&bytes[8..]));
        let short = WrapperHeader::new_checked(&bytes[..10]).unwrap();
        assert_eq!(short.apdu(), None);
    }

    #[test]
    fn reply_swaps_ports() {
        let request = WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, &b"\xC0\x01"[..]);
        let reply = request.reply(&b"\xC4\x01"[..]);
        assert_eq!(
            (reply.source, reply.destination),
            (SERVER_MANAGEMENT, PUBLIC_CLIENT)
        );
        assert_eq!(&reply.apdu[..], b"\xC4\x01");
    }

    #[test]
    fn waits_for_every_byte_of_a_frame() {
        let bytes = hex::decode(VECTORS[0].3).unwrap();
        for cut in 0..bytes.len() {
            assert_eq!(
                decode_frame(&bytes[..cut], MAX_APDU_LEN).unwrap(),
                None,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn leaves_the_next_frame_in_the_buffer() {
        let mut stream = hex::decode(VECTORS[0].3).unwrap();
        let first_len = stream.len();
        stream.extend(hex::decode(VECTORS[2].3).unwrap());
        let (_, used) = decode_frame(&stream, MAX_APDU_LEN).unwrap().unwrap();
        assert_eq!(used, first_len);
        let (second, used) = decode_frame(&stream[used..], MAX_APDU_LEN)
            .unwrap()
            .unwrap();
        assert_eq!(
            (second.source, used),
            (SERVER_MANAGEMENT, stream.len() - first_len)
        );
    }

    #[test]
    fn rejects_bad_version_as_soon_as_it_arrives() {
        assert_eq!(
            decode_frame(&[0x00, 0x02], 1024),
            Err(WrapperError::BadVersion(2))
        );
        assert_eq!(decode_frame(&[0x00], 1024), Ok(None));
        // An HDLC frame sent to the wrapper port.
        let hdlc = [0x7E, 0xA0, 0x07, 0x03, 0x21, 0x93, 0x0F, 0x01, 0x7E];
        assert_eq!(
            decode_frame(&hdlc, 1024),
            Err(WrapperError::BadVersion(0x7EA0))
        );
        assert_eq!(
            WrapperFrame::from_datagram(&hdlc, 1024),
            Err(WrapperError::BadVersion(0x7EA0))
        );
        assert_eq!(
            WrapperHeader::new_checked(&hdlc[..]).unwrap_err(),
            WrapperError::BadVersion(0x7EA0)
        );
        let err = WrapperFrame::from_bytes(&hdlc).unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(err.message.contains("0x7EA0"), "{err}");
    }

    #[test]
    fn rejects_over_max_length_before_the_body_arrives() {
        let header = [0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0xFF, 0xFF];
        let err = decode_frame(&header, 1024).unwrap_err();
        assert_eq!(
            err,
            WrapperError::TooLong {
                length: 0xFFFF,
                max: 1024
            }
        );
        assert_eq!(DecodeError::from(err).offset, 6);
        assert!(peek_header(&header, 1024).is_err());
    }

    #[test]
    fn accepts_length_equal_to_max() {
        let frame = WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, vec![0xAA; 1024]);
        let bytes = frame.to_bytes();
        assert_eq!(
            decode_frame(&bytes, 1024).unwrap(),
            Some((frame.clone(), bytes.len()))
        );
        assert!(decode_frame(&bytes, 1023).is_err());
        assert_eq!(WrapperFrame::from_datagram(&bytes, 1024).unwrap(), frame);
    }

    #[test]
    fn rejects_datagram_length_mismatch() {
        let bytes = hex::decode(VECTORS[0].3).unwrap();
        let short = &bytes[..bytes.len() - 1];
        assert_eq!(
            WrapperFrame::from_datagram(short, 1024),
            Err(WrapperError::LengthMismatch {
                announced: 13,
                actual: 12
            })
        );
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            WrapperFrame::from_datagram(&long, 1024),
            Err(WrapperError::LengthMismatch {
                announced: 13,
                actual: 14
            })
        );
        assert_eq!(
            WrapperFrame::from_datagram(&bytes[..5], 1024),
            Err(WrapperError::Truncated(5))
        );
    }

    #[test]
    fn rejects_trailing_bytes_and_short_bodies_with_offsets() {
        let mut bytes = hex::decode(VECTORS[2].3).unwrap();
        let err = WrapperFrame::from_bytes(&bytes[..bytes.len() - 2]).unwrap_err();
        assert_eq!(err.offset, 8);
        bytes.push(0);
        let err = WrapperFrame::from_bytes(&bytes).unwrap_err();
        assert_eq!(err.offset, bytes.len() - 1);
        let err = WrapperFrame::from_bytes(&bytes[..3]).unwrap_err();
        assert_eq!(err.offset, 0);
    }

    #[test]
    fn can_round_trip_empty_apdu() {
        let frame = WrapperFrame::new(CLIENT_MANAGEMENT, SERVER_BROADCAST, Bytes::new());
        let bytes = frame.to_bytes();
        assert_eq!(bytes, [0x00, 0x01, 0x00, 0x01, 0x00, 0x7F, 0x00, 0x00]);
        assert_eq!(decode_frame(&bytes, 0).unwrap(), Some((frame.clone(), 8)));
        assert_eq!(WrapperFrame::from_datagram(&bytes, 0).unwrap(), frame);
    }

    #[test]
    fn rejects_encoding_an_apdu_no_header_can_announce() {
        let frame = WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, vec![0; MAX_APDU_LEN + 1]);
        assert_eq!(
            frame.emit_header(),
            Err(WrapperError::TooLong {
                length: MAX_APDU_LEN + 1,
                max: MAX_APDU_LEN
            })
        );
        let fits = WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, vec![0; MAX_APDU_LEN]);
        assert_eq!(&fits.emit_header().unwrap()[6..], &[0xFF, 0xFF]);
    }

    #[test]
    fn serializes_apdu_as_upper_hex() {
        let frame = WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, &b"\xC0\x01\xab"[..]);
        assert_eq!(
            serde_json::to_string(&frame).unwrap(),
            r#"{"source":16,"destination":1,"apdu":"C001AB"}"#
        );
    }

    fn any_frame() -> impl Strategy<Value = WrapperFrame> {
        (
            any::<u16>(),
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..600),
        )
            .prop_map(|(source, destination, apdu)| WrapperFrame::new(source, destination, apdu))
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..64), max in 0usize..70_000) {
            if let Ok(Some((frame, used))) = decode_frame(&buf, max) {
                prop_assert!(used <= buf.len());
                prop_assert_eq!(frame.to_bytes(), &buf[..used]);
            }
            if let Ok(frame) = WrapperFrame::from_datagram(&buf, max) {
                prop_assert_eq!(frame.to_bytes(), buf.clone());
            }
            let _ = WrapperFrame::from_bytes(&buf);
        }

        #[test]
        fn arbitrary_bytes_behind_a_good_version_never_panic(rest in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut buf = vec![0x00, 0x01];
            buf.extend(rest);
            if let Ok(Some((frame, used))) = decode_frame(&buf, MAX_APDU_LEN) {
                prop_assert_eq!(frame.to_bytes(), &buf[..used]);
            }
        }

        #[test]
        fn can_round_trip_any_frame(frame in any_frame()) {
            let bytes = frame.to_bytes();
            prop_assert_eq!(decode_frame(&bytes, MAX_APDU_LEN).unwrap(), Some((frame.clone(), bytes.len())));
            prop_assert_eq!(WrapperFrame::from_datagram(&bytes, frame.apdu.len()).unwrap(), frame.clone());
            prop_assert_eq!(WrapperFrame::from_bytes(&bytes).unwrap(), frame);
        }
    }
}
