//! The head-end's listener for meters that call in: woken meters (after the SMS) and
//! unsolicited pushes, over TCP and UDP on the same port. A caller is identified by the logical
//! device name in its Data-Notification; a TCP caller that sends nothing first (its push went
//! by UDP) takes the name of the most recent unclaimed UDP push.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::wrapper::WrapperHeader;
use crate::dlms::xdlms::DataNotification;

/// How long a TCP caller may take to send its push, and a UDP push waits for its TCP call.
const FIRST_FRAME: Duration = Duration::from_secs(1);
const UDP_PAIRING: Duration = Duration::from_secs(5);
/// A push is small: its logical device name, perhaps a few values.
const MAX_PUSH: usize = 2048;

/// A meter announced itself; `body` is the push's content.
#[derive(Debug)]
pub struct Push {
    pub meter: usize,
    pub body: Data,
}

/// The shared state of the listener.
pub struct Inbound {
    names: HashMap<Vec<u8>, usize>,
    waiting: Mutex<HashMap<usize, oneshot::Sender<TcpStream>>>,
    udp_recent: Mutex<VecDeque<(Instant, usize)>>,
    pushes: mpsc::UnboundedSender<Push>,
}

impl Inbound {
    /// Binds TCP and UDP on `addr` and serves until the runtime stops; pushes come out of the receiver.
    pub async fn bind(
        addr: SocketAddr,
        names: HashMap<Vec<u8>, usize>,
    ) -> io::Result<(Arc<Inbound>, SocketAddr, mpsc::UnboundedReceiver<Push>)> {
        let tcp = TcpListener::bind(addr).await?;
        let local = tcp.local_addr()?;
        let udp = UdpSocket::bind(local).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let inbound = Arc::new(Inbound {
            names,
            waiting: Mutex::new(HashMap::new()),
            udp_recent: Mutex::new(VecDeque::new()),
            pushes: tx,
        });
        tokio::spawn(accept_loop(inbound.clone(), tcp));
        tokio::spawn(udp_loop(inbound.clone(), udp));
        Ok((inbound, local, rx))
    }

    /// Waits for `meter` to call; register before sending its wake-up.
    pub fn expect(&self, meter: usize) -> oneshot::Receiver<TcpStream> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("inbound lock").insert(meter, tx);
        rx
    }

    /// Stops waiting for `meter`.
    pub fn forget(&self, meter: usize) {
        self.waiting.lock().expect("inbound lock").remove(&meter);
    }

    fn identify(&self, n: &DataNotification) -> Option<usize> {
        let name = match &n.body {
            Data::Structure(v) => v.first()?.as_octets()?,
            other => other.as_octets()?,
        };
        self.names.get(name).copied()
    }

    fn arrived(&self, meter: usize, stream: TcpStream) {
        let waiter = self.waiting.lock().expect("inbound lock").remove(&meter);
        if let Some(tx) = waiter {
            // The read gave up meanwhile if this fails: the stream closes, the meter times out.
            tx.send(stream).ok();
        }
    }
}

async fn accept_loop(inbound: Arc<Inbound>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let inbound = inbound.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            let meter = match tokio::time::timeout(FIRST_FRAME, read_push(&mut stream)).await {
                Ok(Some(n)) => inbound.identify(&n).inspect(|&meter| {
                    inbound
                        .pushes
                        .send(Push {
                            meter,
                            body: n.body,
                        })
                        .ok();
                }),
                Ok(None) => None,
                Err(_) => inbound.paired_udp_push(),
            };
            if let Some(meter) = meter {
                inbound.arrived(meter, stream);
            }
        });
    }
}

impl Inbound {
    fn paired_udp_push(&self) -> Option<usize> {
        let mut recent = self.udp_recent.lock().expect("inbound lock");
        while let Some((at, meter)) = recent.pop_front() {
            if at.elapsed() < UDP_PAIRING {
                return Some(meter);
            }
        }
        None
    }
}

async fn udp_loop(inbound: Arc<Inbound>, socket: UdpSocket) {
    let mut buf = vec![0u8; MAX_PUSH + 8];
    loop {
        let Ok((n, _)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Some(push) = push_of(&buf[..n]) else {
            continue;
        };
        if let Some(meter) = inbound.identify(&push) {
            let mut recent = inbound.udp_recent.lock().expect("inbound lock");
            recent.push_back((Instant::now(), meter));
            drop(recent);
            inbound
                .pushes
                .send(Push {
                    meter,
                    body: push.body,
                })
                .ok();
        }
    }
}

/// Reads exactly one wrapper frame and decodes it as a Data-Notification.
async fn read_push(stream: &mut TcpStream) -> Option<DataNotification> {
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).await.ok()?;
    let len = WrapperHeader::new_checked(&header[..]).ok()?.length() as usize;
    if len > MAX_PUSH {
        return None;
    }
    let mut frame = header.to_vec();
    frame.resize(8 + len, 0);
    stream.read_exact(&mut frame[8..]).await.ok()?;
    push_of(&frame)
}

fn push_of(frame: &[u8]) -> Option<DataNotification> {
    let header = WrapperHeader::new_checked(frame).ok()?;
    DataNotification::from_bytes(header.apdu()?).ok()
}
