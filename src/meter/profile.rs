//! Meter profiles (`profiles/*.toml`): what a family of simulated meters looks like on the wire.
//!
//! Parsing is pure: the caller reads the file and passes its text and name, so every error can
//! name the file, the key and the fix.

use std::time::Duration;

use serde::Deserialize;

use crate::dlms::datetime::DeviationConvention;

/// A validated meter profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub manufacturer: [u8; 3],
    pub utc_offset_minutes: i16,
    pub deviation: DeviationConvention,
    pub retention_entries: u32,
    /// Seconds between load-profile captures (900 in the field; shorter for quick tests).
    pub capture_period_s: u32,
    pub clock_drift_ppm: i32,
    pub max_pdu: u16,
    pub max_associations: usize,
    pub idle_timeout: Duration,
    pub latency: Latency,
    pub security: Security,
    pub wakeup: Wakeup,
}

/// Response latency: a triangular distribution between `min` and `max` peaking at `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub min: Duration,
    pub mode: Duration,
    pub max: Duration,
}

impl Latency {
    /// The latency at quantile `u` in [0, 1) of the triangular distribution (inverse CDF).
    pub fn sample(&self, u: f64) -> Duration {
        let (a, c, b) = (
            self.min.as_secs_f64(),
            self.mode.as_secs_f64(),
            self.max.as_secs_f64(),
        );
        if b <= a {
            return self.min;
        }
        let split = (c - a) / (b - a);
        let x = if u < split {
            a + (u * (b - a) * (c - a)).sqrt()
        } else {
            b - ((1.0 - u) * (b - a) * (b - c)).sqrt()
        };
        Duration::from_secs_f64(x.clamp(a, b))
    }
}

/// How the management client (SAP 1) must authenticate; the public client (SAP 16) never does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Management {
    None,
    Lls { password: String },
    HlsGmac,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    pub management: Management,
    /// Management associations use the LN-with-ciphering context (suite 0).
    pub ciphered: bool,
    /// Per-meter keys are derived from this secret and the meter's serial.
    pub fleet_secret: [u8; 16],
}

/// Whether the meter waits for the head-end or calls it after a wake-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    AlwaysListening,
    /// Connects to `headend` after a wake-up, pushes its logical device name, serves that connection.
    UsuallyDisconnected {
        headend: String,
        push: PushTransport,
        push_client_sap: u16,
        stay_connected: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushTransport {
    Tcp,
    Udp,
}

/// Why a profile is unusable, naming the file, the key and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ProfileError {
    pub file: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    meter: MeterKeys,
    #[serde(default)]
    latency: LatencyKeys,
    security: SecurityKeys,
    wakeup: WakeupKeys,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeterKeys {
    manufacturer: String,
    utc_offset_minutes: i16,
    deviation: String,
    retention_entries: u32,
    capture_period_s: Option<u32>,
    clock_drift_ppm: i32,
    max_pdu: u16,
    max_associations: usize,
    idle_timeout_s: u64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LatencyKeys {
    min_ms: u64,
    mode_ms: u64,
    max_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityKeys {
    management: String,
    password: Option<String>,
    ciphered: bool,
    fleet_secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WakeupKeys {
    mode: String,
    headend: Option<String>,
    push_transport: Option<String>,
    push_client_sap: Option<u16>,
    stay_connected_s: Option<u64>,
}

impl Profile {
    /// Parses and validates a profile; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ProfileError> {
        let fail = |message: String| ProfileError {
            file: file.to_string(),
            message,
        };
        let raw: File =
            toml::from_str(text).map_err(|e| fail(e.to_string().trim_end().to_string()))?;
        let name = std::path::Path::new(file)
            .file_stem()
            .map_or(file.to_string(), |s| s.to_string_lossy().into_owned());
        Ok(Profile {
            name,
            manufacturer: manufacturer(&raw.meter.manufacturer).map_err(fail)?,
            utc_offset_minutes: range(
                "meter.utc_offset_minutes",
                raw.meter.utc_offset_minutes,
                -720..=840,
            )
            .map_err(fail)?,
            deviation: deviation(&raw.meter.deviation).map_err(fail)?,
            retention_entries: range(
                "meter.retention_entries",
                raw.meter.retention_entries,
                1..=100_000,
            )
            .map_err(fail)?,
            capture_period_s: capture_period(raw.meter.capture_period_s.unwrap_or(900))
                .map_err(fail)?,
            clock_drift_ppm: range(
                "meter.clock_drift_ppm",
                raw.meter.clock_drift_ppm,
                -1000..=1000,
            )
            .map_err(fail)?,
            max_pdu: range("meter.max_pdu", raw.meter.max_pdu, 64..=0xFFFF).map_err(fail)?,
            max_associations: range("meter.max_associations", raw.meter.max_associations, 1..=64)
                .map_err(fail)?,
            idle_timeout: Duration::from_secs(
                range("meter.idle_timeout_s", raw.meter.idle_timeout_s, 1..=86_400)
                    .map_err(fail)?,
            ),
            latency: latency(&raw.latency).map_err(fail)?,
            security: security(raw.security).map_err(fail)?,
            wakeup: wakeup(raw.wakeup).map_err(fail)?,
        })
    }
}

fn capture_period(seconds: u32) -> Result<u32, String> {
    if seconds == 0 || 86_400 % seconds != 0 {
        return Err(format!(
            "meter.capture_period_s = {seconds}: must divide a day (e.g. 900, 300, 60)"
        ));
    }
    Ok(seconds)
}

fn range<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    allowed: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    if allowed.contains(&value) {
        return Ok(value);
    }
    Err(format!(
        "key {key} = {value} is out of range; use a value from {} to {}",
        allowed.start(),
        allowed.end()
    ))
}

fn one_of<'a>(key: &str, value: &'a str, allowed: &[&str]) -> Result<&'a str, String> {
    if allowed.contains(&value) {
        return Ok(value);
    }
    Err(format!(
        "key {key} = \"{value}\" is not allowed; use one of: {}",
        allowed.join(", ")
    ))
}

