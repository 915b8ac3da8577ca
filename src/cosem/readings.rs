//! Deterministic readings: every register value and load-profile entry of a simulated meter is a
//! pure function of (fleet seed, meter serial, time), so any reader can check what it read without
//! a database, and a meter's memory does not grow with its history.
//!
//! Energy per 15-minute interval is a daily load shape scaled per meter, plus noise that
//! telescopes: interval k gets `shape_k + n(k+1) - n(k)` with `0 <= n < NOISE`, and `shape_k`
//! never below `NOISE`, so the cumulative register is `shape_prefix(k) + n(k) - n(0)` in closed
//! form and only grows.

/// Seconds in one load-profile interval.
pub const INTERVAL_SECS: i64 = 900;
const INTERVALS_PER_DAY: i64 = 96;
/// Interval 0 starts at 2020-01-01T00:00 local time.
const EPOCH_LOCAL: i64 = 1_577_836_800;

/// Relative load per local hour (household profile: night trough, morning and evening peaks).
const HOURLY_SHAPE: [u32; 24] = [
    45, 40, 38, 37, 38, 45, 70, 95, 90, 75, 70, 72, 78, 72, 68, 70, 80, 105, 125, 130, 120, 100,
    80, 60,
];

/// One meter's load model, derived once from the fleet seed and its serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadModel {
    seed: u64,
    serial: u64,
    utc_offset_secs: i64,
    /// Import energy per interval in milli-Wh for shape weight 1 (scaled by the hourly shape).
    import_scale: u64,
    /// Export scale (0 for meters without generation).
    export_scale: u64,
    /// Reading at interval 0, in Wh.
    initial_wh: u64,
}

/// Import (A+) and export (A-) registers at one instant, in Wh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Energy {
    pub import_wh: u64,
    pub export_wh: u64,
}

impl LoadModel {
    /// The model of meter `serial` in a fleet with `seed`, whose clock runs `utc_offset_minutes` ahead of UTC.
    pub fn new(seed: u64, serial: u64, utc_offset_minutes: i16) -> Self {
        let h = |salt| mix(seed ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt);
        // 1,500 to 7,500 kWh a year; one meter in five also exports (solar), up to 4,000 kWh a year.
        let annual_import_kwh = 1_500 + h(1) % 6_000;
        let annual_export_kwh = if h(2) % 5 == 0 { 500 + h(3) % 3_500 } else { 0 };
        let weight_sum: u64 = HOURLY_SHAPE.iter().map(|&w| w as u64 * 4).sum();
        let per_day_mwh = |kwh: u64| kwh * 1_000_000 / 365;
        LoadModel {
            seed,
            serial,
            utc_offset_secs: utc_offset_minutes as i64 * 60,
            import_scale: per_day_mwh(annual_import_kwh) / weight_sum,
            export_scale: if annual_export_kwh == 0 {
                0
            } else {
                per_day_mwh(annual_export_kwh) / solar_weight_sum()
            },
            initial_wh: h(4) % 20_000_000,
        }
    }

    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The registers at Unix time `t` (interpolated inside the current interval).
    pub fn energy_at(&self, t: i64) -> Energy {
        let local = t + self.utc_offset_secs - EPOCH_LOCAL;
        let k = local.div_euclid(INTERVAL_SECS);
        let into = local.rem_euclid(INTERVAL_SECS) as u64;
        let at_k = self.energy_at_interval(k);
        let next = self.energy_at_interval(k + 1);
        let lerp = |a: u64, b: u64| a + (b - a) * into / INTERVAL_SECS as u64;
        Energy {
            import_wh: lerp(at_k.import_wh, next.import_wh),
            export_wh: lerp(at_k.export_wh, next.export_wh),
        }
    }

    /// The registers at the start of interval `k` (closed form, O(1)).
    fn energy_at_interval(&self, k: i64) -> Energy {
        let k = k.max(0);
        let (import_prefix, export_prefix) = weight_prefixes();
        let cumulative = |prefix: &[u64; 97], scale: u64, salt: u64, noise: u64| {
            let days = (k / INTERVALS_PER_DAY) as u64;
            let shape = scale
                * (days * prefix[INTERVALS_PER_DAY as usize]
                    + prefix[(k % INTERVALS_PER_DAY) as usize]);
            let n = |k: i64| {
                if noise == 0 {
                    0
                } else {
                    mix(self.seed ^ self.serial.rotate_left(17) ^ salt ^ k as u64) % noise
                }
            };
            (shape + n(k) - n(0)) / 1000
        };
        Energy {
            import_wh: self.initial_wh
                + cumulative(import_prefix, self.import_scale, 0xA5, self.import_noise()),
            export_wh: cumulative(export_prefix, self.export_scale, 0x5A, self.export_noise()),
        }
    }

    /// Noise amplitude in milli-Wh: half the smallest interval's shape energy, so no interval is negative.
    fn import_noise(&self) -> u64 {
        HOURLY_SHAPE.iter().min().copied().unwrap_or(0) as u64 * self.import_scale / 2
    }

    fn export_noise(&self) -> u64 {
        0 // solar export follows its shape exactly; its zero at night leaves no room for noise
    }

