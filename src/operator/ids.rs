//! Identifiers of SIMs, cells and tenants, validated once at the edge so the model can trust them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused; the message names the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} `{value}` is invalid: {rule}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
    pub rule: &'static str,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok($name(value))
                } else {
                    Err(InvalidId { kind: $kind, value, rule: $rule })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

id_type!(
    /// Integrated Circuit Card Identifier (ITU-T E.118): 19 or 20 digits, starting with 89.
    Iccid, "ICCID", |s| digits(s, 19, 20) && s.starts_with("89"), "19 or 20 digits starting with 89"
);
id_type!(
    /// International Mobile Subscriber Identity: 14 or 15 digits (MCC, MNC, MSIN).
    Imsi, "IMSI", |s| digits(s, 14, 15), "14 or 15 digits"
);
id_type!(
    /// The SIM's phone number in E.164 with a leading `+`, as CAMARA's `phoneNumber`.
    Msisdn, "MSISDN",
    |s| s.strip_prefix('+').is_some_and(|d| digits(d, 5, 15) && !d.starts_with('0')),
    "E.164 with a leading + (pattern ^\\+[1-9][0-9]{4,14}$)"
);
id_type!(
    /// A radio cell's identifier.
    CellId, "cell id", name, "1 to 64 letters, digits, '-', '_' or '.'"
);
id_type!(
    /// A customer of the operator (a utility); each sees only its own SIMs.
    TenantId, "tenant", name, "1 to 64 letters, digits, '-', '_' or '.'"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_identifiers() {
        assert!(Iccid::new("8945000000000000001").is_ok());
        assert!(Iccid::new("1945000000000000001").is_err());
        assert!(Iccid::new("89450000000000000a1").is_err());
        assert!(Imsi::new("238010000000001").is_ok());
        assert!(Imsi::new("2380100").is_err());
        assert!(Msisdn::new("+4520000001").is_ok());
        assert!(Msisdn::new("4520000001").is_err());
        assert!(Msisdn::new("+0520000001").is_err());
        assert!(CellId::new("cell-001").is_ok());
        assert!(CellId::new("cell 001").is_err());
        assert!(TenantId::new("").is_err());
    }

    #[test]
    fn deserializing_validates() {
        let err = serde_json::from_str::<Iccid>("\"123\"").unwrap_err();
        assert!(err.to_string().contains("19 or 20 digits"), "{err}");
    }
}
