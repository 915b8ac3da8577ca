//! A byte stream carrying wrapper frames, with buffers sized to the frames.
//!
//! `tokio_util::codec::Framed` starts with 8 KiB for reading and 8 KiB for writing on every
//! connection; a DLMS read moves a few dozen bytes each way, and a fleet opens tens of
//! thousands of connections a second, so those buffers cost more in the allocator than the
//! protocol costs in the session. This keeps one small read buffer that grows only to what an
//! accepted header announces ([`WrapperCodec`] does the parsing and the limits) and one write
//! buffer reused for every frame.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder};

use super::{WrapperCodec, WrapperCodecError};
use crate::dlms::wrapper::WrapperFrame;

/// Room for the frames of an association's requests without growing.
const READ_START: usize = 512;

/// Reads and writes [`WrapperFrame`]s on `S`, refusing APDUs over the codec's limit.
#[derive(Debug)]
pub struct WrapperStream<S> {
    io: S,
    codec: WrapperCodec,
    read: BytesMut,
    write: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WrapperStream<S> {
    pub fn new(io: S, max_apdu: usize) -> Self {
        WrapperStream {
            io,
            codec: WrapperCodec::new(max_apdu),
            read: BytesMut::with_capacity(READ_START),
            write: BytesMut::new(),
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The next frame, or `None` when the peer closed between frames. Cancel-safe: bytes
    /// already read stay buffered for the next call.
    pub async fn next(&mut self) -> Option<Result<WrapperFrame, WrapperCodecError>> {
        loop {
            match self.codec.decode(&mut self.read) {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
            // decode() reserved the bytes an incomplete frame still needs.
            match self.io.read_buf(&mut self.read).await {
                Ok(0) => return self.codec.decode_eof(&mut self.read).transpose(),
                Ok(_) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }

    /// Writes one frame whole.
    pub async fn send(&mut self, frame: WrapperFrame) -> Result<(), WrapperCodecError> {
        self.write.clear();
        self.codec.encode(frame, &mut self.write)?;
        self.io.write_all(&self.write).await?;
        Ok(())
    }

    /// Shuts down the sending side (the peer reads the end of the stream).
    pub async fn close(&mut self) -> Result<(), WrapperCodecError> {
        self.io.shutdown().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::codec::Codec;
    use crate::dlms::wrapper::{HEADER_LEN, PUBLIC_CLIENT, SERVER_MANAGEMENT};

    fn frame(len: usize) -> WrapperFrame {
        WrapperFrame::new(PUBLIC_CLIENT, SERVER_MANAGEMENT, vec![0x5A; len])
    }

    #[tokio::test]
    async fn carries_frames_of_any_size_both_ways() {
        let (a, b) = tokio::io::duplex(64);
        let mut a = WrapperStream::new(a, 4096);
        let mut b = WrapperStream::new(b, 4096);
        let sizes = [0, 1, 31, READ_START - HEADER_LEN, READ_START, 3000, 5];
        let writer = tokio::spawn(async move {
            for n in sizes {
                a.send(frame(n)).await.unwrap();
            }
            a.close().await.unwrap();
        });
        for n in sizes {
            assert_eq!(b.next().await.unwrap().unwrap(), frame(n));
        }
        assert!(b.next().await.is_none());
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn refuses_an_apdu_over_the_limit_without_growing() {
        let (mut a, b) = tokio::io::duplex(64);
        let mut b = WrapperStream::new(b, 1024);
        a.write_all(&[0, 1, 0, 16, 0, 1, 0xFF, 0xFF]).await.unwrap();
        assert!(matches!(
            b.next().await,
            Some(Err(WrapperCodecError::Wrapper(_)))
        ));
        assert!(b.read.capacity() <= READ_START, "{}", b.read.capacity());
    }

    #[tokio::test]
    async fn rejects_a_stream_ending_inside_a_frame() {
        let (mut a, b) = tokio::io::duplex(64);
        let mut b = WrapperStream::new(b, 1024);
        a.write_all(&frame(10).to_bytes()[..12]).await.unwrap();
        drop(a);
        assert!(matches!(
            b.next().await,
            Some(Err(WrapperCodecError::Io(_)))
        ));
    }
}