    /// Average import power over the interval containing `t`, in W.
    pub fn power_at(&self, t: i64) -> u64 {
        let start = t - (t + self.utc_offset_secs - EPOCH_LOCAL).rem_euclid(INTERVAL_SECS);
        let wh = self.energy_at(start + INTERVAL_SECS).import_wh - self.energy_at(start).import_wh;
        wh * 3600 / INTERVAL_SECS as u64
    }

    /// The capture time of the profile entry at or before `t` (interval boundaries in local time).
    pub fn entry_at_or_before(&self, t: i64) -> i64 {
        self.capture_at_or_before(t, INTERVAL_SECS)
    }

    /// The same for a profile captured every `period` seconds.
    pub fn capture_at_or_before(&self, t: i64, period: i64) -> i64 {
        t - (t + self.utc_offset_secs).rem_euclid(period)
    }
}

/// Prefix sums of the import and export weights over one day's intervals, shared by all meters.
fn weight_prefixes() -> &'static ([u64; 97], [u64; 97]) {
    static PREFIXES: std::sync::OnceLock<([u64; 97], [u64; 97])> = std::sync::OnceLock::new();
    PREFIXES.get_or_init(|| (prefix(|i| HOURLY_SHAPE[i / 4] as u64), prefix(solar_weight)))
}

fn prefix(weight: impl Fn(usize) -> u64) -> [u64; 97] {
    let mut out = [0; 97];
    for i in 0..INTERVALS_PER_DAY as usize {
        out[i + 1] = out[i] + weight(i);
    }
    out
}

/// Solar generation weight per interval: a bell between 07:00 and 19:00 local time.
fn solar_weight(interval: usize) -> u64 {
    let x = interval as i64 - 52; // peak at 13:00
    (24i64 * 24 - x * x).max(0) as u64
}

fn solar_weight_sum() -> u64 {
    (0..INTERVALS_PER_DAY as usize).map(solar_weight).sum()
}

/// SplitMix64 finaliser: a fast, well-spread hash of one word.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOV_26: i64 = 1_795_647_600; // 2026-11-26T00:00+01:00

    #[test]
    fn is_deterministic_per_seed_and_serial() {
        let a = LoadModel::new(7, 42, 60);
        assert_eq!(
            a.energy_at(NOV_26),
            LoadModel::new(7, 42, 60).energy_at(NOV_26)
        );
        assert_ne!(
            a.energy_at(NOV_26),
            LoadModel::new(8, 42, 60).energy_at(NOV_26)
        );
        assert_ne!(
            a.energy_at(NOV_26),
            LoadModel::new(7, 43, 60).energy_at(NOV_26)
        );
    }

    #[test]
    fn a_day_has_a_realistic_total_and_shape() {
        for serial in 0..50 {
            let m = LoadModel::new(1, serial, 60);
            let day = m.energy_at(NOV_26 + 86_400).import_wh - m.energy_at(NOV_26).import_wh;
            assert!(
                (3_000..=22_000).contains(&day),
                "serial {serial}: {day} Wh a day"
            );
            let night = m.power_at(NOV_26 + 3 * 3600);
            let evening = m.power_at(NOV_26 + 19 * 3600);
            assert!(
                evening > 2 * night,
                "serial {serial}: evening {evening} W, night {night} W"
            );
        }
    }

    #[test]
    fn some_meters_export_by_day_only() {
        let exporters: Vec<_> = (0..100)
            .map(|s| LoadModel::new(3, s, 60))
            .filter(|m| m.export_scale > 0)
            .collect();
        assert!(
            (5..=40).contains(&exporters.len()),
            "{} exporters",
            exporters.len()
        );
        let m = &exporters[0];
        let night =
            m.energy_at(NOV_26 + 4 * 3600).export_wh - m.energy_at(NOV_26 + 2 * 3600).export_wh;
        let noon =
            m.energy_at(NOV_26 + 14 * 3600).export_wh - m.energy_at(NOV_26 + 12 * 3600).export_wh;
        assert_eq!(night, 0);
        assert!(noon > 0);
    }

    #[test]
    fn entries_fall_on_local_quarter_hours() {
        let m = LoadModel::new(1, 1, 60);
        assert_eq!(m.entry_at_or_before(NOV_26 + 899), NOV_26);
        assert_eq!(m.entry_at_or_before(NOV_26 + 900), NOV_26 + 900);
        let half_hour_zone = LoadModel::new(1, 1, 330);
        assert_eq!(
            (half_hour_zone.entry_at_or_before(NOV_26) + 330 * 60) % 900,
            0
        );
    }

    proptest! {
        #[test]
        fn registers_only_grow(seed in any::<u64>(), serial in any::<u64>(), t in 1_600_000_000i64..2_200_000_000, step in 1i64..200_000) {
            let m = LoadModel::new(seed, serial, 60);
            let (a, b) = (m.energy_at(t), m.energy_at(t + step));
            prop_assert!(b.import_wh >= a.import_wh);
            prop_assert!(b.export_wh >= a.export_wh);
        }
    }
}
