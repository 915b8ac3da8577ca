//! The fleet a scenario describes, made concrete: every meter's profile, cell, SIM and keys,
//! derived from the scenario and its seed, and the operator's manifest of the same fleet.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::headend::fleet::{MeterRef, ReadMode};
use crate::meter::identity::MeterIdentity;
use crate::meter::manifest::meter_id;
use crate::meter::profile::{Profile, Wakeup};
use crate::operator::geohash::{self, Point};
use crate::operator::ids::{CellId, Iccid, Imsi, Msisdn, TenantId};
use crate::operator::manifest::{CellEntry, FleetManifest, MeterEntry};
use crate::operator::sim::{DataMode, SimStatus};

/// How meters are spread over cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Meter i in cell i mod cells.
    RoundRobin,
    /// Consecutive meters fill one cell, then the next.
    Blocks,
    /// Each meter in a cell drawn by the seed.
    Random,
}

impl Spread {
    pub const NAMES: &'static [&'static str] = &["round-robin", "blocks", "random"];

    pub fn parse(name: &str) -> Option<Spread> {
        Some(match name {
            "round-robin" => Spread::RoundRobin,
            "blocks" => Spread::Blocks,
            "random" => Spread::Random,
            _ => return None,
        })
    }
}

/// The fleet section of a scenario, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    pub meters: u32,
    pub cells: u32,
    pub spread: Spread,
    /// Profiles and their shares of the fleet, in file order.
    pub profiles: Vec<(Profile, f64)>,
    /// Meters given a profile by name: (meter index, index into `profiles`).
    pub pins: Vec<(u32, usize)>,
}

/// One radio cell of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetCell {
    pub id: String,
    pub geohash: String,
    pub area: String,
}

/// One meter: small, since fleets hold tens of thousands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetMeter {
    pub index: u32,
    pub serial: u64,
    /// Index into [`Fleet::profiles`].
    pub profile: u8,
    /// Index into [`Fleet::cells`].
    pub cell: u32,
}

/// The concrete fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub seed: u64,
    pub profiles: Vec<Profile>,
    pub cells: Vec<FleetCell>,
    pub meters: Vec<FleetMeter>,
}

impl FleetSpec {
    /// Builds the fleet for `seed`: profiles by a low-discrepancy sequence over their shares
    /// (so every stretch of the fleet has the mix), pins applied, cells by the spread.
    pub fn build(&self, seed: u64) -> Fleet {
        let total: f64 = self.profiles.iter().map(|(_, s)| s).sum();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_F1EE7);
        let cells: Vec<FleetCell> = (0..self.cells).map(cell).collect();
        let mut meters = Vec::with_capacity(self.meters as usize);
        for index in 0..self.meters {
            // Golden-ratio sequence: the n-th point of {n * 0.618...} picks the profile.
            let u = (index as f64 * 0.618_033_988_749_895).fract() * total;
            let mut acc = 0.0;
            let mut profile = self.profiles.len() - 1;
            for (i, (_, share)) in self.profiles.iter().enumerate() {
                acc += share;
                if u < acc {
                    profile = i;
                    break;
                }
            }
            let cell = match self.spread {
                Spread::RoundRobin => index % self.cells,
                Spread::Blocks => {
                    let per_cell = self.meters.div_ceil(self.cells);
                    index / per_cell.max(1)
                }
                Spread::Random => rng.gen_range(0..self.cells),
            };
            meters.push(FleetMeter {
                index,
                serial: serial(seed, index),
                profile: profile as u8,
                cell,
            });
        }
        for &(index, profile) in &self.pins {
            meters[index as usize].profile = profile as u8;
        }
        Fleet {
            seed,
            profiles: self.profiles.iter().map(|(p, _)| p.clone()).collect(),
            cells,
            meters,
        }
    }
}

/// Meter `index`'s serial, as [`MeterIdentity::derive`] gives it.
fn serial(seed: u64, index: u32) -> u64 {
    seed % 1_000 * 10_000_000 + index as u64 + 1
}

/// Cell `i`: an id, a precision-6 geohash on a grid wide enough that no two cells share one,
/// and an area of ten cells.
fn cell(i: u32) -> FleetCell {
    let p = Point {
        latitude: 55.60 + (i / 40) as f64 * 0.012,
        longitude: 12.20 + (i % 40) as f64 * 0.024,
    };
    FleetCell {
        id: format!("cell-{:04}", i + 1),
        geohash: geohash::encode(p, 6),
        area: format!("area-{:02}", i / 10 + 1),
    }
}

impl Fleet {
    pub fn profile(&self, m: &FleetMeter) -> &Profile {
        &self.profiles[m.profile as usize]
    }

    /// Whether the meter waits to be woken by SMS (its modem connects on demand).
    pub fn is_wake_up(&self, m: &FleetMeter) -> bool {
        matches!(self.profile(m).wakeup, Wakeup::UsuallyDisconnected { .. })
    }

    /// The meter's identity: keys, system title, SIM.
    pub fn identity(&self, m: &FleetMeter) -> MeterIdentity {
        let p = self.profile(m);
        let mut id = MeterIdentity::derive(
            self.seed,
            m.index,
            p.manufacturer,
            &p.security.fleet_secret,
            self.cells.len() as u32,
        );
        id.cell = self.cells[m.cell as usize].id.clone();
        id
    }

