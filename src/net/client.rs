//! A DLMS client over the TCP wrapper: drives a [`ClientSession`] on a tokio socket.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::{WrapperCodec, WrapperCodecError};
use crate::dlms::data::Data;
use crate::dlms::wrapper::WrapperFrame;
use crate::dlms::xdlms::{
    AttributeDescriptor, DataNotification, MethodDescriptor, SelectiveAccess,
};
use crate::session::{
    Authentication, ClientConfig, ClientEvent, ClientSession, Negotiated, RequestId, Response,
    SessionError,
};

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: io::Error },
    #[error("connection: {0}")]
    Wrapper(#[from] WrapperCodecError),
    #[error("the meter closed the connection")]
    Closed,
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// One association with one logical device over one TCP connection.
pub struct DlmsClient {
    framed: Framed<TcpStream, WrapperCodec>,
    session: ClientSession,
    client_sap: u16,
    server_sap: u16,
    notifications: Vec<DataNotification>,
}

impl DlmsClient {
    /// Connects; draws the HLS challenge from the OS when the configuration leaves it empty.
    pub async fn connect(
        addr: &str,
        client_sap: u16,
        server_sap: u16,
        config: ClientConfig,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let connect_err = |source| ClientError::Connect {
            addr: addr.to_string(),
            source,
        };
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| connect_err(io::Error::new(io::ErrorKind::TimedOut, "no answer")))?
            .map_err(connect_err)?;
        Self::from_stream(stream, client_sap, server_sap, config)
    }

    /// Associates over a connection that is already open, e.g. one a woken meter made to the
    /// head-end's listener (its push, if any, is kept in [`take_notifications`](Self::take_notifications)).
    pub fn from_stream(
        stream: TcpStream,
        client_sap: u16,
        server_sap: u16,
        mut config: ClientConfig,
    ) -> Result<Self, ClientError> {
        stream.set_nodelay(true).ok();
        // Only HLS sends a challenge: other associations skip the trip to the OS for randomness.
        if config.challenge.is_empty() && config.authentication == Authentication::HighGmac {
            config.challenge = vec![0; 16];
            rand::rngs::OsRng.fill_bytes(&mut config.challenge);
        }
        let max_apdu = config.max_receive_pdu as usize + 64;
        Ok(DlmsClient {
            framed: Framed::new(stream, WrapperCodec::new(max_apdu)),
            session: ClientSession::new(config)?,
            client_sap,
            server_sap,
            notifications: Vec::new(),
        })
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.framed.get_ref().peer_addr().ok()
    }

    /// Pushes that arrived on this association while waiting for answers.
    pub fn take_notifications(&mut self) -> Vec<DataNotification> {
        std::mem::take(&mut self.notifications)
    }

    pub async fn associate(&mut self) -> Result<Negotiated, ClientError> {
        self.session.associate(now())?;
        self.run(|event| match event {
            ClientEvent::Associated(n) => Some(n),
            _ => None,
        })
        .await
    }

    pub async fn get(
        &mut self,
        attribute: AttributeDescriptor,
        access: Option<SelectiveAccess>,
    ) -> Result<Response, ClientError> {
        let id = self.session.get(now(), attribute, access)?;
        self.response(id).await
    }

    pub async fn get_list(
        &mut self,
        items: Vec<(AttributeDescriptor, Option<SelectiveAccess>)>,
    ) -> Result<Response, ClientError> {
        let id = self.session.get_list(now(), items)?;
        self.response(id).await
    }

    pub async fn set(
        &mut self,
        attribute: AttributeDescriptor,
        value: Data,
    ) -> Result<Response, ClientError> {
        let id = self.session.set(now(), attribute, value)?;
        self.response(id).await
    }

    pub async fn action(
        &mut self,
        method: MethodDescriptor,
        parameters: Option<Data>,
    ) -> Result<Response, ClientError> {
        let id = self.session.action(now(), method, parameters)?;
        self.response(id).await
    }

    /// Releases the association (RLRQ/RLRE) and closes the connection.
    pub async fn release(mut self) -> Result<(), ClientError> {
        self.session.release(now())?;
        self.run(|event| matches!(event, ClientEvent::Released).then_some(()))
            .await?;
        self.framed.close().await?;
        Ok(())
    }

    async fn response(&mut self, id: RequestId) -> Result<Response, ClientError> {
        self.run(|event| match event {
            ClientEvent::Response { id: got, response } if got == id => Some(response),
            _ => None,
        })
        .await
    }

    /// Sends what the session queued and feeds it frames and deadlines until `pick` accepts an event.
    async fn run<T>(
        &mut self,
        mut pick: impl FnMut(ClientEvent) -> Option<T>,
    ) -> Result<T, ClientError> {
        loop {
            while let Some(apdu) = self.session.poll_transmit() {
                self.framed
                    .send(WrapperFrame::new(self.client_sap, self.server_sap, apdu))
                    .await?;
            }
            while let Some(event) = self.session.poll_event() {
                match event {
                    ClientEvent::Failed(e) => return Err(e.into()),
                    ClientEvent::DataNotification(n) => self.notifications.push(n),
                    other => {
                        if let Some(found) = pick(other) {
                            return Ok(found);
                        }
                    }
                }
            }
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            tokio::select! {
                frame = self.framed.next() => match frame {
                    Some(Ok(frame)) if frame.source == self.server_sap && frame.destination == self.client_sap => {
                        self.session.handle_apdu(now(), &frame.apdu)
                    }
                    Some(Ok(_)) => {} // another association's frame: not ours to answer
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(ClientError::Closed),
                },
                _ = sleep_until(deadline) => self.session.handle_timeout(now()),
            }
        }
    }
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
