//! The xDLMS conformance block: 24 flags naming the services a client proposes or a meter grants.

use crate::dlms::codec::{Codec, DecodeResult, Reader};
use serde::{Serialize, Serializer};
use std::fmt;
use std::ops::{BitAnd, BitOr};

/// The 24-bit conformance block; bit 0 of the standard is the most significant (0x800000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Conformance(pub u32);

impl Conformance {
    pub const RESERVED_ZERO: Self = Self(0x80_0000);
    pub const GENERAL_PROTECTION: Self = Self(0x40_0000);
    pub const GENERAL_BLOCK_TRANSFER: Self = Self(0x20_0000);
    pub const READ: Self = Self(0x10_0000);
    pub const WRITE: Self = Self(0x08_0000);
    pub const UNCONFIRMED_WRITE: Self = Self(0x04_0000);
    /// Named reserved-six in editions before delta-value encoding was introduced.
    pub const DELTA_VALUE_ENCODING: Self = Self(0x02_0000);
    pub const RESERVED_SEVEN: Self = Self(0x01_0000);
    pub const ATTRIBUTE0_SUPPORTED_WITH_SET: Self = Self(0x00_8000);
    pub const PRIORITY_MGMT_SUPPORTED: Self = Self(0x00_4000);
    pub const ATTRIBUTE0_SUPPORTED_WITH_GET: Self = Self(0x00_2000);
    pub const BLOCK_TRANSFER_WITH_GET_OR_READ: Self = Self(0x00_1000);
    pub const BLOCK_TRANSFER_WITH_SET_OR_WRITE: Self = Self(0x00_0800);
    pub const BLOCK_TRANSFER_WITH_ACTION: Self = Self(0x00_0400);
    pub const MULTIPLE_REFERENCES: Self = Self(0x00_0200);
    pub const INFORMATION_REPORT: Self = Self(0x00_0100);
    pub const DATA_NOTIFICATION: Self = Self(0x00_0080);
    pub const ACCESS: Self = Self(0x00_0040);
    pub const PARAMETERIZED_ACCESS: Self = Self(0x00_0020);
    pub const GET: Self = Self(0x00_0010);
    pub const SET: Self = Self(0x00_0008);
    pub const SELECTIVE_ACCESS: Self = Self(0x00_0004);
    pub const EVENT_NOTIFICATION: Self = Self(0x00_0002);
    pub const ACTION: Self = Self(0x00_0001);

    /// Every flag with its Green Book name, most significant first.
    const NAMES: [(Self, &'static str); 24] = [
        (Self::RESERVED_ZERO, "reserved-zero"),
        (Self::GENERAL_PROTECTION, "general-protection"),
        (Self::GENERAL_BLOCK_TRANSFER, "general-block-transfer"),
        (Self::READ, "read"),
        (Self::WRITE, "write"),
        (Self::UNCONFIRMED_WRITE, "unconfirmed-write"),
        (Self::DELTA_VALUE_ENCODING, "delta-value-encoding"),
        (Self::RESERVED_SEVEN, "reserved-seven"),
        (
            Self::ATTRIBUTE0_SUPPORTED_WITH_SET,
            "attribute0-supported-with-set",
        ),
        (Self::PRIORITY_MGMT_SUPPORTED, "priority-mgmt-supported"),
        (
            Self::ATTRIBUTE0_SUPPORTED_WITH_GET,
            "attribute0-supported-with-get",
        ),
        (
            Self::BLOCK_TRANSFER_WITH_GET_OR_READ,
            "block-transfer-with-get-or-read",
        ),
        (
            Self::BLOCK_TRANSFER_WITH_SET_OR_WRITE,
            "block-transfer-with-set-or-write",
        ),
        (
            Self::BLOCK_TRANSFER_WITH_ACTION,
            "block-transfer-with-action",
        ),
        (Self::MULTIPLE_REFERENCES, "multiple-references"),
        (Self::INFORMATION_REPORT, "information-report"),
        (Self::DATA_NOTIFICATION, "data-notification"),
        (Self::ACCESS, "access"),
        (Self::PARAMETERIZED_ACCESS, "parameterized-access"),
        (Self::GET, "get"),
        (Self::SET, "set"),
        (Self::SELECTIVE_ACCESS, "selective-access"),
        (Self::EVENT_NOTIFICATION, "event-notification"),
        (Self::ACTION, "action"),
    ];

    /// Whether every flag of `other` is set here.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the flags set, most significant first.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect()
    }
}

impl BitOr for Conformance {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitAnd for Conformance {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl fmt::Display for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06X} [{}]", self.0, self.names().join(", "))
    }
}

impl Serialize for Conformance {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// `5F 1F 04 00 <3 bytes>`: [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)), no unused bits.
impl Codec for Conformance {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0x5F, 0x1F, 0x04, 0x00]);
        out.extend_from_slice(&self.0.to_be_bytes()[1..]);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(0x5F, "conformance tag")?;
        r.expect_u8(0x1F, "conformance tag")?;
        r.expect_u8(0x04, "conformance length")?;
        r.expect_u8(0x00, "conformance unused-bit count")?;
        let [a, b, c] = r.array("conformance bits")?;
        Ok(Self(u32::from_be_bytes([0, a, b, c])))
    }
}
