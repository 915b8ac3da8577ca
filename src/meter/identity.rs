//! Who a simulated meter is: serial, names, keys and SIM identifiers, all derived from the fleet
//! seed and its index, so a manifest can be regenerated and any tool can find a meter's keys.

use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aes::Aes128;
use serde::{Deserialize, Serialize};

use crate::cosem::logical_device_name;
use crate::dlms::security::{Keys, SystemTitle};

/// One meter's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterIdentity {
    pub index: u32,
    pub serial: u64,
    pub logical_device_name: Vec<u8>,
    pub system_title: SystemTitle,
    pub keys: Keys,
    pub sim: Sim,
    pub cell: String,
}

/// A SIM's identifiers: ICCID (with its Luhn digit), IMSI on the test network 001-01, MSISDN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sim {
    pub iccid: String,
    pub imsi: String,
    pub msisdn: String,
}

impl MeterIdentity {
    /// The identity of meter `index` (0-based) in a fleet of `seed`, spread over `cells` cells.
    pub fn derive(
        seed: u64,
        index: u32,
        manufacturer: [u8; 3],
        fleet_secret: &[u8; 16],
        cells: u32,
    ) -> Self {
        let serial = seed % 1_000 * 10_000_000 + index as u64 + 1;
        let mut title = [0u8; 8];
        title[..3].copy_from_slice(&manufacturer);
        title[3..].copy_from_slice(&serial.to_be_bytes()[3..]);
        let keys = Keys {
            ek: derive_key(fleet_secret, b"EK", serial),
            ak: derive_key(fleet_secret, b"AK", serial),
        };
        MeterIdentity {
            index,
            serial,
            logical_device_name: logical_device_name(manufacturer, serial),
            system_title: SystemTitle(title),
            keys,
            sim: Sim {
                iccid: with_luhn(&format!("8999001{:012}", serial % 1_000_000_000_000)),
                imsi: format!("00101{:010}", serial % 10_000_000_000),
                msisdn: format!("+882{:012}", 100_000_000_000 + serial % 100_000_000_000),
            },
            cell: format!("cell-{:04}", index % cells.max(1) + 1),
        }
    }
}

/// AES-128 of `purpose || serial` under the fleet secret: a per-meter key nobody else shares.
fn derive_key(secret: &[u8; 16], purpose: &[u8; 2], serial: u64) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..2].copy_from_slice(purpose);
    block[8..].copy_from_slice(&serial.to_be_bytes());
    let mut block = block.into();
    Aes128::new(secret.into()).encrypt_block(&mut block);
    block.into()
}

/// Appends the Luhn check digit (ICCIDs carry one).
fn with_luhn(digits: &str) -> String {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 0 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 16] = *b"0123456789ABCDEF";

    #[test]
    fn identities_are_deterministic_and_distinct() {
        let a = MeterIdentity::derive(5, 0, *b"RNM", &SECRET, 10);
        assert_eq!(a, MeterIdentity::derive(5, 0, *b"RNM", &SECRET, 10));
        let b = MeterIdentity::derive(5, 1, *b"RNM", &SECRET, 10);
        assert_ne!(a.serial, b.serial);
        assert_ne!(a.keys, b.keys);
        assert_ne!(a.sim, b.sim);
        assert_eq!(a.logical_device_name.len(), 16);
        assert_eq!(&a.system_title.0[..3], b"RNM");
    }

    #[test]
    fn iccids_pass_the_luhn_check() {
        assert_eq!(with_luhn("7992739871"), "79927398713"); // the textbook example
        let id = MeterIdentity::derive(1, 41, *b"RNM", &SECRET, 10);
        assert_eq!(id.sim.iccid.len(), 20);
        assert_eq!(id.sim.imsi.len(), 15);
        assert!(id.sim.imsi.starts_with("00101"));
    }

    #[test]
    fn meters_are_spread_over_cells() {
        let cells: std::collections::BTreeSet<_> = (0..100)
            .map(|i| MeterIdentity::derive(1, i, *b"RNM", &SECRET, 7).cell)
            .collect();
        assert_eq!(cells.len(), 7);
    }
}
