//! One simulated meter device: its application, its modem as the operator sees it, the
//! invocation counters it keeps across associations, and what it does when woken up. Pure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cosem::{MeterApplication, MeterSettings};
use crate::dlms::acse::Conformance;
use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::xdlms::{DataNotification, LongInvokeIdAndPriority};
use crate::session::{Authentication, ClientPolicy, SecuritySetup, ServerConfig, ServerSession};

use super::identity::MeterIdentity;
use super::profile::{Management, Profile, Wakeup};

/// The wPort of the public client.
pub const PUBLIC_CLIENT: u16 = 16;
/// The wPort of the management client.
pub const MANAGEMENT_CLIENT: u16 = 1;

/// The modem's state as the network sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Modem {
    /// Attached with a data session: reachable.
    Online,
    /// Attached without a data session: an SMS reaches it, a connection does not.
    NoDataSession,
    /// Off the network (cell outage, cancelled location) but powered: it keeps capturing.
    Detached,
    /// No power: nothing reaches it and it captures nothing.
    PoweredOff,
}

/// Why a connection to the meter is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unreachable(Modem),
    TooManyAssociations,
}

/// What the driver must do after a wake-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WakeAction {
    /// Connect to the head-end and send `push` first (over TCP, or as a UDP datagram first).
    CallHeadEnd {
        headend: String,
        udp: bool,
        push_client_sap: u16,
        push: Vec<u8>,
        stay_connected: Duration,
    },
}

/// A meter's mutable state in a fleet.
#[derive(Debug, Clone)]
pub struct MeterDevice {
    pub index: u32,
    pub app: MeterApplication,
    modem: Modem,
    powered_off_at: Option<i64>,
    own_invocation_counter: u32,
    client_invocation_counter: Option<u32>,
    associations: usize,
    pushes: u32,
}

impl MeterDevice {
    pub fn new(index: u32, serial: u64, settings: Arc<MeterSettings>) -> Self {
        MeterDevice {
            index,
            app: MeterApplication::new(settings, serial),
            modem: Modem::Online,
            powered_off_at: None,
            own_invocation_counter: 1,
            client_invocation_counter: None,
            associations: 0,
            pushes: 0,
        }
    }

    pub fn modem(&self) -> Modem {
        self.modem
    }

    /// The operator changed the modem's state (at Unix time `now`).
    pub fn set_modem(&mut self, modem: Modem, now: i64) {
        match (self.modem, modem) {
            // Without power the modem is detached too; only power coming back changes that.
            (Modem::PoweredOff, Modem::PoweredOff | Modem::Detached) => return,
            (_, Modem::PoweredOff) => self.powered_off_at = Some(now),
            (Modem::PoweredOff, _) => {
                if let Some(from) = self.powered_off_at.take() {
                    self.app.set_now(now);
                    self.app.record_power_down(from, now);
                }
            }
            _ => {}
        }
        self.modem = modem;
    }

    /// Power comes back (at Unix time `now`): the meter captures again, its modem still off the
    /// network until the operator says otherwise. `set_modem(Detached)` cannot say this: the
    /// operator reports a meter without power as detached too.
    pub fn restore_power(&mut self, now: i64) {
        if self.modem == Modem::PoweredOff {
            self.set_modem(Modem::Online, now);
            self.modem = Modem::Detached;
        }
    }

    /// Takes a new connection, or says why not.
    pub fn accept(&mut self, profile: &Profile) -> Result<(), Refusal> {
        if self.modem != Modem::Online {
            return Err(Refusal::Unreachable(self.modem));
        }
        if self.associations >= profile.max_associations {
            return Err(Refusal::TooManyAssociations);
        }
        self.associations += 1;
        Ok(())
    }

    /// A connection ended; its sessions' counters are kept for the next association.
    pub fn release(&mut self, sessions: impl IntoIterator<Item = ServerSession>) {
        self.associations = self.associations.saturating_sub(1);
        for session in sessions {
            if let Some(next) = session.next_invocation_counter() {
                self.own_invocation_counter = self.own_invocation_counter.max(next);
            }
            if let Some(last) = session.peer_invocation_counter() {
                self.client_invocation_counter =
                    Some(self.client_invocation_counter.map_or(last, |c| c.max(last)));
                self.app
                    .set_expected_invocation_counter(last.saturating_add(1));
            }
        }
    }