    /// Meter index by id (`m000417`).
    pub fn meter_index(&self, id: &str) -> Option<u32> {
        crate::meter::manifest::meter_index(id).filter(|&i| (i as usize) < self.meters.len())
    }

    /// Cell index by id (`cell-0007`).
    pub fn cell_index(&self, id: &str) -> Option<u32> {
        self.cells.iter().position(|c| c.id == id).map(|i| i as u32)
    }

    /// The meters in these cells, in fleet order.
    pub fn meters_in(&self, cells: &[u32]) -> Vec<u32> {
        self.meters
            .iter()
            .filter(|m| cells.contains(&m.cell))
            .map(|m| m.index)
            .collect()
    }

    /// `n` distinct items of `0..len` drawn by the seed, sorted.
    pub fn pick(&self, salt: u64, len: u32, n: usize) -> Vec<u32> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ salt.wrapping_mul(0x9E37_79B9));
        let mut all: Vec<u32> = (0..len).collect();
        all.shuffle(&mut rng);
        all.truncate(n);
        all.sort_unstable();
        all
    }

    /// The head-end's view of each meter.
    pub fn meter_refs(&self) -> Vec<MeterRef> {
        self.meters
            .iter()
            .map(|m| {
                let id = self.identity(m);
                MeterRef {
                    id: meter_id(m.index),
                    mode: if self.is_wake_up(m) {
                        ReadMode::WakeUp
                    } else {
                        ReadMode::Direct
                    },
                    iccid: id.sim.iccid,
                    msisdn: id.sim.msisdn,
                    cell: id.cell,
                }
            })
            .collect()
    }

    /// The operator's manifest of the same fleet.
    pub fn operator_manifest(&self) -> FleetManifest {
        let tenant = TenantId::new("utility").expect("a valid tenant");
        let cells = self
            .cells
            .iter()
            .map(|c| CellEntry {
                id: CellId::new(c.id.clone()).expect("valid cell id"),
                geohash: c.geohash.clone(),
                area: Some(c.area.clone()),
            })
            .collect();
        let meters = self
            .meters
            .iter()
            .map(|m| {
                let id = self.identity(m);
                MeterEntry {
                    id: meter_id(m.index),
                    iccid: Iccid::new(id.sim.iccid).expect("derived ICCIDs are valid"),
                    imsi: Imsi::new(id.sim.imsi).expect("derived IMSIs are valid"),
                    msisdn: Msisdn::new(id.sim.msisdn).expect("derived MSISDNs are valid"),
                    cell: CellId::new(id.cell).expect("valid cell id"),
                    tenant: tenant.clone(),
                    apn: None,
                    data_mode: if self.is_wake_up(m) {
                        DataMode::OnDemand
                    } else {
                        DataMode::AlwaysOn
                    },
                    status: SimStatus::Activated,
                    data_limit_bytes: None,
                    radius_user: None,
                    radius_password: None,
                    control: None,
                }
            })
            .collect();
        FleetManifest { cells, meters }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::profile::shipped;

    fn spec(spread: Spread) -> FleetSpec {
        FleetSpec {
            meters: 100,
            cells: 7,
            spread,
            profiles: vec![
                (shipped("basic").unwrap(), 0.7),
                (shipped("wakeup").unwrap(), 0.3),
            ],
            pins: vec![(5, 1)],
        }
    }

    #[test]
    fn mixes_profiles_by_share_and_applies_pins() {
        let fleet = spec(Spread::RoundRobin).build(1);
        let wake = fleet.meters.iter().filter(|m| fleet.is_wake_up(m)).count();
        assert!((29..=32).contains(&wake), "{wake} wake-up meters");
        assert!(fleet.is_wake_up(&fleet.meters[5]));
        assert_eq!(fleet.meters[8].cell, 1);
    }

    #[test]
    fn spreads_meters_over_every_cell() {
        for spread in [Spread::RoundRobin, Spread::Blocks, Spread::Random] {
            let fleet = spec(spread).build(3);
            for c in 0..7 {
                assert!(!fleet.meters_in(&[c]).is_empty(), "{spread:?}: cell {c}");
            }
        }
    }

    #[test]
    fn builds_a_valid_operator_manifest_with_distinct_cells() {
        let fleet = spec(Spread::Random).build(9);
        let manifest = fleet.operator_manifest();
        manifest.check().unwrap();
        let mut hashes: Vec<_> = fleet.cells.iter().map(|c| &c.geohash).collect();
        hashes.dedup();
        assert_eq!(hashes.len(), 7);
        assert_eq!(manifest.meters[5].data_mode, DataMode::OnDemand);
        assert_eq!(fleet.meter_refs()[5].mode, ReadMode::WakeUp);
        assert_eq!(fleet.meter_index("m000100"), Some(99));
        assert_eq!(fleet.meter_index("m000101"), None);
    }

    #[test]
    fn picks_are_deterministic_per_seed() {
        let a = spec(Spread::Random).build(4);
        let b = spec(Spread::Random).build(4);
        assert_eq!(a.pick(1, 100, 5), b.pick(1, 100, 5));
        assert_ne!(a.pick(1, 100, 5), a.pick(2, 100, 5));
    }
}
