//! Runs a fleet of simulated meters on real loopback sockets: one listener per meter address (or
//! one wildcard listener that tells meters apart by the address the client dialled), a session per
//! association, and the outbound call a usually-disconnected meter makes after a wake-up.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use super::server::{serve_connection, ConnectionLimits, Endpoint};
use crate::cosem::MeterSettings;
use crate::dlms::codec::Codec;
use crate::dlms::wrapper::WrapperFrame;
use crate::meter::device::{meter_settings, MeterDevice, Modem, Refusal, WakeAction};
use crate::meter::identity::MeterIdentity;
use crate::meter::manifest::{Addressing, FleetManifest, ManifestMeter};
use crate::meter::profile::Profile;
use crate::session::ServerSession;

/// The meters of one process (all of a fleet, or one shard's slice of it).
pub struct Fleet {
    pub profile: Arc<Profile>,
    pub seed: u64,
    pub cells: u32,
    pub addressing: Addressing,
    /// The meter indices this process runs.
    pub range: Range<u32>,
    settings: Arc<MeterSettings>,
    meters: Vec<Mutex<MeterDevice>>,
    /// Each meter's accept loop when meters have their own listeners: a meter whose modem has
    /// no data session stops listening, so connecting to it is refused.
    accept_loops: Mutex<Vec<Option<JoinHandle<()>>>>,
}

impl Fleet {
    pub fn new(
        profile: Profile,
        seed: u64,
        cells: u32,
        addressing: Addressing,
        range: Range<u32>,
    ) -> Self {
        let settings = Arc::new(meter_settings(&profile, seed));
        let profile = Arc::new(profile);
        let meters = range
            .clone()
            .map(|i| {
                Mutex::new(MeterDevice::new(
                    i,
                    identity(&profile, seed, cells, i).serial,
                    settings.clone(),
                ))
            })
            .collect();
        Fleet {
            profile,
            seed,
            cells,
            addressing,
            range,
            settings,
            meters,
            accept_loops: Mutex::new(Vec::new()),
        }
    }

    pub fn settings(&self) -> &Arc<MeterSettings> {
        &self.settings
    }

    pub fn identity(&self, index: u32) -> MeterIdentity {
        identity(&self.profile, self.seed, self.cells, index)
    }

    /// The device of meter `index`, if this process runs it.
    pub fn device(&self, index: u32) -> Option<&Mutex<MeterDevice>> {
        index
            .checked_sub(self.range.start)
            .and_then(|i| self.meters.get(i as usize))
    }

    /// The manifest of meters `0..count` (the whole fleet, whatever this process runs).
    pub fn manifest(&self, count: u32) -> FleetManifest {
        let meters = (0..count)
            .map(|i| {
                ManifestMeter::new(
                    &self.identity(i),
                    &self.profile,
                    self.addressing
                        .address(i)
                        .expect("address range checked at start"),
                )
            })
            .collect();
        FleetManifest {
            profile: self.profile.name.clone(),
            seed: self.seed,
            cells: self.cells,
            meters,
        }
    }

    fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            logical_devices: vec![1],
            idle_timeout: self.profile.idle_timeout,
            max_apdu: self.profile.max_pdu as usize + 64,
        }
    }

    /// Sets meter `index`'s modem as the operator sees it; `None` if this process does not run it.
    ///
    /// With a listener per meter, a modem that is not `Online` has its meter's listener closed
    /// (new connections are refused, as to an address without a data session) and coming back
    /// binds it again. Connections already open stay open. With the wildcard listener,
    /// connections are accepted and reset at once instead.
    pub async fn set_modem(self: &Arc<Self>, index: u32, modem: Modem) -> Option<io::Result<()>> {
        self.device(index)?
            .lock()
            .expect("meter lock")
            .set_modem(modem, unix_now());
        Some(self.follow_modem(index).await)
    }

    /// Opens or closes meter `index`'s listener to match its modem.
    async fn follow_modem(self: &Arc<Self>, index: u32) -> io::Result<()> {
        let Some(online) = self
            .device(index)
            .map(|d| d.lock().expect("meter lock").modem() == Modem::Online)
        else {
            return Ok(());
        };
        let slot = (index - self.range.start) as usize;
        let running = {
            let mut loops = self.accept_loops.lock().expect("accept loops lock");
            match loops.get_mut(slot) {
                None => return Ok(()), // no listener per meter
                Some(running) if online == running.is_some() => return Ok(()),
                Some(running) => running.take(),
            }
        };
        if let Some(task) = running {
            task.abort();
            // Wait until the listener is closed, so the caller's next connection is refused.
            let _ = task.await;
        }
        if !online {
            return Ok(());
        }
        let Some(addr) = self.addressing.address(index) else {
            return Ok(());
        };
        let task = spawn_accept_loop(self.clone(), index, bind(addr)?);
        if let Some(old) = self.accept_loops.lock().expect("accept loops lock")[slot].replace(task)
        {
            old.abort(); // a concurrent call bound first: keep one loop
        }
        Ok(())
    }
}

fn identity(profile: &Profile, seed: u64, cells: u32, index: u32) -> MeterIdentity {
    MeterIdentity::derive(
        seed,
        index,
        profile.manufacturer,
        &profile.security.fleet_secret,
        cells,
    )
}

/// Unix seconds from the real clock (the fleet's only clock in real time).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// One connection to one meter.
struct MeterEndpoint<'a> {
    fleet: &'a Fleet,
    index: u32,
}

