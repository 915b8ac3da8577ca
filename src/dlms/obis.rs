//! OBIS codes (IEC 62056-61): six value groups A-B:C.D.E.F naming every COSEM object.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::codec::{Codec, DecodeResult, Reader};

/// A logical name: the six OBIS value groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Obis(pub [u8; 6]);

impl Obis {
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) -> Self {
        Obis([a, b, c, d, e, f])
    }

    /// Clock 0.0.1.0.0.255.
    pub const CLOCK: Obis = Obis::new(0, 0, 1, 0, 0, 255);
    /// Current association (Association LN) 0.0.40.0.0.255.
    pub const CURRENT_ASSOCIATION: Obis = Obis::new(0, 0, 40, 0, 0, 255);
    /// COSEM logical device name 0.0.42.0.0.255.
    pub const LOGICAL_DEVICE_NAME: Obis = Obis::new(0, 0, 42, 0, 0, 255);
    /// Invocation counter of the management client's security setup 0.0.43.1.0.255.
    pub const INVOCATION_COUNTER: Obis = Obis::new(0, 0, 43, 1, 0, 255);
    /// Active energy import (A+) total 1.0.1.8.0.255.
    pub const ACTIVE_ENERGY_IMPORT: Obis = Obis::new(1, 0, 1, 8, 0, 255);
    /// Active energy export (A-) total 1.0.2.8.0.255.
    pub const ACTIVE_ENERGY_EXPORT: Obis = Obis::new(1, 0, 2, 8, 0, 255);
    /// Instantaneous active power import 1.0.1.7.0.255.
    pub const ACTIVE_POWER_IMPORT: Obis = Obis::new(1, 0, 1, 7, 0, 255);
    /// Load profile 1 1.0.99.1.0.255.
    pub const LOAD_PROFILE_1: Obis = Obis::new(1, 0, 99, 1, 0, 255);
    /// Profile status 0.0.96.10.1.255.
    pub const PROFILE_STATUS: Obis = Obis::new(0, 0, 96, 10, 1, 255);

    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// The dotted form `1.0.1.8.0.255`.
    pub fn dotted(&self) -> String {
        let [a, b, c, d, e, f] = self.0;
        format!("{a}.{b}.{c}.{d}.{e}.{f}")
    }
}

/// The standard form `1-0:1.8.0.255`.
impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a}-{b}:{c}.{d}.{e}.{g}")
    }
}

/// Why a text is not an OBIS code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not an OBIS code: {why} (write 1-0:1.8.0.255 or 1.0.1.8.0.255)")]
pub struct ParseObisError {
    pub text: String,
    pub why: &'static str,
}

impl FromStr for Obis {
    type Err = ParseObisError;

    /// Accepts `A-B:C.D.E.F`, `A.B.C.D.E.F`, and either with `*F` or `&F` as the last separator.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |why| ParseObisError {
            text: text.to_string(),
            why,
        };
        let groups: Vec<&str> = text.trim().split(['-', ':', '.', '*', '&']).collect();
        if groups.len() != 6 {
            return Err(err("it needs six value groups"));
        }
        let mut out = [0u8; 6];
        for (slot, group) in out.iter_mut().zip(&groups) {
            *slot = group
                .parse()
                .map_err(|_| err("each group is a number from 0 to 255"))?;
        }
        Ok(Obis(out))
    }
}

impl Codec for Obis {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Obis(r.array("OBIS code")?))
    }
}

impl Serialize for Obis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_notations() {
        for text in [
            "1-0:1.8.0.255",
            "1.0.1.8.0.255",
            "1-0:1.8.0*255",
            " 1.0.1.8.0.255 ",
        ] {
            assert_eq!(
                text.parse::<Obis>().unwrap(),
                Obis::ACTIVE_ENERGY_IMPORT,
                "{text}"
            );
        }
    }

    #[test]
    fn prints_both_notations() {
        assert_eq!(Obis::LOAD_PROFILE_1.to_string(), "1-0:99.1.0.255");
        assert_eq!(Obis::LOAD_PROFILE_1.dotted(), "1.0.99.1.0.255");
    }

    #[test]
    fn rejects_malformed_text() {
        for text in [
            "1.0.1.8.0",
            "1.0.1.8.0.256",
            "a.b.c.d.e.f",
            "",
            "1.0.1.8.0.255.1",
        ] {
            let err = text.parse::<Obis>().unwrap_err();
            assert!(err.to_string().contains("OBIS"), "{text}: {err}");
        }
    }

    #[test]
    fn can_round_trip_bytes() {
        let bytes = [0, 0, 43, 1, 0, 255];
        let obis = Obis::from_bytes(&bytes).unwrap();
        assert_eq!(obis, Obis::INVOCATION_COUNTER);
        assert_eq!(obis.to_bytes(), bytes);
        assert!(Obis::from_bytes(&bytes[..5]).is_err());
    }
}
