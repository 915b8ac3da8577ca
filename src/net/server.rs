//! A DLMS server over the TCP wrapper: one [`ServerSession`] per client SAP on each connection.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::{WrapperCodec, WrapperCodecError};
use crate::dlms::wrapper::WrapperFrame;
use crate::session::{CosemServer, ServerConfig, ServerSession};

/// What one connection serves: sessions with an application behind them.
pub trait Endpoint {
    /// A new session for a client SAP that spoke for the first time on this connection.
    fn open_session(
        &mut self,
        client_sap: u16,
        challenge: Vec<u8>,
        now: std::time::Instant,
    ) -> ServerSession;
    /// Lets `session` handle one APDU with the application.
    fn handle(&mut self, session: &mut ServerSession, now: std::time::Instant, apdu: &[u8]);
    /// How long to wait before answering (simulated processing time).
    fn latency(&mut self) -> Duration {
        Duration::ZERO
    }
    /// The connection is over; these were its sessions.
    fn close(&mut self, _sessions: Vec<ServerSession>) {}
}

/// Framing limits of a connection.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// The wPorts of the logical devices this device hosts (the management device is 1).
    pub logical_devices: Vec<u16>,
    /// A connection on which no frame arrives for this long is closed.
    pub idle_timeout: Duration,
    pub max_apdu: usize,
}

/// Serves one connection until the client closes it or it idles out; frames in `first` are sent first.
pub async fn serve_connection<S, E>(
    stream: S,
    limits: &ConnectionLimits,
    endpoint: &mut E,
    first: Option<WrapperFrame>,
) -> Result<(), WrapperCodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    E: Endpoint,
{
    let mut framed = Framed::new(stream, WrapperCodec::new(limits.max_apdu));
    if let Some(frame) = first {
        framed.send(frame).await?;
    }
    let mut sessions: Vec<(u16, ServerSession)> = Vec::new();
    let result = serve_frames(&mut framed, limits, endpoint, &mut sessions).await;
    endpoint.close(sessions.into_iter().map(|(_, s)| s).collect());
    result
}

async fn serve_frames<S, E>(
    framed: &mut Framed<S, WrapperCodec>,
    limits: &ConnectionLimits,
    endpoint: &mut E,
    sessions: &mut Vec<(u16, ServerSession)>,
) -> Result<(), WrapperCodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    E: Endpoint,
{
    let mut idle_deadline = Instant::now() + limits.idle_timeout;
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
                idle_deadline = Instant::now() + limits.idle_timeout;
                if !limits.logical_devices.contains(&frame.destination) {
                    continue; // no such logical device: the wrapper profile says to stay silent
                }
                let now = Instant::now().into_std();
                let index = session_index(sessions, frame.source, endpoint, now);
                let session = &mut sessions[index].1;
                endpoint.handle(session, now, &frame.apdu);
                let delay = endpoint.latency();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let session = &mut sessions[index].1;
                while let Some(apdu) = session.poll_transmit() {
                    framed.send(frame.reply(apdu)).await?;
                }
                while session.poll_event().is_some() {}
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or(idle_deadline)) => {
                let now = Instant::now();
                for (_, session) in sessions.iter_mut() {
                    session.handle_timeout(now.into_std());
                    while session.poll_event().is_some() {}
                }
                if now >= idle_deadline || sessions.iter().any(|(_, s)| s.is_closed()) && sessions.iter().all(|(_, s)| s.is_closed()) {
                    return Ok(());
                }
            }
        }
    }
}

fn session_index<E: Endpoint>(
    sessions: &mut Vec<(u16, ServerSession)>,
    client_sap: u16,
    endpoint: &mut E,
    now: std::time::Instant,
) -> usize {
    if let Some(i) = sessions
        .iter()
        .position(|(sap, s)| *sap == client_sap && !s.is_closed())
    {
        return i;
    }
    sessions.retain(|(sap, _)| *sap != client_sap);
    let mut challenge = vec![0; 16];
    rand::rngs::OsRng.fill_bytes(&mut challenge);
    sessions.push((
        client_sap,
        endpoint.open_session(client_sap, challenge, now),
    ));
    sessions.len() - 1
}

/// One shared configuration and a fresh application per connection: a lab meter for tests.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub config: Arc<ServerConfig>,
    pub logical_devices: Vec<u16>,
    pub idle_timeout: Duration,
}

struct Fixed<'a, A> {
    config: &'a Arc<ServerConfig>,
    app: A,
}

impl<A: CosemServer> Endpoint for Fixed<'_, A> {
    fn open_session(
        &mut self,
        client_sap: u16,
        challenge: Vec<u8>,
        now: std::time::Instant,
    ) -> ServerSession {
        ServerSession::new(self.config.clone(), client_sap, challenge, now)
    }

    fn handle(&mut self, session: &mut ServerSession, now: std::time::Instant, apdu: &[u8]) {
        session.handle_apdu(now, apdu, &mut self.app);
    }
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
        stream.set_nodelay(true).ok();
        let options = options.clone();
        let make_app = make_app.clone();
        tokio::spawn(async move {
            let limits = ConnectionLimits {
                logical_devices: options.logical_devices.clone(),
                idle_timeout: options.idle_timeout,
                max_apdu: options.config.max_receive_pdu as usize + 64,
            };
            let mut endpoint = Fixed {
                config: &options.config,
                app: make_app(),
            };
            if let Err(e) = serve_connection(stream, &limits, &mut endpoint, None).await {
                eprintln!("dlms server: connection closed: {e}");
            }
        });
    }
}
