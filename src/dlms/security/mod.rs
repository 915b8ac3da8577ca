//! DLMS security suite 0 (AES-GCM-128): the security control byte, keys, system titles,
//! protecting and unprotecting APDUs, the HLS-GMAC proof, invocation counters and the
//! glo-/ded-/general-glo-ciphering wire framing.
//!
//! Pure: the caller passes invocation counters and challenges in; nothing here reads a clock or
//! draws randomness. The receiving order is: decode the frame ([`GloCiphered`] or
//! [`GeneralGloCiphering`]), [`CipheredContent::parse`] it, optionally reject an old counter early
//! with [`InvocationCounterGuard::check`], [`CipheredContent::open`] it, and only then
//! [`InvocationCounterGuard::accept`] the counter, so that a forged message cannot move it.

mod apdu;
mod counter;
mod gcm;

pub use apdu::{
    ciphered_tag_name, ded_tag_for, glo_tag_for, plain_tag_for, CipheringKey, GeneralGloCiphering,
    GloCiphered, GENERAL_DED_CIPHERING, GENERAL_GLO_CIPHERING,
};
pub use counter::{InvocationCounter, InvocationCounterGuard};
pub use gcm::{
    hls_gmac_proof, protect, unprotect, unprotect_in_place, verify_hls_gmac, CipheredContent,
    Unprotected, HLS_GMAC_PROOF_LEN, TAG_LEN,
};

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::dlms::codec::hex;

/// Why protecting or unprotecting failed, typed so a session can answer with the right DLMS error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("authentication tag mismatch: wrong key, wrong system title or tampered data")]
    AuthenticationFailed,
    #[error("invocation counter {received} replayed: {last} was already accepted")]
    Replay { received: u32, last: u32 },
    #[error("security suite {0} is not supported (only suite 0, AES-GCM-128)")]
    UnsupportedSuite(u8),
    #[error(
        "security control 0x{0:02X} is not usable here (compressed, unprotected or not HLS-GMAC)"
    )]
    UnsupportedSecurityControl(u8),
    #[error("ciphered content too short: needs at least {needed} bytes, got {got}")]
    Truncated { needed: usize, got: usize },
    #[error("{what} has {got} bytes, expected {expected}")]
    WrongLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("key must be 16 bytes, got {got}")]
    WrongKeyLength { got: usize },
    #[error("system title must be 8 bytes, got {got}")]
    WrongSystemTitleLength { got: usize },
    #[error("invalid hex: {0}")]
    InvalidHex(String),
    #[error("invocation counter exhausted: the key must be renewed")]
    CounterExhausted,
    #[error("data too long for AES-GCM: {len} bytes")]
    TooLong { len: usize },
    #[error("APDU tag 0x{0:02X} has no ciphered form or is not a ciphered APDU")]
    NotCiphered(u8),
}

/// The security control byte: suite in bits 0..3, then authenticated, encrypted, broadcast key
/// and compressed flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityControl(pub u8);

impl SecurityControl {
    const AUTHENTICATED: u8 = 0x10;
    const ENCRYPTED: u8 = 0x20;
    const BROADCAST_KEY: u8 = 0x40;
    const COMPRESSED: u8 = 0x80;

    /// Suite 0, authenticated only: the byte HLS-GMAC proofs carry.
    pub const HLS_GMAC: SecurityControl = SecurityControl(Self::AUTHENTICATED);

    /// A control byte for `suite` (only its low 4 bits are kept) with the given protection.
    pub const fn new(suite: u8, authenticated: bool, encrypted: bool) -> Self {
        let mut b = suite & 0x0F;
        if authenticated {
            b |= Self::AUTHENTICATED;
        }
        if encrypted {
            b |= Self::ENCRYPTED;
        }
        SecurityControl(b)
    }

    pub const fn suite(self) -> u8 {
        self.0 & 0x0F
    }

    pub const fn authenticated(self) -> bool {
        self.0 & Self::AUTHENTICATED != 0
    }

    pub const fn encrypted(self) -> bool {
        self.0 & Self::ENCRYPTED != 0
    }

    /// The broadcast key was used instead of the unicast key.
    pub const fn broadcast_key(self) -> bool {
        self.0 & Self::BROADCAST_KEY != 0
    }

    pub const fn compressed(self) -> bool {
        self.0 & Self::COMPRESSED != 0
    }

    /// The same byte with the broadcast-key flag set or cleared.
    pub const fn with_broadcast_key(self, on: bool) -> Self {
        if on {
            SecurityControl(self.0 | Self::BROADCAST_KEY)
        } else {
            SecurityControl(self.0 & !Self::BROADCAST_KEY)
        }
    }

    /// Checks the byte describes something suite 0 can do: protection applied, no compression.
    pub fn check_usable(self) -> Result<(), SecurityError> {
        if self.suite() != 0 {
            return Err(SecurityError::UnsupportedSuite(self.suite()));
        }
        if self.compressed() || !(self.authenticated() || self.encrypted()) {
            return Err(SecurityError::UnsupportedSecurityControl(self.0));
        }
        Ok(())
    }
}

impl Serialize for SecurityControl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SecurityControl", 5)?;
        st.serialize_field("suite", &self.suite())?;
        st.serialize_field("authenticated", &self.authenticated())?;
        st.serialize_field("encrypted", &self.encrypted())?;
        st.serialize_field("broadcast_key", &self.broadcast_key())?;
        st.serialize_field("compressed", &self.compressed())?;
        st.end()
    }
}

/// The block-cipher key (EK, global or dedicated) and the authentication key (AK).
///
/// `Debug` hides the key bytes so keys do not end up in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub ek: [u8; 16],
    pub ak: [u8; 16],
}

