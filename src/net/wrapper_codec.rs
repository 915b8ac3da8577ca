//! The wrapper framing as a tokio-util codec, for `Framed` over a TCP stream.
//!
//! All parsing is [`decode_frame`]'s; this only moves bytes in and out of the `BytesMut`, and
//! reserves room for a frame only once its header has been read and its length accepted.

use std::io;

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::dlms::wrapper::{decode_frame, peek_header, WrapperError, WrapperFrame, HEADER_LEN};

/// Why a wrapper stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum WrapperCodecError {
    #[error(transparent)]
    Wrapper(#[from] WrapperError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Splits a byte stream into [`WrapperFrame`]s and writes them back, refusing APDUs over `max_apdu`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapperCodec {
    max_apdu: usize,
}

impl WrapperCodec {
    pub fn new(max_apdu: usize) -> Self {
        WrapperCodec { max_apdu }
    }

    pub fn max_apdu(&self) -> usize {
        self.max_apdu
    }

    /// Changes the limit for the frames still to be decoded, e.g. to the PDU size an
    /// association negotiated.
    pub fn set_max_apdu(&mut self, max_apdu: usize) {
        self.max_apdu = max_apdu;
    }

    /// How many more bytes the frame at the front of `buf` needs; its header must be acceptable.
    fn missing(&self, buf: &[u8]) -> Result<usize, WrapperError> {
        let wanted = match peek_header(buf, self.max_apdu)? {
            Some(header) => header.frame_len(),
            None => HEADER_LEN,
        };
        Ok(wanted.saturating_sub(buf.len()))
    }
}

impl Decoder for WrapperCodec {
    type Item = WrapperFrame;
    type Error = WrapperCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<WrapperFrame>, WrapperCodecError> {
        match decode_frame(src, self.max_apdu)? {
            Some((frame, used)) => {
                src.advance(used);
                Ok(Some(frame))
            }
            None => {
                src.reserve(self.missing(src)?);
                Ok(None)
            }
        }
    }

    fn decode_eof(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<WrapperFrame>, WrapperCodecError> {
        match self.decode(src)? {
            None if !src.is_empty() => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream closed {} bytes into a wrapper frame", src.len()),
            )
            .into()),
            decoded => Ok(decoded),
        }
    }
}

impl Encoder<WrapperFrame> for WrapperCodec {
    type Error = WrapperCodecError;

    fn encode(&mut self, frame: WrapperFrame, dst: &mut BytesMut) -> Result<(), WrapperCodecError> {
        let header = frame.emit_header()?;
        dst.reserve(frame.encoded_len());
        dst.put_slice(&header);
        dst.put_slice(&frame.apdu);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::codec::{hex, Codec};
    use crate::dlms::wrapper::{MAX_APDU_LEN, PUBLIC_CLIENT, SERVER_MANAGEMENT};
    use proptest::prelude::*;

    // GET-Request-Normal 0.0.43.1.0.255/2 in its wrapper, as gurux-dlms 1.0.203 produces it
    // (the same vector as in dlms::wrapper's table).
    const GET_REQUEST: &str = "000100100001000DC001C1000100002B0100FF0200";
    // GET-Response-Normal u32 5009 in the reply wrapper (u9n/dlms-cosem test_get.py APDU).
    const GET_RESPONSE: &str = "0001000100100009C401C1000600001391";

    fn frames() -> Vec<WrapperFrame> {
        vec![
            WrapperFrame::from_bytes(&hex::decode(GET_REQUEST).unwrap()).unwrap(),
            WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, vec![0x5A; 300]),
            WrapperFrame::from_bytes(&hex::decode(GET_RESPONSE).unwrap()).unwrap(),
        ]
    }

    fn decode_all(codec: &mut WrapperCodec, buf: &mut BytesMut) -> Vec<WrapperFrame> {
        std::iter::from_fn(|| codec.decode(buf).unwrap()).collect()
    }

    #[test]
    fn encodes_the_vector() {
        let mut out = BytesMut::new();
        WrapperCodec::new(1024)
            .encode(frames()[0].clone(), &mut out)
            .unwrap();
        assert_eq!(hex::encode(&out), GET_REQUEST);
    }

    #[test]
    fn decodes_one_byte_at_a_time() {
        let mut codec = WrapperCodec::new(1024);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for frame in frames() {
            for byte in frame.to_bytes() {
                buf.put_u8(byte);
                got.extend(decode_all(&mut codec, &mut buf));
            }
        }
        assert_eq!(got, frames());
        assert!(buf.is_empty());
    }

    #[test]
    fn decodes_three_coalesced_frames() {
        let mut codec = WrapperCodec::new(1024);
        let mut buf = BytesMut::new();
        for frame in frames() {
            codec.encode(frame, &mut buf).unwrap();
        }
        assert_eq!(decode_all(&mut codec, &mut buf), frames());
        assert!(buf.is_empty());
    }