    /// A session for `client_sap` with this meter's keys and remembered counters.
    pub fn open_session(
        &self,
        profile: &Profile,
        identity: &MeterIdentity,
        client_sap: u16,
        challenge: Vec<u8>,
        now: Instant,
    ) -> ServerSession {
        let config = Arc::new(server_config(
            profile,
            identity,
            self.own_invocation_counter,
        ));
        let mut session = ServerSession::new(config, client_sap, challenge, now);
        if let Some(last) = self.client_invocation_counter {
            session.restore_peer_invocation_counter(last);
        }
        session
    }

    /// An SMS reached the modem: a usually-disconnected meter calls its head-end.
    pub fn wake_up(&mut self, profile: &Profile, now: i64) -> Option<WakeAction> {
        let Wakeup::UsuallyDisconnected {
            headend,
            push,
            push_client_sap,
            stay_connected,
        } = &profile.wakeup
        else {
            return None;
        };
        if matches!(self.modem, Modem::PoweredOff | Modem::Detached) {
            return None;
        }
        // Woken by SMS, the modem opens its own data session before calling.
        self.modem = Modem::Online;
        Some(WakeAction::CallHeadEnd {
            headend: headend.clone(),
            udp: *push == super::profile::PushTransport::Udp,
            push_client_sap: *push_client_sap,
            push: self.push_notification(now),
            stay_connected: *stay_connected,
        })
    }

    /// The Data-Notification announcing the meter: its logical device name (the push object list).
    pub fn push_notification(&mut self, now: i64) -> Vec<u8> {
        self.pushes = self.pushes.wrapping_add(1);
        self.app.set_now(now);
        DataNotification {
            invoke: LongInvokeIdAndPriority::new(self.pushes, false, false),
            date_time: None,
            body: Data::Structure(vec![Data::OctetString(self.app.logical_device_name())]),
        }
        .to_bytes()
    }
}

/// How a management association of a profile's meters authenticates.
pub fn management_authentication(management: &Management) -> Authentication {
    match management {
        Management::None => Authentication::None,
        Management::Lls { password } => Authentication::Low {
            password: password.as_bytes().to_vec(),
        },
        Management::HlsGmac => Authentication::HighGmac,
    }
}

/// The association policy of one meter of `profile`.
pub fn server_config(
    profile: &Profile,
    identity: &MeterIdentity,
    invocation_counter: u32,
) -> ServerConfig {
    let management = management_authentication(&profile.security.management);
    ServerConfig {
        conformance: Conformance::GET
            | Conformance::SET
            | Conformance::ACTION
            | Conformance::SELECTIVE_ACCESS
            | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
            | Conformance::MULTIPLE_REFERENCES
            | Conformance::DATA_NOTIFICATION,
        max_receive_pdu: profile.max_pdu,
        security: Some(SecuritySetup {
            system_title: identity.system_title,
            keys: identity.keys.clone(),
            invocation_counter,
        }),
        clients: vec![
            ClientPolicy {
                sap: PUBLIC_CLIENT,
                authentication: Authentication::None,
                ciphered: false,
            },
            ClientPolicy {
                sap: MANAGEMENT_CLIENT,
                authentication: management,
                ciphered: profile.security.ciphered,
            },
        ],
        inactivity_timeout: profile.idle_timeout,
    }
}

