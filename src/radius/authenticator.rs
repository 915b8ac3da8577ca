//! The packet authenticators: Response Authenticator (RFC 2865 §3), Accounting-Request
//! Authenticator (RFC 2866 §3) and Message-Authenticator (RFC 3579 §3.2, HMAC-MD5).
//!
//! Signing works on a [`Packet`] and returns its wire bytes; verifying works on received bytes,
//! which must already have passed [`PacketView::new_checked`]. Comparisons are constant-time.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};

use super::dictionary::AttributeType;
use super::packet::{
    field, Attribute, Authenticator, EncodeError, Packet, PacketView, AUTHENTICATOR_LEN,
};

/// Why a received packet is not authentic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthError {
    #[error("the Response Authenticator does not match: wrong shared secret or forged answer")]
    BadResponseAuthenticator,
    #[error("the Accounting-Request Authenticator does not match: wrong shared secret")]
    BadRequestAuthenticator,
    #[error("the Message-Authenticator does not match: wrong shared secret or altered packet")]
    BadMessageAuthenticator,
    #[error("the Message-Authenticator is required and missing")]
    MissingMessageAuthenticator,
    #[error("the Message-Authenticator attribute is not 16 bytes long")]
    MalformedMessageAuthenticator,
}

/// Encodes an Access-Request whose `authenticator` holds the random Request Authenticator;
/// with `message_authenticator`, a Message-Authenticator goes first (the BlastRADIUS advice).
pub fn sign_access_request(
    packet: &Packet,
    secret: &[u8],
    message_authenticator: bool,
) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = encode_with_ma(packet, message_authenticator)?;
    if message_authenticator {
        fill_message_authenticator(&mut bytes, secret);
    }
    Ok(bytes)
}

/// Encodes an Accounting-Request: the authenticator is MD5 over the packet with a zero
/// authenticator, followed by the secret.
pub fn sign_accounting_request(packet: &Packet, secret: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = encode_with_ma(packet, false)?;
    bytes[field::AUTHENTICATOR].fill(0);
    let digest = md5_of(&[&bytes, secret]);
    bytes[field::AUTHENTICATOR].copy_from_slice(&digest);
    Ok(bytes)
}

/// Encodes a response to the request whose authenticator is `request`: the Message-Authenticator
/// (if asked for) first, then the Response Authenticator over the result.
pub fn sign_response(
    packet: &Packet,
    request: &Authenticator,
    secret: &[u8],
    message_authenticator: bool,
) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = encode_with_ma(packet, message_authenticator)?;
    bytes[field::AUTHENTICATOR].copy_from_slice(request);
    if message_authenticator {
        fill_message_authenticator(&mut bytes, secret);
    }
    let digest = md5_of(&[&bytes, secret]);
    bytes[field::AUTHENTICATOR].copy_from_slice(&digest);
    Ok(bytes)
}

/// Checks a response against the authenticator of the request it answers, and its
/// Message-Authenticator when present or `require_ma`.
pub fn verify_response(
    view: &PacketView<&[u8]>,
    request: &Authenticator,
    secret: &[u8],
    require_ma: bool,
) -> Result<(), AuthError> {
    let mut bytes = view.bytes().to_vec();
    bytes[field::AUTHENTICATOR].copy_from_slice(request);
    let expected = md5_of(&[&bytes, secret]);
    if !constant_time_eq(&expected, &view.authenticator()) {
        return Err(AuthError::BadResponseAuthenticator);
    }
    verify_ma_in(&mut bytes, view, secret, require_ma)
}

/// Checks an Accounting-Request's authenticator (and Message-Authenticator if present).
pub fn verify_accounting_request(view: &PacketView<&[u8]>, secret: &[u8]) -> Result<(), AuthError> {
    let mut bytes = view.bytes().to_vec();
    bytes[field::AUTHENTICATOR].fill(0);
    let expected = md5_of(&[&bytes, secret]);
    if !constant_time_eq(&expected, &view.authenticator()) {
        return Err(AuthError::BadRequestAuthenticator);
    }
    bytes[field::AUTHENTICATOR].copy_from_slice(&view.authenticator());
    verify_ma_in(&mut bytes, view, secret, false)
}

/// Checks an Access-Request's Message-Authenticator; the only integrity check an Access-Request
/// has (its authenticator is random). Returns whether one was present.
pub fn verify_access_request(
    view: &PacketView<&[u8]>,
    secret: &[u8],
    require_ma: bool,
) -> Result<bool, AuthError> {
    let mut bytes = view.bytes().to_vec();
    let present = view.find(AttributeType::MessageAuthenticator).is_some();
    verify_ma_in(&mut bytes, view, secret, require_ma)?;
    Ok(present)
}

/// Verifies the Message-Authenticator over `bytes`, whose authenticator field the caller has
/// set to what RFC 3579 says the HMAC covers.
fn verify_ma_in(
    bytes: &mut [u8],
    view: &PacketView<&[u8]>,
    secret: &[u8],
    require: bool,
) -> Result<(), AuthError> {
    let Some((offset, value)) = view.find(AttributeType::MessageAuthenticator) else {
        return match require {
            true => Err(AuthError::MissingMessageAuthenticator),
            false => Ok(()),
        };
    };
    if value.len() != AUTHENTICATOR_LEN {
        return Err(AuthError::MalformedMessageAuthenticator);
    }
    let received: [u8; AUTHENTICATOR_LEN] = value.try_into().expect("length checked");
    let value_at = offset + 2..offset + 2 + AUTHENTICATOR_LEN;
    bytes[value_at].fill(0);
    match constant_time_eq(&hmac_md5(secret, bytes), &received) {
        true => Ok(()),
        false => Err(AuthError::BadMessageAuthenticator),
    }
}

/// Encodes the packet, with a zeroed Message-Authenticator first when asked and none is there.
fn encode_with_ma(packet: &Packet, message_authenticator: bool) -> Result<Vec<u8>, EncodeError> {
    let has_ma = packet
        .attributes
        .iter()
        .any(|a| a.kind() == AttributeType::MessageAuthenticator);
    if !message_authenticator || has_ma {
        return packet.to_bytes();
    }
    let mut with_ma = packet.clone();
    with_ma.attributes.insert(
        0,
        Attribute::octets(AttributeType::MessageAuthenticator, [0; AUTHENTICATOR_LEN]),
    );
    with_ma.to_bytes()
}

/// Computes and writes the Message-Authenticator over the bytes as they stand.
fn fill_message_authenticator(bytes: &mut [u8], secret: &[u8]) {
    let view = PacketView::new_checked(&*bytes).expect("encoded by this module");
    let (offset, _) = view
        .find(AttributeType::MessageAuthenticator)
        .expect("inserted by encode_with_ma");
    let value_at = offset + 2..offset + 2 + AUTHENTICATOR_LEN;
    bytes[value_at.clone()].fill(0);
    let mac = hmac_md5(secret, bytes);
    bytes[value_at].copy_from_slice(&mac);
}

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    md5.finalize().into()
}

fn hmac_md5(secret: &[u8], bytes: &[u8]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any size");
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

fn constant_time_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