    #[test]
    fn reserves_room_for_an_accepted_frame() {
        let mut codec = WrapperCodec::new(1024);
        let mut buf = BytesMut::from(&[0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x03, 0xE8][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(
            buf.capacity() >= HEADER_LEN + 1000,
            "capacity {}",
            buf.capacity()
        );
    }

    #[test]
    fn rejects_over_max_length_without_reserving() {
        let mut codec = WrapperCodec::new(1024);
        let mut buf = BytesMut::with_capacity(HEADER_LEN);
        buf.put_slice(&[0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0xFF, 0xFF]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(
                err,
                WrapperCodecError::Wrapper(WrapperError::TooLong {
                    length: 0xFFFF,
                    max: 1024
                })
            ),
            "{err}"
        );
        assert!(buf.capacity() < 1024, "capacity {}", buf.capacity());
    }

    #[test]
    fn rejects_bad_version() {
        let mut buf = BytesMut::from(&[0x00, 0x02][..]);
        let err = WrapperCodec::new(1024).decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, WrapperCodecError::Wrapper(WrapperError::BadVersion(2))),
            "{err}"
        );
    }

    #[test]
    fn a_tightened_limit_applies_to_the_next_frame() {
        let mut codec = WrapperCodec::new(MAX_APDU_LEN);
        let mut buf = BytesMut::new();
        for frame in frames() {
            codec.encode(frame, &mut buf).unwrap();
        }
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(frames()[0].clone()));
        codec.set_max_apdu(256);
        assert_eq!(codec.max_apdu(), 256);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            WrapperCodecError::Wrapper(WrapperError::TooLong {
                length: 300,
                max: 256
            })
        ));
    }

    #[test]
    fn rejects_a_stream_closed_inside_a_frame() {
        let mut codec = WrapperCodec::new(1024);
        let bytes = hex::decode(GET_REQUEST).unwrap();
        let mut buf = BytesMut::from(&bytes[..10]);
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert!(
            matches!(&err, WrapperCodecError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{err}"
        );
        let mut buf = BytesMut::from(&bytes[..]);
        assert_eq!(
            codec.decode_eof(&mut buf).unwrap(),
            Some(frames()[0].clone())
        );
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn rejects_encoding_an_apdu_no_header_can_announce() {
        let frame = WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, vec![0; MAX_APDU_LEN + 1]);
        let mut out = BytesMut::new();
        assert!(WrapperCodec::new(1024).encode(frame, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn runs_over_a_loopback_tcp_pair() {
        use futures_util::{SinkExt, StreamExt};
        use std::time::Duration;
        use tokio::io::AsyncWriteExt;
        use tokio::net::{TcpListener, TcpStream};
        use tokio_util::codec::{Framed, FramedRead};

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The meter side: answers each request from the wPort it was addressed to.
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(stream, WrapperCodec::new(1024));
            let mut seen = Vec::new();
            while let Some(request) = framed.next().await {
                let request = request.unwrap();
                framed
                    .send(request.reply(request.apdu.len().to_be_bytes().to_vec()))
                    .await
                    .unwrap();
                seen.push(request);
            }
            seen
        });

        let run = async {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (read, mut write) = stream.into_split();
            let mut replies = FramedRead::new(read, WrapperCodec::new(1024));
            // One frame dribbled out in pieces, then three frames in one write.
            let first = frames()[0].to_bytes();
            for piece in first.chunks(3) {
                write.write_all(piece).await.unwrap();
                write.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let coalesced: Vec<u8> = frames().iter().flat_map(|f| f.to_bytes()).collect();
            write.write_all(&coalesced).await.unwrap();
            let mut got = Vec::new();
            for _ in 0..4 {
                got.push(replies.next().await.unwrap().unwrap());
            }
            write.shutdown().await.unwrap();
            assert!(replies.next().await.is_none());
            got
        };
        let replies = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("loopback test hung");
        let seen = server.await.unwrap();

        let mut sent = vec![frames()[0].clone()];
        sent.extend(frames());
        assert_eq!(seen, sent);
        let expected: Vec<WrapperFrame> = sent
            .iter()
            .map(|f| f.reply(f.apdu.len().to_be_bytes().to_vec()))
            .collect();
        assert_eq!(replies, expected);
    }

    proptest! {
        #[test]
        fn any_split_of_a_stream_decodes_the_same_frames(cuts in proptest::collection::vec(1usize..80, 0..20)) {
            let stream: Vec<u8> = frames().iter().flat_map(|f| f.to_bytes()).collect();
            let mut codec = WrapperCodec::new(1024);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut rest = &stream[..];
            for cut in cuts.into_iter().chain(std::iter::repeat(usize::MAX)) {
                if rest.is_empty() {
                    break;
                }
                let (piece, tail) = rest.split_at(cut.min(rest.len()));
                rest = tail;
                buf.put_slice(piece);
                got.extend(decode_all(&mut codec, &mut buf));
            }
            prop_assert_eq!(got, frames());
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut codec = WrapperCodec::new(32);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
            let _ = codec.decode_eof(&mut buf);
        }
    }
}