impl MeterEndpoint<'_> {
    fn device(&self) -> std::sync::MutexGuard<'_, MeterDevice> {
        self.fleet
            .device(self.index)
            .expect("endpoints exist for this process's meters")
            .lock()
            .expect("meter lock")
    }
}

impl Endpoint for MeterEndpoint<'_> {
    fn open_session(
        &mut self,
        client_sap: u16,
        challenge: Vec<u8>,
        now: std::time::Instant,
    ) -> ServerSession {
        // Derived here, not kept per connection: it would double the connection task's size.
        let identity = self.fleet.identity(self.index);
        self.device()
            .open_session(&self.fleet.profile, &identity, client_sap, challenge, now)
    }

    fn handle(&mut self, session: &mut ServerSession, now: std::time::Instant, apdu: &[u8]) {
        let mut device = self.device();
        device.app.set_now(unix_now());
        session.handle_apdu(now, apdu, &mut device.app);
    }

    fn latency(&mut self) -> Duration {
        let latency = &self.fleet.profile.latency;
        match latency.max.is_zero() {
            true => Duration::ZERO,
            false => latency.sample(rand::thread_rng().gen()),
        }
    }

    fn close(&mut self, sessions: Vec<ServerSession>) {
        self.device().release(sessions);
    }
}

/// Serves one connection to meter `index`; `first` is a push to send before anything else.
pub async fn serve_meter(
    fleet: Arc<Fleet>,
    index: u32,
    stream: TcpStream,
    first: Option<WrapperFrame>,
) {
    let accepted = match fleet.device(index) {
        Some(device) => device.lock().expect("meter lock").accept(&fleet.profile),
        None => Err(Refusal::Unreachable(Modem::PoweredOff)),
    };
    if accepted.is_err() {
        // No data session or too many associations: the connection dies at once (RST).
        stream.set_zero_linger().ok();
        return;
    }
    stream.set_nodelay(true).ok();
    let mut endpoint = MeterEndpoint {
        fleet: &fleet,
        index,
    };
    // A broken or hostile connection ends itself; the meter goes on serving others.
    let _ = serve_connection(stream, &fleet.limits(), &mut endpoint, first).await;
}

/// Binds one listener per meter of this process, reporting progress every `step` meters.
pub fn bind_listeners(
    fleet: &Fleet,
    mut progress: impl FnMut(u32),
) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(fleet.range.len());
    for (n, index) in fleet.range.clone().enumerate() {
        let addr = fleet.addressing.address(index).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("meter {index} has no loopback address"),
            )
        })?;
        listeners.push(
            bind(addr).map_err(|e| io::Error::new(e.kind(), format!("binding {addr}: {e}")))?,
        );
        progress(n as u32 + 1);
    }
    Ok(listeners)
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

/// Accepts on every listener until the runtime stops (or the meter's modem goes offline).
pub fn spawn_accept_loops(fleet: &Arc<Fleet>, listeners: Vec<TcpListener>) {
    let tasks = listeners
        .into_iter()
        .zip(fleet.range.clone())
        .map(|(listener, index)| Some(spawn_accept_loop(fleet.clone(), index, listener)))
        .collect();
    *fleet.accept_loops.lock().expect("accept loops lock") = tasks;
}

fn spawn_accept_loop(fleet: Arc<Fleet>, index: u32, listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_meter(fleet.clone(), index, stream, None));
                }
                // Out of descriptors or similar: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
}

/// Accepts on one wildcard listener, telling meters apart by the local address the client dialled.
pub async fn serve_wildcard(fleet: Arc<Fleet>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let local = stream.local_addr().ok();
        match local
            .and_then(|a| fleet.addressing.index_of(a))
            .filter(|i| fleet.range.contains(i))
        {
            Some(index) if local.is_some_and(|a| a.ip().is_loopback()) => {
                tokio::spawn(serve_meter(fleet.clone(), index, stream, None));
            }
            _ => drop(stream),
        }
    }
}

/// What a wake-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WakeOutcome {
    /// The meter called the head-end and serves that connection.
    Calling { headend: String },
    /// The meter is not usually disconnected, or cannot act (no power, not ours).
    Ignored(&'static str),
}

/// Delivers a wake-up SMS to meter `index`.
pub async fn wake_up(fleet: &Arc<Fleet>, index: u32) -> io::Result<WakeOutcome> {
    let action = match fleet.device(index) {
        None => return Ok(WakeOutcome::Ignored("no such meter in this fleet")),
        Some(device) => device
            .lock()
            .expect("meter lock")
            .wake_up(&fleet.profile, unix_now()),
    };
    let Some(WakeAction::CallHeadEnd {
        headend,
        udp,
        push_client_sap,
        push,
        stay_connected: _,
    }) = action
    else {
        return Ok(WakeOutcome::Ignored(
            "the meter is always listening or has no power",
        ));
    };
    // Woken, the modem opened a data session: the meter listens again too.
    if let Err(e) = fleet.follow_modem(index).await {
        eprintln!("meter {index} cannot listen again after its wake-up: {e}");
    }
    let frame = WrapperFrame::new(1, push_client_sap, push);
    let first = if udp {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        socket.send_to(&frame.to_bytes(), &headend).await?;
        None
    } else {
        Some(frame)
    };
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&headend))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the head-end at {headend} did not answer"),
            )
        })??;
    tokio::spawn(serve_meter(fleet.clone(), index, stream, first));
    Ok(WakeOutcome::Calling { headend })
}
