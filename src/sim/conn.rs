//! Connections between the head-end and a meter over an in-memory link: real wrapper-framed
//! bytes between the head-end's `ClientSession` and the meter's `ServerSession`, carried only
//! while the operator's network passes the SIM's traffic, with the link's latency and loss.
//!
//! A direct read connects to the meter, associates, GETs the load profile by range, releases.
//! A wake-up meter calls in once its data session is up and pushes its logical device name; the
//! head-end identifies it by that name and reads over the same connection.

use rand::RngCore;

use super::{Event, SimMeter, Simulation};
use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::security::SystemTitle;
use crate::dlms::wrapper::WrapperFrame;
use crate::dlms::xdlms::{DataNotification, GetDataResult};
use crate::headend::operator_adapter::OperatorAdapter;
use crate::headend::orchestrator::{ReadFailure, ReadOutcome};
use crate::headend::profile_read::{self, session_failure};
use crate::meter::device::{management_authentication, Refusal, MANAGEMENT_CLIENT};
use crate::meter::identity::{MeterIdentity, Sim};
use crate::meter::profile::Wakeup;
use crate::session::{
    Authentication, ClientConfig, ClientEvent, ClientSession, Response, SecuritySetup,
};
use crate::time::Timestamp;

use std::time::Duration;

/// The head-end's system title.
const HEADEND_TITLE: SystemTitle = SystemTitle(*b"RNMHE001");
/// The server (logical device) wPort the head-end addresses.
const SERVER_SAP: u16 = 1;
/// How long a TCP connect waits before giving up on a meter without a route.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The head-end's DLMS response timeout.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection's handle; stale handles (of a closed connection) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConnRef {
    slot: u32,
    gen: u32,
}

/// One connection and the read it carries.
pub(super) struct Conn {
    gen: u32,
    meter: u32,
    from: Timestamp,
    to: Timestamp,
    client: Option<ClientSession>,
    server: Option<crate::session::ServerSession>,
    /// The meter counted the connection against its associations.
    accepted: bool,
    /// The head-end has its answer.
    answered: bool,
    timer_at: Option<Timestamp>,
    /// The last arrival each way (to the meter, to the head-end): TCP keeps order.
    last_arrival: [Timestamp; 2],
}

impl<A: OperatorAdapter> Simulation<A> {
    fn open_conn(&mut self, meter: u32, from: Timestamp, to: Timestamp) -> ConnRef {
        self.next_gen = self.next_gen.wrapping_add(1);
        let conn = Conn {
            gen: self.next_gen,
            meter,
            from,
            to,
            client: None,
            server: None,
            accepted: false,
            answered: false,
            timer_at: None,
            last_arrival: [self.now; 2],
        };
        let slot = match self.free_conns.pop() {
            Some(slot) => {
                self.conns[slot as usize] = Some(conn);
                slot
            }
            None => {
                self.conns.push(Some(conn));
                (self.conns.len() - 1) as u32
            }
        };
        ConnRef {
            slot,
            gen: self.next_gen,
        }
    }

    /// Takes a live connection out of its slot (put it back with `put`).
    fn take(&mut self, c: ConnRef) -> Option<Conn> {
        let slot = self.conns.get_mut(c.slot as usize)?;
        if slot.as_ref().is_some_and(|conn| conn.gen == c.gen) {
            slot.take()
        } else {
            None
        }
    }

    fn put(&mut self, c: ConnRef, conn: Conn) {
        self.conns[c.slot as usize] = Some(conn);
    }

    /// Connects to a direct meter: the SYN must get through the operator's network.
    pub(super) fn connect(&mut self, meter: u32, from: Timestamp, to: Timestamp) {
        let c = self.open_conn(meter, from, to);
        let link = self.link(meter);
        let now = self.now;
        let routed = self.carries(meter, 60);
        let handshake = link.handshake(&mut self.rng);
        let m = &self.plan.fleet.meters[meter as usize];
        let profile = self.plan.fleet.profile(m);
        let accepted = match (routed, handshake) {
            (true, Some(_)) => self.meters[meter as usize].device.accept(profile),
            _ => Err(Refusal::Unreachable(
                self.meters[meter as usize].device.modem(),
            )),
        };
        match (accepted, handshake) {
            (Ok(()), Some(rtt)) => {
                if let Some(conn) = self.conns[c.slot as usize].as_mut() {
                    conn.accepted = true;
                }
                self.queue.push(now + rtt, Event::Connected(c));
                if let Some(after) = link.reset_after(&mut self.rng) {
                    self.queue.push(now + rtt + after, Event::ConnReset(c));
                }
            }
            (Err(Refusal::TooManyAssociations), Some(rtt)) => {
                self.queue.push(now + rtt, Event::ConnectFailed(c));
            }
            _ => self
                .queue
                .push(now + CONNECT_TIMEOUT, Event::ConnectFailed(c)),
        }
    }

