//! The fleet manifest: the meters (and their SIMs and cells) that the operator serves.
//!
//! JSON, written by `reanimator meters` or by hand; either an object with `meters` (and optional
//! `cells`) or a bare list of meters. Unknown fields are ignored, so the meters side may add its
//! own (address, profile, keys) to the same file.
//!
//! ```json
//! {
//!   "cells": [{ "id": "cell-0001", "geohash": "u3buv8", "area": "north" }],
//!   "meters": [{
//!     "id": "meter-000001",
//!     "iccid": "8945000000000000001", "imsi": "238010000000001", "msisdn": "+4520000001",
//!     "cell": "cell-0001",
//!     "tenant": "utility", "apn": "meters.utility", "dataMode": "always-on",
//!     "radiusUser": "8945000000000000001", "radiusPassword": "pw-00000001"
//!   }]
//! }
//! ```
//!
//! Meter fields: `id`, `iccid` (19-20 digits, starting 89), `imsi` (14-15 digits), `msisdn`
//! (E.164 with `+`) and `cell` are required. Optional, with defaults: `tenant` (`utility`), `apn`
//! (`meters.<tenant>`), `dataMode` (`always-on`, or `on-demand` for meters woken by SMS),
//! `status` (`ACTIVATED`), `dataLimitBytes` (unlimited), `radiusUser` (the ICCID) and
//! `radiusPassword` (`pw-` and the ICCID's last 8 digits): the credentials the modem presents
//! and, with the embedded RADIUS check, the ones the utility's server expects.
//! A cell a meter names that is not in `cells` gets a geohash derived from its id.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::geohash::{self, Point};
use super::ids::{CellId, Iccid, Imsi, Msisdn, TenantId};
use super::sim::{DataMode, SimStatus};

/// One radio cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellEntry {
    pub id: CellId,
    /// The area the cell covers, as a geohash.
    pub geohash: String,
    #[serde(default)]
    pub area: Option<String>,
}

/// One meter and its SIM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterEntry {
    pub id: String,
    pub iccid: Iccid,
    pub imsi: Imsi,
    pub msisdn: Msisdn,
    pub cell: CellId,
    #[serde(default = "default_tenant")]
    pub tenant: TenantId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apn: Option<String>,
    #[serde(default)]
    pub data_mode: DataMode,
    #[serde(default = "default_status")]
    pub status: SimStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_limit_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_password: Option<String>,
    /// The meter fleet's control port (`http://host:port`), written by `reanimator meters
    /// --control`: the operator carries modem changes and wake-up SMSs there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
}

fn default_tenant() -> TenantId {
    TenantId::new("utility").expect("a valid tenant")
}

fn default_status() -> SimStatus {
    SimStatus::Activated
}

impl MeterEntry {
    pub fn apn(&self) -> String {
        self.apn
            .clone()
            .unwrap_or_else(|| format!("meters.{}", self.tenant))
    }

    pub fn radius_user(&self) -> String {
        self.radius_user
            .clone()
            .unwrap_or_else(|| self.iccid.to_string())
    }

    pub fn radius_password(&self) -> String {
        self.radius_password
            .clone()
            .unwrap_or_else(|| default_radius_password(&self.iccid))
    }
}

/// The RADIUS password of a SIM whose manifest entry sets none.
pub fn default_radius_password(iccid: &Iccid) -> String {
    let digits = iccid.as_str();
    format!("pw-{}", &digits[digits.len() - 8..])
}

/// The fleet the operator serves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetManifest {
    pub cells: Vec<CellEntry>,
    pub meters: Vec<MeterEntry>,
}

/// A manifest that cannot be used; the message names the entry and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

