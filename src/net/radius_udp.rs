//! RADIUS over loopback UDP: tokio drivers for the [`ProxyClient`] and the [`RadiusServer`].
//!
//! The client runs as one task that owns the socket and the sans-I/O core; handles send it
//! requests and await the outcome. The server runs one task per socket around a shared core,
//! which the command may edit while it runs (a reloaded credentials file). Only loopback
//! addresses are accepted. The client's socket is unconnected, so an ICMP port-unreachable from a
//! dead server is not reported: a dead server shows up as what it is in the field, a timeout.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::radius::client::ClientError;
use crate::radius::{
    AccessOutcome, AccessRequest, AccountingOutcome, AccountingRequest, ClientConfig, ClientEvent,
    ProxyClient, RadiusServer, RequestId, ServerEvent,
};

/// The largest datagram RADIUS allows.
const MAX_DATAGRAM: usize = crate::radius::packet::MAX_PACKET_LEN;

/// Why a RADIUS exchange over UDP failed (a timeout is an outcome, not an error).
#[derive(Debug, thiserror::Error)]
pub enum RadiusUdpError {
    #[error("{0} is not a loopback address; this tool only talks to 127.0.0.0/8 and ::1")]
    NotLoopback(SocketAddr),
    #[error("cannot open a UDP socket on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the RADIUS client task has stopped")]
    Stopped,
}

/// An outcome with how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion<T> {
    pub outcome: T,
    /// Transmissions made.
    pub tries: u32,
    /// From the first transmission to the outcome.
    pub elapsed: Duration,
}

type Reply<T> = oneshot::Sender<Result<Completion<T>, ClientError>>;

enum Command {
    Access(AccessRequest, Reply<AccessOutcome>),
    Accounting(AccountingRequest, Reply<AccountingOutcome>),
}

enum Waiter {
    Access(Reply<AccessOutcome>),
    Accounting(Reply<AccountingOutcome>),
}

/// A handle to a RADIUS client task talking to one server; clone it freely.
#[derive(Clone)]
pub struct RadiusUdpClient {
    commands: mpsc::Sender<Command>,
    local_addr: SocketAddr,
}

impl RadiusUdpClient {
    /// Binds an ephemeral loopback port and starts the task; `seed` drives the authenticators.
    pub async fn start(
        server: SocketAddr,
        config: ClientConfig,
        seed: u64,
    ) -> Result<Self, RadiusUdpError> {
        check_loopback(server)?;
        let core = ProxyClient::new(config, seed)?;
        let bind_addr = SocketAddr::new(server.ip(), 0);
        let socket = UdpSocket::bind(bind_addr)
            .await
            .map_err(|source| RadiusUdpError::Bind {
                addr: bind_addr,
                source,
            })?;
        let local_addr = socket.local_addr().map_err(|source| RadiusUdpError::Bind {
            addr: bind_addr,
            source,
        })?;
        let (commands, receiver) = mpsc::channel(256);
        tokio::spawn(run_client(socket, server, core, receiver));
        Ok(RadiusUdpClient {
            commands,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sends an Access-Request and waits for its outcome (Accept, Reject, Challenge or Timeout).
    pub async fn access(
        &self,
        request: AccessRequest,
    ) -> Result<Completion<AccessOutcome>, RadiusUdpError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Access(request, tx)).await?;
        Ok(rx.await.map_err(|_| RadiusUdpError::Stopped)??)
    }

    /// Sends an Accounting-Request and waits until it is answered or times out.
    pub async fn account(
        &self,
        request: AccountingRequest,
    ) -> Result<Completion<AccountingOutcome>, RadiusUdpError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Accounting(request, tx)).await?;
        Ok(rx.await.map_err(|_| RadiusUdpError::Stopped)??)
    }

    async fn send(&self, command: Command) -> Result<(), RadiusUdpError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| RadiusUdpError::Stopped)
    }
}