fn manufacturer(text: &str) -> Result<[u8; 3], String> {
    match text.as_bytes() {
        [a, b, c] if text.bytes().all(|b| b.is_ascii_uppercase()) => Ok([*a, *b, *c]),
        _ => Err(format!("key meter.manufacturer = \"{text}\" must be three capital letters (the FLAG id), e.g. \"RNM\"")),
    }
}

fn deviation(text: &str) -> Result<DeviationConvention, String> {
    Ok(
        match one_of("meter.deviation", text, &["blue-book", "inverted"])? {
            "blue-book" => DeviationConvention::LocalToUtc,
            _ => DeviationConvention::UtcToLocal,
        },
    )
}

fn latency(keys: &LatencyKeys) -> Result<Latency, String> {
    if !(keys.min_ms <= keys.mode_ms && keys.mode_ms <= keys.max_ms && keys.max_ms <= 60_000) {
        return Err(format!(
            "keys latency.min_ms = {}, mode_ms = {}, max_ms = {} must satisfy min <= mode <= max <= 60000",
            keys.min_ms, keys.mode_ms, keys.max_ms
        ));
    }
    let ms = Duration::from_millis;
    Ok(Latency {
        min: ms(keys.min_ms),
        mode: ms(keys.mode_ms),
        max: ms(keys.max_ms),
    })
}

fn security(keys: SecurityKeys) -> Result<Security, String> {
    let management = match one_of(
        "security.management",
        &keys.management,
        &["none", "lls", "hls-gmac"],
    )? {
        "none" => Management::None,
        "lls" => Management::Lls {
            password: keys.password.ok_or(
                "key security.password is missing; LLS needs it, e.g. password = \"12345678\"",
            )?,
        },
        _ => Management::HlsGmac,
    };
    let secret = crate::dlms::codec::hex::decode(&keys.fleet_secret)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or("key security.fleet_secret must be 32 hex digits (16 bytes)")?;
    if keys.ciphered && management != Management::HlsGmac {
        return Err("key security.ciphered = true needs security.management = \"hls-gmac\" (ciphering needs the keys HLS proves)".into());
    }
    Ok(Security {
        management,
        ciphered: keys.ciphered,
        fleet_secret: secret,
    })
}

