//! A TCP byte stream cut into wrapper frames, each frame's APDU decoded.
//!
//! Input: max APDU size (u16 BE), then the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reanimator::dlms::apdu::Apdu;
use reanimator::dlms::codec::Codec;
use reanimator::dlms::wrapper::{decode_frame, WrapperError, HEADER_LEN, VERSION};
use reanimator_fuzz::{assert_round_trip, bounded};

fuzz_target!(|input: &[u8]| {
    let [hi, lo, ref stream @ ..] = *input else {
        return;
    };
    let max_apdu = usize::from(u16::from_be_bytes([hi, lo]));
    let mut rest = stream;
    loop {
        let decoded = bounded("decode_frame", rest.len(), || decode_frame(rest, max_apdu));
        match decoded {
            Ok(Some((frame, used))) => {
                assert!(
                    used >= HEADER_LEN && used <= rest.len(),
                    "used {used} of {}",
                    rest.len()
                );
                assert_eq!(used, HEADER_LEN + frame.apdu.len());
                assert!(frame.apdu.len() <= max_apdu);
                assert_eq!(frame.to_bytes(), &rest[..used], "frame does not re-encode");
                let apdu = bounded("Apdu", frame.apdu.len(), || Apdu::from_bytes(&frame.apdu));
                if let Ok(apdu) = apdu {
                    assert_round_trip("Apdu", &apdu);
                }
                rest = &rest[used..];
            }
            Ok(None) => {
                assert!(
                    rest.len() < announced_frame_len(rest),
                    "Ok(None) with a whole frame"
                );
                return;
            }
            Err(e) => {
                check_error(rest, max_apdu, &e);
                return;
            }
        }
    }
});

/// The frame length the header at the front announces, or a header's length when it is cut.
fn announced_frame_len(buf: &[u8]) -> usize {
    match buf {
        [_, _, _, _, _, _, hi, lo, ..] => HEADER_LEN + usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => HEADER_LEN,
    }
}

/// An error must be the one the bytes at the front really show.
fn check_error(buf: &[u8], max_apdu: usize, e: &WrapperError) {
    match *e {
        WrapperError::BadVersion(v) => {
            assert!(buf.len() >= 2 && v != VERSION && buf[..2] == v.to_be_bytes());
        }
        WrapperError::TooLong { length, max } => {
            assert!(buf.len() >= HEADER_LEN && length > max && max == max_apdu);
            assert_eq!(length + HEADER_LEN, announced_frame_len(buf));
        }
        ref other => panic!("decode_frame cannot fail with {other:?}"),
    }
}
