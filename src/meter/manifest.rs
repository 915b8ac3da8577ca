//! The fleet manifest: one JSON document listing every simulated meter with what a head-end or a
//! third-party tool needs to reach it (address, SAPs, authentication, keys) and its SIM and cell.

use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::device::{MANAGEMENT_CLIENT, PUBLIC_CLIENT};
use super::identity::MeterIdentity;
use super::profile::{Management, Profile, Wakeup};
use crate::dlms::codec::hex;

/// How meters get their addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// One loopback address per meter counting up from `base`, all on `port`.
    Addresses { base: Ipv4Addr, port: u16 },
    /// One address, one port per meter counting up from `base_port`.
    Ports { ip: Ipv4Addr, base_port: u16 },
}

impl Addressing {
    /// The address of meter `index`, if the range has room for it on loopback.
    pub fn address(&self, index: u32) -> Option<SocketAddr> {
        match *self {
            Addressing::Addresses { base, port } => {
                let ip = u32::from(base).checked_add(index)?;
                let ip = Ipv4Addr::from(ip);
                (ip.is_loopback() && ip != Ipv4Addr::new(127, 255, 255, 255))
                    .then(|| SocketAddr::from((ip, port)))
            }
            Addressing::Ports { ip, base_port } => {
                let port = u16::try_from(base_port as u32 + index).ok()?;
                Some(SocketAddr::from((ip, port)))
            }
        }
    }

    /// The meter index behind a local address, the inverse of [`address`](Self::address).
    pub fn index_of(&self, addr: SocketAddr) -> Option<u32> {
        let SocketAddr::V4(v4) = addr else {
            return None;
        };
        match *self {
            Addressing::Addresses { base, port } if v4.port() == port => {
                u32::from(*v4.ip()).checked_sub(u32::from(base))
            }
            Addressing::Ports { ip, base_port } if *v4.ip() == ip => {
                (v4.port() as u32).checked_sub(base_port as u32)
            }
            _ => None,
        }
    }
}

/// The whole fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetManifest {
    pub profile: String,
    pub seed: u64,
    pub cells: u32,
    pub meters: Vec<ManifestMeter>,
}

/// One meter in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestMeter {
    pub id: String,
    pub serial: u64,
    /// Where it listens (`host:port`), or where it would if it were always listening.
    pub address: String,
    pub server_sap: u16,
    pub public_client_sap: u16,
    pub management_client_sap: u16,
    /// Management authentication: `none`, `lls` or `hls-gmac`.
    pub authentication: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub ciphered: bool,
    pub system_title: String,
    pub ek: String,
    pub ak: String,
    pub logical_device_name: String,
    /// `always-listening` or `usually-disconnected`.
    pub wakeup: String,
    /// The same for the operator: `always-on` or `on-demand` (woken by SMS).
    #[serde(rename = "dataMode")]
    pub data_mode: String,
    pub iccid: String,
    pub imsi: String,
    pub msisdn: String,
    pub cell: String,
    /// The fleet process's control port for this meter's modem (`http://host:port`), if it runs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
}

impl ManifestMeter {
    pub fn new(identity: &MeterIdentity, profile: &Profile, address: SocketAddr) -> Self {
        let (authentication, password) = match &profile.security.management {
            Management::None => ("none", None),
            Management::Lls { password } => ("lls", Some(password.clone())),
            Management::HlsGmac => ("hls-gmac", None),
        };
        ManifestMeter {
            id: meter_id(identity.index),
            serial: identity.serial,
            address: address.to_string(),
            server_sap: 1,
            public_client_sap: PUBLIC_CLIENT,
            management_client_sap: MANAGEMENT_CLIENT,
            authentication: authentication.into(),
            password,
            ciphered: profile.security.ciphered,
            system_title: hex::encode(&identity.system_title.0),
            ek: hex::encode(&identity.keys.ek),
            ak: hex::encode(&identity.keys.ak),
            logical_device_name: String::from_utf8_lossy(&identity.logical_device_name)
                .into_owned(),
            wakeup: match profile.wakeup {
                Wakeup::AlwaysListening => "always-listening".into(),
                Wakeup::UsuallyDisconnected { .. } => "usually-disconnected".into(),
            },
            data_mode: match profile.wakeup {
                Wakeup::AlwaysListening => "always-on".into(),
                Wakeup::UsuallyDisconnected { .. } => "on-demand".into(),
            },
            iccid: identity.sim.iccid.clone(),
            imsi: identity.sim.imsi.clone(),
            msisdn: identity.sim.msisdn.clone(),
            cell: identity.cell.clone(),
            control: None,
        }
    }
}

/// A meter's id in manifests and APIs.
pub fn meter_id(index: u32) -> String {
    format!("m{:06}", index + 1)
}

/// The index behind a meter id.
pub fn meter_index(id: &str) -> Option<u32> {
    id.strip_prefix('m')?.parse::<u32>().ok()?.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_up_on_loopback_and_map_back() {
        let a = Addressing::Addresses {
            base: Ipv4Addr::new(127, 1, 0, 1),
            port: 4059,
        };
        assert_eq!(a.address(0).unwrap().to_string(), "127.1.0.1:4059");
        assert_eq!(a.address(300).unwrap().to_string(), "127.1.1.45:4059");
        assert_eq!(a.index_of(a.address(99_999).unwrap()), Some(99_999));
        assert_eq!(a.index_of("127.1.0.1:4060".parse().unwrap()), None);
        let near_end = Addressing::Addresses {
            base: Ipv4Addr::new(127, 255, 255, 250),
            port: 1,
        };
        assert!(near_end.address(4).is_some());
        assert!(
            near_end.address(5).is_none(),
            "127.255.255.255 is the broadcast address"
        );
        assert!(near_end.address(6).is_none(), "128.0.0.0 is not loopback");
    }

    #[test]
    fn ports_count_up_and_stop_at_the_last_port() {
        let p = Addressing::Ports {
            ip: Ipv4Addr::LOCALHOST,
            base_port: 65_530,
        };
        assert_eq!(p.address(5).unwrap().port(), 65_535);
        assert!(p.address(6).is_none());
        assert_eq!(p.index_of("127.0.0.1:65532".parse().unwrap()), Some(2));
    }

    #[test]
    fn ids_round_trip() {
        assert_eq!(meter_id(0), "m000001");
        assert_eq!(meter_index("m000001"), Some(0));
        assert_eq!(meter_index("x1"), None);
        assert_eq!(meter_index("m000000"), None);
    }
}