fn wakeup(keys: WakeupKeys) -> Result<Wakeup, String> {
    if one_of(
        "wakeup.mode",
        &keys.mode,
        &["always-listening", "usually-disconnected"],
    )? == "always-listening"
    {
        return Ok(Wakeup::AlwaysListening);
    }
    let headend = keys.headend.ok_or(
        "key wakeup.headend is missing; usually-disconnected meters need the head-end's host:port",
    )?;
    let addr: std::net::SocketAddr = headend.parse().map_err(|_| {
        format!("key wakeup.headend = \"{headend}\" is not host:port with an IP address")
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "key wakeup.headend = \"{headend}\" must be a loopback address (127.0.0.0/8 or ::1)"
        ));
    }
    let push = match one_of(
        "wakeup.push_transport",
        keys.push_transport.as_deref().unwrap_or("tcp"),
        &["tcp", "udp"],
    )? {
        "tcp" => PushTransport::Tcp,
        _ => PushTransport::Udp,
    };
    Ok(Wakeup::UsuallyDisconnected {
        headend,
        push,
        push_client_sap: keys.push_client_sap.unwrap_or(1),
        stay_connected: Duration::from_secs(range(
            "wakeup.stay_connected_s",
            keys.stay_connected_s.unwrap_or(120),
            1..=3600,
        )?),
    })
}

/// The profiles shipped in `profiles/`, embedded so the binary runs anywhere.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "profiles/basic.toml",
        include_str!("../../profiles/basic.toml"),
    ),
    (
        "profiles/secure.toml",
        include_str!("../../profiles/secure.toml"),
    ),
    (
        "profiles/wakeup.toml",
        include_str!("../../profiles/wakeup.toml"),
    ),
];

/// A shipped profile by name (`basic`, `secure`, `wakeup`).
pub fn shipped(name: &str) -> Option<Profile> {
    SHIPPED
        .iter()
        .find(|(file, _)| file.ends_with(&format!("/{name}.toml")))
        .map(|(file, text)| Profile::parse(file, text).expect("shipped profiles are valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses() {
        for (file, text) in SHIPPED {
            Profile::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(shipped("secure").unwrap().max_pdu, 256);
        assert_eq!(
            shipped("basic").unwrap().security.management,
            Management::Lls {
                password: "12345678".into()
            }
        );
        assert!(matches!(
            shipped("wakeup").unwrap().wakeup,
            Wakeup::UsuallyDisconnected { .. }
        ));
    }

    fn with(key: &str, value: &str) -> String {
        let base = SHIPPED[0].1;
        base.lines()
            .map(|l| {
                if l.starts_with(&format!("{key} =")) {
                    format!("{key} = {value}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn rejects_bad_values_naming_file_key_and_fix() {
        for (key, value, says) in [
            ("management", "\"hls\"", "use one of: none, lls, hls-gmac"),
            ("max_pdu", "10", "meter.max_pdu = 10 is out of range"),
            ("manufacturer", "\"rnm\"", "three capital letters"),
            ("deviation", "\"minus\"", "blue-book, inverted"),
            ("fleet_secret", "\"00\"", "32 hex digits"),
        ] {
            let err = Profile::parse("profiles/x.toml", &with(key, value)).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("profiles/x.toml: "), "{text}");
            assert!(text.contains(says), "{key}: {text}");
        }
    }

    #[test]
    fn rejects_unknown_and_missing_keys() {
        let text = format!("{}\n[extra]\nfoo = 1\n", SHIPPED[0].1);
        assert!(Profile::parse("p.toml", &text)
            .unwrap_err()
            .to_string()
            .contains("unknown field `extra`"));
        let text = SHIPPED[0].1.replace("max_pdu", "max_pdus");
        let err = Profile::parse("p.toml", &text).unwrap_err().to_string();
        assert!(err.contains("max_pdus") && err.contains("line"), "{err}");
    }

    #[test]
    fn latency_samples_stay_in_bounds_around_the_mode() {
        let ms = Duration::from_millis;
        let l = Latency {
            min: ms(10),
            mode: ms(20),
            max: ms(100),
        };
        assert_eq!(l.sample(0.0), ms(10));
        assert!(l.sample(0.999_999) <= ms(100));
        let median = l.sample(0.5);
        assert!(median > ms(20) && median < ms(60), "{median:?}");
        assert_eq!(
            Latency {
                min: ms(5),
                mode: ms(5),
                max: ms(5)
            }
            .sample(0.7),
            ms(5)
        );
    }

    #[test]
    fn rejects_a_head_end_off_loopback() {
        let text = SHIPPED[2].1.replace("127.0.0.1:4060", "10.0.0.1:4060");
        assert!(Profile::parse("w.toml", &text)
            .unwrap_err()
            .to_string()
            .contains("loopback"));
    }
}
