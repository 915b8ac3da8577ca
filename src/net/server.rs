//! A DLMS server over the TCP wrapper: one [`ServerSession`] per client SAP on each connection.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::{WrapperCodec, WrapperCodecError};
use crate::session::{CosemServer, ServerConfig, ServerSession};

/// How a physical device answers on its connections.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub config: Arc<ServerConfig>,
    /// The wPorts of the logical devices this device hosts (the management device is 1).
    pub logical_devices: Vec<u16>,
    /// A connection on which no frame arrives for this long is closed.
    pub idle_timeout: Duration,
}

/// Serves one connection until the client closes it or it idles out.
pub async fn serve_connection<A: CosemServer>(
    stream: TcpStream,
    options: &ServerOptions,
    app: &mut A,
) -> Result<(), WrapperCodecError> {
    stream.set_nodelay(true).ok();
    let max_apdu = options.config.max_receive_pdu as usize + 64;
    let mut framed = Framed::new(stream, WrapperCodec::new(max_apdu));
    let mut sessions: Vec<(u16, ServerSession)> = Vec::new();
    let mut idle_deadline = Instant::now() + options.idle_timeout;
    loop {
        let deadline = sessions
            .iter()
            .filter_map(|(_, s)| s.poll_timeout())
            .map(Instant::from_std)
            .chain([idle_deadline])
            .min();
        tokio::select! {
            frame = framed.next() => {
                let Some(frame) = frame.transpose()? else { return Ok(()) };
                idle_deadline = Instant::now() + options.idle_timeout;
                if !options.logical_devices.contains(&frame.destination) {
                    continue; // no such logical device: the wrapper profile says to stay silent
                }
                let session = session_for(&mut sessions, frame.source, &options.config);
                session.handle_apdu(Instant::now().into_std(), &frame.apdu, app);
                while let Some(apdu) = session.poll_transmit() {
                    framed.send(frame.reply(apdu)).await?;
                }
                while session.poll_event().is_some() {}
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or(idle_deadline)) => {
                let now = Instant::now();
                for (_, session) in &mut sessions {
                    session.handle_timeout(now.into_std());
                    while session.poll_event().is_some() {}
                }
                sessions.retain(|(_, s)| !s.is_closed());
                if now >= idle_deadline {
                    return Ok(());
                }
            }
        }
    }
}

fn session_for<'a>(
    sessions: &'a mut Vec<(u16, ServerSession)>,
    client_sap: u16,
    config: &Arc<ServerConfig>,
) -> &'a mut ServerSession {
    let index = match sessions.iter().position(|(sap, _)| *sap == client_sap) {
        Some(i) => i,
        None => {
            let mut challenge = vec![0; 16];
            rand::rngs::OsRng.fill_bytes(&mut challenge);
            let session = ServerSession::new(
                config.clone(),
                client_sap,
                challenge,
                Instant::now().into_std(),
            );
            sessions.push((client_sap, session));
            sessions.len() - 1
        }
    };
    &mut sessions[index].1
}

/// Accepts connections until the task is dropped, serving each with an application from `make_app`.
pub async fn serve<A, F>(
    listener: TcpListener,
    options: Arc<ServerOptions>,
    make_app: F,
) -> std::io::Result<()>
where
    A: CosemServer + Send + 'static,
    F: Fn() -> A + Send + Sync + 'static,
{
    let make_app = Arc::new(make_app);
    loop {
        let (stream, _) = listener.accept().await?;
        let options = options.clone();
        let make_app = make_app.clone();
        tokio::spawn(async move {
            let mut app = make_app();
            if let Err(e) = serve_connection(stream, &options, &mut app).await {
                eprintln!("dlms server: connection closed: {e}");
            }
        });
    }
}