/// The settings every meter of `profile` shares.
pub fn meter_settings(profile: &Profile, fleet_seed: u64) -> MeterSettings {
    let (push_destination, push_transport) = match &profile.wakeup {
        Wakeup::UsuallyDisconnected { headend, push, .. } => (
            headend.clone(),
            (*push == super::profile::PushTransport::Udp) as u8,
        ),
        Wakeup::AlwaysListening => (String::new(), 0),
    };
    MeterSettings {
        fleet_seed,
        utc_offset_minutes: profile.utc_offset_minutes,
        convention: profile.deviation,
        retention: profile.retention_entries,
        capture_period: i64::from(profile.capture_period_s),
        clock_drift_ppm: profile.clock_drift_ppm,
        manufacturer: profile.manufacturer,
        auto_connect_mode: if push_destination.is_empty() { 1 } else { 104 },
        push_destination,
        push_transport,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::profile::shipped;

    fn device(profile: &Profile) -> MeterDevice {
        MeterDevice::new(0, 1, Arc::new(meter_settings(profile, 1)))
    }

    #[test]
    fn a_meter_without_data_session_refuses_connections() {
        let profile = shipped("basic").unwrap();
        let mut d = device(&profile);
        d.set_modem(Modem::NoDataSession, 0);
        assert_eq!(
            d.accept(&profile),
            Err(Refusal::Unreachable(Modem::NoDataSession))
        );
        d.set_modem(Modem::Online, 0);
        assert_eq!(d.accept(&profile), Ok(()));
    }

    #[test]
    fn limits_concurrent_associations() {
        let profile = shipped("basic").unwrap();
        let mut d = device(&profile);
        for _ in 0..profile.max_associations {
            d.accept(&profile).unwrap();
        }
        assert_eq!(d.accept(&profile), Err(Refusal::TooManyAssociations));
        d.release([]);
        assert_eq!(d.accept(&profile), Ok(()));
    }

    #[test]
    fn a_power_loss_leaves_a_gap_in_the_profile() {
        let profile = shipped("basic").unwrap();
        let mut d = device(&profile);
        d.set_modem(Modem::PoweredOff, 1_795_650_000);
        d.set_modem(Modem::Online, 1_795_660_000);
        d.app.set_now(1_795_670_000);
        let entries = {
            use crate::session::{AccessContext, CosemServer};
            let ctx = AccessContext {
                client_sap: 16,
                mechanism: crate::dlms::acse::Mechanism::Lowest,
            };
            let a = crate::dlms::xdlms::AttributeDescriptor::new(
                7,
                crate::dlms::obis::Obis::LOAD_PROFILE_1,
                7,
            );
            d.app.get(&ctx, &a, None).unwrap()
        };
        assert_eq!(entries, Data::DoubleLongUnsigned(960 - 11));
    }

    #[test]
    fn power_back_ends_the_gap_before_the_modem_is_back() {
        let profile = shipped("basic").unwrap();
        let mut d = device(&profile);
        d.set_modem(Modem::PoweredOff, 1_795_650_000);
        d.set_modem(Modem::Detached, 1_795_650_900);
        assert_eq!(
            d.modem(),
            Modem::PoweredOff,
            "the operator's detached is no power"
        );
        d.restore_power(1_795_651_800);
        assert_eq!(d.modem(), Modem::Detached);
        d.set_modem(Modem::Online, 1_795_660_000);
        d.app.set_now(1_795_670_000);
        let ctx = crate::session::AccessContext {
            client_sap: 16,
            mechanism: crate::dlms::acse::Mechanism::Lowest,
        };
        let a = crate::dlms::xdlms::AttributeDescriptor::new(
            7,
            crate::dlms::obis::Obis::LOAD_PROFILE_1,
            7,
        );
        use crate::session::CosemServer;
        assert_eq!(
            d.app.get(&ctx, &a, None).unwrap(),
            Data::DoubleLongUnsigned(960 - 2),
            "only the two captures while unpowered are missing"
        );
    }

    #[test]
    fn only_usually_disconnected_meters_call_back() {
        let basic = shipped("basic").unwrap();
        assert_eq!(device(&basic).wake_up(&basic, 0), None);
        let wakeup = shipped("wakeup").unwrap();
        let mut d = device(&wakeup);
        let Some(WakeAction::CallHeadEnd { headend, push, .. }) = d.wake_up(&wakeup, 0) else {
            panic!()
        };
        assert_eq!(headend, "127.0.0.1:4060");
        let n = DataNotification::from_bytes(&push).unwrap();
        assert_eq!(
            n.body,
            Data::Structure(vec![Data::OctetString(b"RNM0000000000001".to_vec())])
        );
        d.set_modem(Modem::PoweredOff, 0);
        assert_eq!(d.wake_up(&wakeup, 0), None);
        d.set_modem(Modem::Detached, 1);
        assert_eq!(
            d.modem(),
            Modem::PoweredOff,
            "detached does not bring power back"
        );
        d.set_modem(Modem::NoDataSession, 2);
        assert!(
            d.wake_up(&wakeup, 2).is_some(),
            "an SMS reaches a registered modem"
        );
    }
}
