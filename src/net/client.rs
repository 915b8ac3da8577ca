//! A DLMS client over the TCP wrapper: drives a [`ClientSession`] on a tokio socket.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use rand::RngCore;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::{WrapperCodecError, WrapperStream};
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
    framed: WrapperStream<TcpStream>,
    session: ClientSession,
    client_sap: u16,
    server_sap: u16,
    notifications: Vec<DataNotification>,
    /// The session's next deadline, moved only when it fires early or must fire earlier.
    timer: Pin<Box<Sleep>>,
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
            framed: WrapperStream::new(stream, max_apdu),
            session: ClientSession::new(config)?,
            client_sap,
            server_sap,
            notifications: Vec::new(),
            timer: Box::pin(tokio::time::sleep_until(far_future())),
        })
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.framed.get_ref().peer_addr().ok()
    }

    /// The invocation counter the next ciphered request would use (persist it across sessions).
    pub fn next_invocation_counter(&self) -> Option<u32> {
        self.session.next_invocation_counter()
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

    /// The session's next deadline, or none in practice.
    fn deadline(&self) -> Instant {
        self.session
            .poll_timeout()
            .map_or_else(far_future, Instant::from_std)
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
            let deadline = self.deadline();
            if deadline < self.timer.deadline() {
                self.timer.as_mut().reset(deadline);
            }
            tokio::select! {
                frame = self.framed.next() => match frame {
                    Some(Ok(frame)) if frame.source == self.server_sap && frame.destination == self.client_sap => {
                        self.session.handle_apdu(now(), &frame.apdu)
                    }
                    Some(Ok(_)) => {} // another association's frame: not ours to answer
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(ClientError::Closed),
                },
                () = self.timer.as_mut() => {
                    // Requests since it was set may have moved the deadline later.
                    match self.deadline() {
                        later if later > Instant::now() => self.timer.as_mut().reset(later),
                        _ => {
                            self.session.handle_timeout(now());
                            self.timer.as_mut().reset(far_future());
                        }
                    }
                }
            }
        }
    }
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// A deadline that never comes in practice: a timer with nothing to wait for.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::codec::hex;
    use crate::dlms::obis::Obis;
    use tokio::net::TcpListener;

    // REFERENCE.md section 1 (u9n/dlms-cosem test_aare.py, test_get.py): an accepted AARE and
    // GET-Response-Normal u32 5009.
    const AARE: &str =
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007";
    const GET_RESPONSE: &str = "C401C1000600001391";

    /// A meter that answers its n-th request with `answers[n]` after `delay`, or never.
    async fn scripted_meter(answers: Vec<&'static str>, delay: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = WrapperStream::new(stream, 1024);
            let mut answers = answers.into_iter();
            while let Some(Ok(request)) = framed.next().await {
                tokio::time::sleep(delay).await;
                if let Some(answer) = answers.next() {
                    framed
                        .send(request.reply(hex::decode(answer).unwrap()))
                        .await
                        .unwrap();
                }
            }
        });
        addr
    }

    fn config(timeout_ms: u64) -> ClientConfig {
        ClientConfig {
            response_timeout: Duration::from_millis(timeout_ms),
            ..ClientConfig::default()
        }
    }

    #[tokio::test]
    async fn each_request_gets_its_own_response_timeout() {
        // Two answers 200 ms late each, 300 ms allowed per request: 400 ms in all is fine.
        let addr = scripted_meter(vec![AARE, GET_RESPONSE], Duration::from_millis(200)).await;
        let mut client = DlmsClient::connect(&addr, 16, 1, config(300), Duration::from_secs(1))
            .await
            .unwrap();
        client.associate().await.unwrap();
        let response = client
            .get(
                AttributeDescriptor::new(1, Obis::INVOCATION_COUNTER, 2),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            response,
            Response::Get(crate::dlms::xdlms::GetDataResult::Data(
                Data::DoubleLongUnsigned(5009)
            ))
        );
    }

    #[tokio::test]
    async fn a_silent_meter_times_out() {
        let addr = scripted_meter(vec![], Duration::ZERO).await;
        let mut client = DlmsClient::connect(&addr, 16, 1, config(300), Duration::from_secs(1))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let err = client.associate().await.unwrap_err();
        assert!(
            matches!(err, ClientError::Session(SessionError::Timeout { .. })),
            "{err}"
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }
}