    /// Whether the operator's network carries `octets` of the meter's traffic now.
    fn carries(&mut self, meter: u32, octets: u64) -> bool {
        let now = self.now;
        let m = &self.meters[meter as usize];
        if m.device.modem() != crate::meter::device::Modem::Online {
            return false;
        }
        let mut net = self.net.lock().unwrap_or_else(|e| e.into_inner());
        net.handle_traffic(&m.iccid, octets, now).is_ok()
    }

    /// TCP is up: the head-end associates.
    pub(super) fn connected(&mut self, c: ConnRef) {
        let Some(mut conn) = self.take(c) else {
            return;
        };
        let config = self.client_config(conn.meter);
        let mut client = ClientSession::new(config).expect("a complete client config");
        let _ = client.associate(self.instant(self.now));
        conn.client = Some(client);
        self.pump(c, conn);
    }

    /// The meter calls the head-end after a wake-up and pushes its name first.
    pub(super) fn call_headend(&mut self, meter: u32, push: Vec<u8>) {
        let (from, to) = match self.meters[meter as usize].wake {
            Some(job) => (job.from, job.to),
            None => (self.now, self.now),
        };
        let c = self.open_conn(meter, from, to);
        let push_sap = match &self
            .plan
            .fleet
            .profile(&self.plan.fleet.meters[meter as usize])
            .wakeup
        {
            Wakeup::UsuallyDisconnected {
                push_client_sap, ..
            } => *push_client_sap,
            Wakeup::AlwaysListening => MANAGEMENT_CLIENT,
        };
        let link = self.link(meter);
        let Some(rtt) = link.handshake(&mut self.rng) else {
            return self.discard(c);
        };
        let m = &self.plan.fleet.meters[meter as usize];
        let profile = self.plan.fleet.profile(m);
        if self.meters[meter as usize].device.accept(profile).is_err() {
            return self.discard(c);
        }
        if let Some(conn) = self.conns[c.slot as usize].as_mut() {
            conn.accepted = true;
            conn.last_arrival[1] = self.now + rtt;
        }
        let frame = WrapperFrame::new(SERVER_SAP, push_sap, push).to_bytes();
        self.send(c, false, frame);
    }

    /// Drops a connection that never carried anything.
    fn discard(&mut self, c: ConnRef) {
        if let Some(mut conn) = self.take(c) {
            self.release_meter(&mut conn);
            self.free_conns.push(c.slot);
        }
    }

    /// Sends wrapper-framed bytes one way (`to_meter`, or to the head-end).
    fn send(&mut self, c: ConnRef, to_meter: bool, bytes: Vec<u8>) {
        let Some(meter) = self.conns[c.slot as usize].as_ref().map(|conn| conn.meter) else {
            return;
        };
        self.stats.frames += 1;
        self.stats.frame_bytes += bytes.len() as u64;
        let link = self.link(meter);
        let carried = self.carries(meter, bytes.len() as u64);
        let Some(delay) = link.transit(&mut self.rng).filter(|_| carried) else {
            self.stats.frames_dropped += 1;
            return;
        };
        let Some(conn) = self.conns[c.slot as usize].as_mut() else {
            return;
        };
        let way = usize::from(!to_meter);
        let at = (self.now + delay).max(conn.last_arrival[way] + Duration::from_millis(1));
        conn.last_arrival[way] = at;
        let event = if to_meter {
            Event::ToMeter(c, bytes)
        } else {
            Event::ToHeadend(c, bytes)
        };
        self.queue.push(at, event);
    }

    /// A frame reaches the meter: its server session answers, unless it is hung or off.
    pub(super) fn at_meter(&mut self, c: ConnRef, bytes: Vec<u8>) {
        let Some(mut conn) = self.take(c) else {
            return;
        };
        let m = conn.meter as usize;
        let alive = !self.meters[m].hung
            && self.meters[m].device.modem() != crate::meter::device::Modem::PoweredOff;
        let frame = WrapperFrame::from_bytes(&bytes).ok();
        let (Some(frame), true) = (frame, alive) else {
            return self.put(c, conn);
        };
        let now = self.instant(self.now);
        if conn.server.as_ref().is_none_or(|s| s.is_closed()) {
            let mut challenge = vec![0; 16];
            self.rng.fill_bytes(&mut challenge);
            conn.server = Some(self.open_server(conn.meter, frame.source, challenge, now));
        }
        let server = conn.server.as_mut().expect("opened above");
        let unix = (self.now.as_millis() / 1000) as i64;
        let device = &mut self.meters[m].device;
        device.app.set_now(unix);
        server.handle_apdu(now, &frame.apdu, &mut device.app);
        let mut out = Vec::new();
        while let Some(apdu) = server.poll_transmit() {
            out.push(frame.reply(apdu).to_bytes());
        }
        while server.poll_event().is_some() {}
        self.put(c, conn);
        for bytes in out {
            self.send(c, false, bytes);
        }
    }