impl Keys {
    pub const fn new(ek: [u8; 16], ak: [u8; 16]) -> Self {
        Keys { ek, ak }
    }

    pub fn from_slices(ek: &[u8], ak: &[u8]) -> Result<Self, SecurityError> {
        Ok(Keys {
            ek: key_from_slice(ek)?,
            ak: key_from_slice(ak)?,
        })
    }

    /// Parses both keys from hex (separators and a 0x prefix allowed).
    pub fn from_hex(ek: &str, ak: &str) -> Result<Self, SecurityError> {
        let ek = hex::decode(ek).map_err(SecurityError::InvalidHex)?;
        let ak = hex::decode(ak).map_err(SecurityError::InvalidHex)?;
        Self::from_slices(&ek, &ak)
    }

    /// The same authentication key with another block-cipher key (the dedicated key of an
    /// association, or the broadcast key).
    pub fn with_ek(&self, ek: [u8; 16]) -> Self {
        Keys { ek, ak: self.ak }
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys { ek: <hidden>, ak: <hidden> }")
    }
}

fn key_from_slice(bytes: &[u8]) -> Result<[u8; 16], SecurityError> {
    bytes
        .try_into()
        .map_err(|_| SecurityError::WrongKeyLength { got: bytes.len() })
}

/// The 8-byte system title: by convention a 3-letter manufacturer FLAG id then a serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemTitle(pub [u8; 8]);

impl SystemTitle {
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SecurityError> {
        bytes
            .try_into()
            .map(SystemTitle)
            .map_err(|_| SecurityError::WrongSystemTitleLength { got: bytes.len() })
    }

    pub fn from_hex(text: &str) -> Result<Self, SecurityError> {
        Self::from_slice(&hex::decode(text).map_err(SecurityError::InvalidHex)?)
    }

    /// The manufacturer FLAG id when the first 3 bytes are printable ASCII.
    pub fn manufacturer(&self) -> Option<&str> {
        let flag = &self.0[..3];
        if flag.iter().all(u8::is_ascii_graphic) {
            std::str::from_utf8(flag).ok()
        } else {
            None
        }
    }
}

impl fmt::Display for SystemTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))?;
        match self.manufacturer() {
            Some(flag) => write!(f, " ({flag})"),
            None => Ok(()),
        }
    }
}

impl Serialize for SystemTitle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_control_flags() {
        let sc = SecurityControl(0x30);
        assert_eq!(sc.suite(), 0);
        assert!(sc.authenticated() && sc.encrypted());
        assert!(!sc.broadcast_key() && !sc.compressed());
        assert_eq!(SecurityControl::new(0, true, true), sc);
        assert_eq!(
            SecurityControl::new(0, true, false),
            SecurityControl::HLS_GMAC
        );
        assert_eq!(SecurityControl::new(1, false, true).0, 0x21);
        assert_eq!(sc.with_broadcast_key(true).0, 0x70);
        assert!(SecurityControl(0xC0).compressed() && SecurityControl(0xC0).broadcast_key());
        let json = serde_json::to_string(&SecurityControl(0x31)).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"suite":1,"authenticated":true,"encrypted":true,"#,
                r#""broadcast_key":false,"compressed":false}"#
            )
        );
    }

    #[test]
    fn rejects_unusable_security_control() {
        assert_eq!(
            SecurityControl(0x31).check_usable(),
            Err(SecurityError::UnsupportedSuite(1))
        );
        assert_eq!(
            SecurityControl(0x00).check_usable(),
            Err(SecurityError::UnsupportedSecurityControl(0x00))
        );
        assert_eq!(
            SecurityControl(0xB0).check_usable(),
            Err(SecurityError::UnsupportedSecurityControl(0xB0))
        );
        for b in [0x10, 0x20, 0x30, 0x50, 0x70] {
            assert_eq!(SecurityControl(b).check_usable(), Ok(()));
        }
    }

    #[test]
    fn keys_from_hex_and_slices() {
        let keys = Keys::from_hex(
            "000102030405060708090A0B0C0D0E0F",
            "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
        )
        .unwrap();
        assert_eq!(keys.ek[15], 0x0F);
        assert_eq!(keys.ak[0], 0xD0);
        assert_eq!(format!("{keys:?}"), "Keys { ek: <hidden>, ak: <hidden> }");
        assert_eq!(
            Keys::from_slices(&[0; 15], &[0; 16]),
            Err(SecurityError::WrongKeyLength { got: 15 })
        );
        assert_eq!(
            Keys::from_slices(&[0; 16], &[0; 17]),
            Err(SecurityError::WrongKeyLength { got: 17 })
        );
        assert!(matches!(
            Keys::from_hex("zz", "00"),
            Err(SecurityError::InvalidHex(_))
        ));
    }

    #[test]
    fn system_title_display() {
        let st = SystemTitle::from_hex("4D4D4D0000BC614E").unwrap();
        assert_eq!(st.manufacturer(), Some("MMM"));
        assert_eq!(st.to_string(), "4D4D4D0000BC614E (MMM)");
        assert_eq!(serde_json::to_string(&st).unwrap(), r#""4D4D4D0000BC614E""#);
        let st = SystemTitle([0x2F, 0x19, 0x22, 0x91, 0x99, 0x16, 0x41, 0x03]);
        assert_eq!(st.manufacturer(), None);
        assert_eq!(st.to_string(), "2F19229199164103");
        assert_eq!(
            SystemTitle::from_slice(&[1; 7]),
            Err(SecurityError::WrongSystemTitleLength { got: 7 })
        );
    }
}
