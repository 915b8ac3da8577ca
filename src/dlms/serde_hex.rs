//! serde helpers that show byte strings the way DLMS engineers read them.

use serde::Serializer;

use super::codec::hex;

/// Upper-case hex.
pub fn bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// Optional bytes as upper-case hex or null.
pub fn opt_bytes<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => s.serialize_str(&hex::encode(b)),
        None => s.serialize_none(),
    }
}

/// Text when the bytes are printable UTF-8, else `hex:` and upper-case hex.
pub fn text<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(bytes) {
        Ok(t) if !t.chars().any(char::is_control) => s.serialize_str(t),
        _ => s.serialize_str(&format!("hex:{}", hex::encode(bytes))),
    }
}