async fn run_client(
    socket: UdpSocket,
    server: SocketAddr,
    mut core: ProxyClient,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut waiters: HashMap<RequestId, Waiter> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut open = true;
    while open || !waiters.is_empty() {
        let deadline = core.poll_timeout().map(Instant::from_std);
        tokio::select! {
            command = commands.recv(), if open => match command {
                Some(command) => submit(&mut core, command, &mut waiters),
                None => open = false,
            },
            received = socket.recv_from(&mut buf) => {
                // Errors on an unconnected loopback socket are transient; the timers still run.
                if let Ok((n, from)) = received {
                    if from == server {
                        core.handle_datagram(&buf[..n], Instant::now().into_std());
                    }
                }
            }
            _ = sleep_until(deadline), if deadline.is_some() => {
                core.handle_timeout(Instant::now().into_std());
            }
        }
        while let Some(transmit) = core.poll_transmit() {
            // A failed send is a lost datagram: retransmission or the timeout deals with it.
            let _ = socket.send_to(&transmit.bytes, server).await;
        }
        while let Some(event) = core.poll_event() {
            deliver(event, &mut waiters);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

fn submit(core: &mut ProxyClient, command: Command, waiters: &mut HashMap<RequestId, Waiter>) {
    let now = Instant::now().into_std();
    match command {
        Command::Access(request, reply) => match core.send_access(request, now) {
            Ok(id) => {
                waiters.insert(id, Waiter::Access(reply));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        },
        Command::Accounting(request, reply) => match core.send_accounting(request, now) {
            Ok(id) => {
                waiters.insert(id, Waiter::Accounting(reply));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        },
    }
}

fn deliver(event: ClientEvent, waiters: &mut HashMap<RequestId, Waiter>) {
    match event {
        ClientEvent::Access {
            id,
            outcome,
            tries,
            elapsed,
        } => {
            if let Some(Waiter::Access(reply)) = waiters.remove(&id) {
                let _ = reply.send(Ok(Completion {
                    outcome,
                    tries,
                    elapsed,
                }));
            }
        }
        ClientEvent::Accounting {
            id,
            outcome,
            tries,
            elapsed,
        } => {
            if let Some(Waiter::Accounting(reply)) = waiters.remove(&id) {
                let _ = reply.send(Ok(Completion {
                    outcome,
                    tries,
                    elapsed,
                }));
            }
        }
        ClientEvent::Discarded(_) => {}
    }
}

/// The embedded server on one or more loopback sockets; stops when dropped.
pub struct RadiusUdpServer {
    local_addrs: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

/// How many server events may wait for the consumer before new ones are dropped.
pub const SERVER_EVENT_BACKLOG: usize = 4096;

impl RadiusUdpServer {
    /// Binds every address and serves each with the shared core; events go to the receiver
    /// (dropped when it falls `SERVER_EVENT_BACKLOG` behind).
    pub async fn bind(
        addrs: &[SocketAddr],
        core: Arc<Mutex<RadiusServer>>,
    ) -> Result<(Self, mpsc::Receiver<ServerEvent>), RadiusUdpError> {
        let (events, receiver) = mpsc::channel(SERVER_EVENT_BACKLOG);
        let mut server = RadiusUdpServer {
            local_addrs: Vec::new(),
            tasks: Vec::new(),
        };
        for &addr in addrs {
            check_loopback(addr)?;
            let socket = UdpSocket::bind(addr)
                .await
                .map_err(|source| RadiusUdpError::Bind { addr, source })?;
            let local = socket
                .local_addr()
                .map_err(|source| RadiusUdpError::Bind { addr, source })?;
            server.local_addrs.push(local);
            server.tasks.push(tokio::spawn(run_server(
                socket,
                core.clone(),
                events.clone(),
            )));
        }
        Ok((server, receiver))
    }

    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }
}

impl Drop for RadiusUdpServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn run_server(
    socket: UdpSocket,
    core: Arc<Mutex<RadiusServer>>,
    events: mpsc::Sender<ServerEvent>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let (answers, happened) = {
            let mut core = core.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            core.handle_datagram(
                from,
                &buf[..n],
                Instant::now().into_std(),
                jiff::Timestamp::now(),
            );
            let answers: Vec<_> = std::iter::from_fn(|| core.poll_transmit()).collect();
            let happened: Vec<_> = std::iter::from_fn(|| core.poll_event()).collect();
            (answers, happened)
        };
        for (to, answer) in answers {
            let _ = socket.send_to(&answer, to).await;
        }
        for event in happened {
            let _ = events.try_send(event);
        }
    }
}

fn check_loopback(addr: SocketAddr) -> Result<(), RadiusUdpError> {
    match addr.ip().is_loopback() {
        true => Ok(()),
        false => Err(RadiusUdpError::NotLoopback(addr)),
    }
}
