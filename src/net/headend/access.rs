//! How the head-end reaches and authenticates to each meter, from the fleet manifest.

use std::collections::HashMap;
use std::time::Duration;

use crate::dlms::datetime::DeviationConvention;
use crate::dlms::security::{Keys, SystemTitle};
use crate::headend::fleet::{MeterRef, ReadMode};
use crate::meter::manifest::FleetManifest;
use crate::meter::profile::Profile;
use crate::session::{Authentication, ClientConfig, SecuritySetup};

/// The head-end's own system title (HLS and ciphering need one; meters do not check it).
pub const HEADEND_SYSTEM_TITLE: [u8; 8] = *b"RNMHE\x00\x00\x01";

/// What the head-end needs to read one meter.
#[derive(Debug, Clone)]
pub struct MeterAccess {
    pub address: String,
    pub client_sap: u16,
    pub server_sap: u16,
    pub authentication: Authentication,
    pub ciphered: bool,
    pub keys: Option<Keys>,
    pub max_pdu: u16,
    /// The meter's clock: minutes east of UTC and the deviation's sign convention.
    pub utc_offset_minutes: i16,
    pub convention: DeviationConvention,
    pub logical_device_name: Vec<u8>,
}

impl MeterAccess {
    /// A client configuration for one association, with the counter the meter expects next.
    pub fn client_config(&self, invocation_counter: u32, timeout: Duration) -> ClientConfig {
        ClientConfig {
            authentication: self.authentication.clone(),
            security: self.keys.clone().map(|keys| SecuritySetup {
                system_title: SystemTitle(HEADEND_SYSTEM_TITLE),
                keys,
                invocation_counter,
            }),
            ciphered: self.ciphered,
            max_receive_pdu: self.max_pdu,
            response_timeout: timeout,
            ..ClientConfig::default()
        }
    }
}

/// The fleet as the head-end knows it; the error names the meter and the field.
pub fn from_manifest(
    manifest: &FleetManifest,
    profile: &Profile,
) -> Result<(Vec<MeterRef>, Vec<MeterAccess>), String> {
    let mut refs = Vec::with_capacity(manifest.meters.len());
    let mut access = Vec::with_capacity(manifest.meters.len());
    for m in &manifest.meters {
        let field = |name: &str, e: &dyn std::fmt::Display| format!("meters[{}].{name}: {e}", m.id);
        let authentication = match m.authentication.as_str() {
            "none" => Authentication::None,
            "lls" => Authentication::Low {
                password: m.password.clone().unwrap_or_default().into_bytes(),
            },
            "hls-gmac" => Authentication::HighGmac,
            other => {
                return Err(field(
                    "authentication",
                    &format!("`{other}` is not none, lls or hls-gmac"),
                ))
            }
        };
        let keys = Keys::from_hex(&m.ek, &m.ak).map_err(|e| field("ek/ak", &e))?;
        let mode = match m.data_mode.as_str() {
            "on-demand" => ReadMode::WakeUp,
            _ => ReadMode::Direct,
        };
        refs.push(MeterRef {
            id: m.id.clone(),
            mode,
            iccid: m.iccid.clone(),
            msisdn: m.msisdn.clone(),
            cell: m.cell.clone(),
        });
        access.push(MeterAccess {
            address: m.address.clone(),
            client_sap: m.management_client_sap,
            server_sap: m.server_sap,
            ciphered: m.ciphered,
            keys: Some(keys),
            authentication,
            max_pdu: profile.max_pdu,
            utc_offset_minutes: profile.utc_offset_minutes,
            convention: profile.deviation,
            logical_device_name: m.logical_device_name.clone().into_bytes(),
        });
    }
    Ok((refs, access))
}

/// Meters by logical device name, to identify an inbound meter from its push.
pub fn by_name(access: &[MeterAccess]) -> HashMap<Vec<u8>, usize> {
    access
        .iter()
        .enumerate()
        .map(|(i, a)| (a.logical_device_name.clone(), i))
        .collect()
}