    /// The meter's session for a client, with the keys the meter holds now.
    fn open_server(
        &self,
        meter: u32,
        client_sap: u16,
        challenge: Vec<u8>,
        now: std::time::Instant,
    ) -> crate::session::ServerSession {
        let fm = &self.plan.fleet.meters[meter as usize];
        let sim: &SimMeter = &self.meters[meter as usize];
        // The session needs only the title and the keys: derived once, when the world was built.
        let mut identity = MeterIdentity {
            index: meter,
            serial: fm.serial,
            logical_device_name: Vec::new(),
            system_title: sim.title,
            keys: sim.keys.clone(),
            sim: Sim {
                iccid: String::new(),
                imsi: String::new(),
                msisdn: String::new(),
            },
            cell: String::new(),
        };
        let profile = if sim.keys_mismatch {
            identity.keys.ek.iter_mut().for_each(|b| *b ^= 0x5A);
            identity.keys.ak.iter_mut().for_each(|b| *b ^= 0xA5);
            &self.mismatched[fm.profile as usize]
        } else {
            self.plan.fleet.profile(fm)
        };
        sim.device
            .open_session(profile, &identity, client_sap, challenge, now)
    }

    /// A frame reaches the head-end: a woken meter's push, or an answer for its session.
    pub(super) fn at_headend(&mut self, c: ConnRef, bytes: Vec<u8>) {
        let Some(mut conn) = self.take(c) else {
            return;
        };
        let Ok(frame) = WrapperFrame::from_bytes(&bytes) else {
            return self.put(c, conn);
        };
        match conn.client.as_mut() {
            Some(client) => {
                client.handle_apdu(self.instant(self.now), &frame.apdu);
                self.pump(c, conn);
            }
            None => self.identify(c, conn, &frame.apdu),
        }
    }

    /// Identifies a calling meter by the logical device name it pushed, and reads it.
    fn identify(&mut self, c: ConnRef, mut conn: Conn, apdu: &[u8]) {
        let name = DataNotification::from_bytes(apdu)
            .ok()
            .and_then(|n| match n.body {
                Data::Structure(items) => match items.first() {
                    Some(Data::OctetString(name)) => Some(name.clone()),
                    _ => None,
                },
                _ => None,
            });
        let expected = self.meters[conn.meter as usize]
            .device
            .app
            .logical_device_name();
        let job = match name {
            Some(name) if name == expected => self.meters[conn.meter as usize].wake.take(),
            _ => None,
        };
        let Some(job) = job else {
            // Nobody is waiting for this meter (the wake-up timed out): hang up.
            conn.answered = true;
            return self.close(c, conn, None);
        };
        conn.from = job.from;
        conn.to = job.to;
        self.connected_with(c, conn);
    }

    fn connected_with(&mut self, c: ConnRef, conn: Conn) {
        self.put(c, conn);
        self.connected(c);
    }

