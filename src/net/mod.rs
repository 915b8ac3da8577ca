//! The tokio side: codecs and drivers that run the pure protocol over real sockets.

pub mod client;
pub mod fleet;
pub mod fleet_control;
pub mod headend;
pub mod operator_aaa;
pub mod operator_client;
pub mod operator_http;
pub mod operator_meters;
pub mod radius_udp;
pub mod server;
pub mod wrapper_codec;
pub mod wrapper_stream;

pub use client::{ClientError, DlmsClient};
pub use server::{serve, serve_connection, ConnectionLimits, Endpoint, ServerOptions};
pub use wrapper_codec::{WrapperCodec, WrapperCodecError};
pub use wrapper_stream::WrapperStream;
