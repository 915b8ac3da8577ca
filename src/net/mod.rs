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

/// The real clock, as the schedules' time (the pure code takes it as a parameter).
pub fn wall_clock() -> crate::time::Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    crate::time::Timestamp::from_millis(d.as_millis() as u64)
}
pub use server::{serve, serve_connection, ConnectionLimits, Endpoint, ServerOptions};
pub use wrapper_codec::{WrapperCodec, WrapperCodecError};
pub use wrapper_stream::WrapperStream;