impl FleetManifest {
    /// Parses and checks a manifest.
    pub fn from_json(text: &str) -> Result<FleetManifest, ManifestError> {
        // Parse as a value first so errors in an entry name the entry (untagged enums do not).
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ManifestError(format!("not valid JSON: {e}")))?;
        let (cells, meters) = match &value {
            serde_json::Value::Array(m) => (&[][..], &m[..]),
            serde_json::Value::Object(o) => {
                let meters = o.get("meters").and_then(|m| m.as_array()).ok_or_else(|| {
                    ManifestError(
                        "`meters` is missing or not a list: add `\"meters\": [...]`".into(),
                    )
                })?;
                let cells = o
                    .get("cells")
                    .and_then(|c| c.as_array())
                    .map_or(&[][..], |c| &c[..]);
                (cells, &meters[..])
            }
            _ => {
                return Err(ManifestError(
                    "expected an object with `meters` or a list of meters".into(),
                ))
            }
        };
        let entry_error =
            |what: &str, i: usize, e: serde_json::Error| ManifestError(format!("{what}[{i}]: {e}"));
        let mut manifest = FleetManifest::default();
        for (i, c) in cells.iter().enumerate() {
            let entry: CellEntry =
                serde_json::from_value(c.clone()).map_err(|e| entry_error("cells", i, e))?;
            if !geohash::is_valid(&entry.geohash) {
                return Err(ManifestError(format!(
                    "cells[{i}].geohash: `{}` is not a geohash (1-12 of 0-9, b-h, j, k, m, n, p-z)",
                    entry.geohash
                )));
            }
            manifest.cells.push(entry);
        }
        for (i, m) in meters.iter().enumerate() {
            let entry: MeterEntry =
                serde_json::from_value(m.clone()).map_err(|e| entry_error("meters", i, e))?;
            manifest.meters.push(entry);
        }
        manifest.check()?;
        Ok(manifest)
    }

    /// Refuses duplicate identities.
    pub fn check(&self) -> Result<(), ManifestError> {
        let mut seen = HashSet::new();
        for (i, c) in self.cells.iter().enumerate() {
            if !seen.insert(c.id.as_str()) {
                return Err(ManifestError(format!(
                    "cells[{i}].id: `{}` appears twice",
                    c.id
                )));
            }
        }
        let (mut ids, mut iccids, mut imsis, mut msisdns) = (
            HashSet::new(),
            HashSet::new(),
            HashSet::new(),
            HashSet::new(),
        );
        for (i, m) in self.meters.iter().enumerate() {
            let dup = if !ids.insert(m.id.as_str()) {
                Some(("id", m.id.as_str()))
            } else if !iccids.insert(m.iccid.as_str()) {
                Some(("iccid", m.iccid.as_str()))
            } else if !imsis.insert(m.imsi.as_str()) {
                Some(("imsi", m.imsi.as_str()))
            } else if !msisdns.insert(m.msisdn.as_str()) {
                Some(("msisdn", m.msisdn.as_str()))
            } else {
                None
            };
            if let Some((field, value)) = dup {
                return Err(ManifestError(format!(
                    "meters[{i}].{field}: `{value}` is already used by an earlier meter; each SIM needs its own"
                )));
            }
        }
        Ok(())
    }

    /// The cells, including those only named by meters (with derived geohashes), in first-use order.
    pub fn all_cells(&self) -> Vec<CellEntry> {
        let mut out = self.cells.clone();
        let mut known: HashSet<CellId> = out.iter().map(|c| c.id.clone()).collect();
        for m in &self.meters {
            if known.insert(m.cell.clone()) {
                out.push(CellEntry {
                    id: m.cell.clone(),
                    geohash: derived_geohash(out.len()),
                    area: None,
                });
            }
        }
        out
    }

    /// A deterministic fleet: `cells` cells around Copenhagen with `per_cell` meters each, all of
    /// tenant `utility`, identities numbered from 1.
    pub fn generate(cells: usize, per_cell: usize) -> FleetManifest {
        let mut manifest = FleetManifest::default();
        for c in 0..cells {
            manifest.cells.push(CellEntry {
                id: CellId::new(format!("cell-{:04}", c + 1)).expect("valid"),
                geohash: derived_geohash(c),
                area: Some(format!("area-{:02}", c / 10 + 1)),
            });
        }
        for n in 1..=(cells * per_cell) as u64 {
            let cell = manifest.cells[((n - 1) as usize) / per_cell.max(1)]
                .id
                .clone();
            manifest.meters.push(MeterEntry {
                id: format!("meter-{n:06}"),
                iccid: Iccid::new(format!("89450{n:014}")).expect("valid"),
                imsi: Imsi::new(format!("23801{n:010}")).expect("valid"),
                msisdn: Msisdn::new(format!("+45{:08}", 20_000_000 + n)).expect("valid"),
                cell,
                tenant: default_tenant(),
                apn: None,
                data_mode: DataMode::AlwaysOn,
                status: SimStatus::Activated,
                data_limit_bytes: None,
                radius_user: None,
                radius_password: None,
                control: None,
            });
        }
        manifest
    }
}

/// Cell `i`'s coverage: a precision-6 geohash on a grid of 40 columns around Copenhagen.
fn derived_geohash(i: usize) -> String {
    let p = Point {
        latitude: 55.60 + (i / 40) as f64 * 0.006,
        longitude: 12.40 + (i % 40) as f64 * 0.012,
    };
    geohash::encode(p, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_forms_and_fills_defaults() {
        let meter = r#"{"id":"m1","iccid":"8945000000000000001","imsi":"238010000000001",
            "msisdn":"+4520000001","cell":"c1","somethingTheMetersAdd":42}"#;
        let list = FleetManifest::from_json(&format!("[{meter}]")).unwrap();
        let object = FleetManifest::from_json(&format!(r#"{{"meters":[{meter}]}}"#)).unwrap();
        assert_eq!(list, object);
        let m = &list.meters[0];
        assert_eq!(m.tenant.as_str(), "utility");
        assert_eq!(m.apn(), "meters.utility");
        assert_eq!(m.radius_user(), "8945000000000000001");
        assert_eq!(m.radius_password(), "pw-00000001");
        assert_eq!(list.all_cells().len(), 1);
    }

    #[test]
    fn rejects_bad_entries_naming_the_field() {
        let bad_iccid = r#"[{"id":"m1","iccid":"12","imsi":"238010000000001","msisdn":"+4520000001","cell":"c1"}]"#;
        let e = FleetManifest::from_json(bad_iccid).unwrap_err().0;
        assert!(e.contains("meters[0]") && e.contains("ICCID"), "{e}");
        let g = FleetManifest::generate(1, 2);
        let mut dup = g.clone();
        dup.meters[1].msisdn = dup.meters[0].msisdn.clone();
        let e = dup.check().unwrap_err().0;
        assert!(e.starts_with("meters[1].msisdn"), "{e}");
        let e = FleetManifest::from_json(r#"{"cells":[]}"#).unwrap_err().0;
        assert!(e.contains("`meters`"), "{e}");
    }

    #[test]
    fn generates_distinct_valid_identities() {
        let g = FleetManifest::generate(3, 4);
        assert_eq!(g.meters.len(), 12);
        g.check().unwrap();
        let text = serde_json::to_string(&g).unwrap();
        assert_eq!(FleetManifest::from_json(&text).unwrap(), g);
        assert_eq!(g.meters[4].cell.as_str(), "cell-0002");
    }
}
