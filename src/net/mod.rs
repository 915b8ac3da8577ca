//! The tokio side: codecs and drivers that run the pure protocol over real sockets.

pub mod wrapper_codec;

pub use wrapper_codec::{WrapperCodec, WrapperCodecError};