    /// Sends what the client has to send and acts on its events.
    fn pump(&mut self, c: ConnRef, mut conn: Conn) {
        let now = self.instant(self.now);
        let mut out = Vec::new();
        let mut done: Option<Option<ReadFailure>> = None;
        let mut rows = None;
        {
            let client = conn
                .client
                .as_mut()
                .expect("pumped connections have a client");
            loop {
                let mut progressed = false;
                while let Some(apdu) = client.poll_transmit() {
                    out.push(WrapperFrame::new(MANAGEMENT_CLIENT, SERVER_SAP, apdu).to_bytes());
                    progressed = true;
                }
                while let Some(event) = client.poll_event() {
                    progressed = true;
                    match event {
                        ClientEvent::Associated(_) => {
                            let m = &self.plan.fleet.meters[conn.meter as usize];
                            let p = self.plan.fleet.profile(m);
                            let access = profile_read::range(
                                conn.from,
                                conn.to,
                                p.utc_offset_minutes,
                                p.deviation,
                            );
                            if let Err(e) = client.get(now, profile_read::buffer(), Some(access)) {
                                done = Some(Some(ReadFailure::Invalid(e.to_string())));
                            }
                        }
                        ClientEvent::Response { response, .. } => {
                            let m = &self.plan.fleet.meters[conn.meter as usize];
                            let convention = self.plan.fleet.profile(m).deviation;
                            rows = Some(match response {
                                Response::Get(GetDataResult::Data(buffer)) => {
                                    profile_read::rows(&buffer, convention)
                                }
                                other => Err(format!("the meter answered {other:?}")),
                            });
                            let _ = client.release(now);
                        }
                        ClientEvent::Released => done = Some(None),
                        ClientEvent::Failed(e) => done = Some(Some(session_failure(&e))),
                        _ => {}
                    }
                }
                if !progressed {
                    break;
                }
            }
        }
        if let Some(rows) = rows {
            conn.answered = true;
            let outcome = match rows {
                Ok(rows) => ReadOutcome::Read(rows),
                Err(why) => ReadOutcome::Failed(ReadFailure::Invalid(why)),
            };
            self.answer_read(conn.meter, outcome);
        }
        self.put(c, conn);
        for bytes in out {
            self.send(c, true, bytes);
        }
        let Some(mut conn) = self.take(c) else {
            return;
        };
        if let Some(failure) = done {
            return self.close(c, conn, failure);
        }
        self.arm(c, &mut conn);
        self.put(c, conn);
    }

    /// Schedules the client's next deadline if it is earlier than the one armed.
    fn arm(&mut self, c: ConnRef, conn: &mut Conn) {
        let Some(deadline) = conn.client.as_ref().and_then(|cl| cl.poll_timeout()) else {
            return;
        };
        let at = self.timestamp(deadline);
        if conn
            .timer_at
            .is_none_or(|armed| at < armed || armed <= self.now)
        {
            conn.timer_at = Some(at);
            self.queue.push(at, Event::ClientTimer(c));
        }
    }

    pub(super) fn client_timer(&mut self, c: ConnRef) {
        let Some(mut conn) = self.take(c) else {
            return;
        };
        conn.timer_at = None;
        let now = self.instant(self.now);
        match conn.client.as_mut() {
            Some(client) if client.poll_timeout().is_some_and(|d| d <= now) => {
                client.handle_timeout(now);
                self.pump(c, conn);
            }
            Some(_) => {
                self.arm(c, &mut conn);
                self.put(c, conn);
            }
            None => self.put(c, conn),
        }
    }

    /// Ends a connection that failed before it was done.
    pub(super) fn fail_conn(&mut self, c: ConnRef, why: ReadFailure) {
        if let Some(conn) = self.take(c) {
            self.close(c, conn, Some(why));
        }
    }

    /// Closes a connection; the head-end gets its answer if it had none yet.
    fn close(&mut self, c: ConnRef, mut conn: Conn, failure: Option<ReadFailure>) {
        self.release_meter(&mut conn);
        if let Some(next) = conn
            .client
            .as_ref()
            .and_then(|cl| cl.next_invocation_counter())
        {
            let m = &mut self.meters[conn.meter as usize];
            m.client_ic = m.client_ic.max(next);
        }
        self.free_conns.push(c.slot);
        if !conn.answered {
            let why = failure.unwrap_or(ReadFailure::Silent);
            self.answer_read(conn.meter, ReadOutcome::Failed(why));
        }
    }

    /// The meter forgets the connection and keeps its sessions' invocation counters.
    fn release_meter(&mut self, conn: &mut Conn) {
        if std::mem::take(&mut conn.accepted) {
            let device = &mut self.meters[conn.meter as usize].device;
            device.release(conn.server.take());
        }
    }

    /// The head-end's association policy for meter `m`: its profile's management client.
    fn client_config(&mut self, meter: u32) -> ClientConfig {
        let fm = &self.plan.fleet.meters[meter as usize];
        let profile = self.plan.fleet.profile(fm);
        let authentication = management_authentication(&profile.security.management);
        let needs_keys = profile.security.ciphered || authentication == Authentication::HighGmac;
        let security = needs_keys.then(|| SecuritySetup {
            system_title: HEADEND_TITLE,
            keys: self.meters[meter as usize].keys.clone(),
            invocation_counter: self.meters[meter as usize].client_ic,
        });
        let mut challenge = Vec::new();
        if authentication == Authentication::HighGmac {
            challenge = vec![0; 16];
            self.rng.fill_bytes(&mut challenge);
        }
        ClientConfig {
            authentication,
            security,
            ciphered: profile.security.ciphered,
            response_timeout: RESPONSE_TIMEOUT,
            challenge,
            ..ClientConfig::default()
        }
    }
}
