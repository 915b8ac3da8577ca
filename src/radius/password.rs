//! User-Password hiding (RFC 2865 §5.2): MD5 of the secret and the Request Authenticator, XORed
//! in 16-byte blocks, each block chained on the previous ciphertext.

use md5::{Digest, Md5};

use super::packet::{Authenticator, EncodeError};

/// The longest password RFC 2865 §5.2 allows.
pub const MAX_PASSWORD_LEN: usize = 128;

/// Why a hidden password cannot be revealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("hidden User-Password of {0} bytes is not a multiple of 16 between 16 and 128")]
    BadLength(usize),
}

/// Hides a password for an Access-Request with this Request Authenticator.
pub fn hide(
    password: &[u8],
    secret: &[u8],
    authenticator: &Authenticator,
) -> Result<Vec<u8>, EncodeError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(EncodeError::PasswordTooLong(password.len()));
    }
    // An empty password still takes one block of padding.
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut out = password.to_vec();
    out.resize(padded_len, 0);
    let mut chain: [u8; 16] = *authenticator;
    for block in out.chunks_mut(16) {
        let key = block_key(secret, &chain);
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        chain.copy_from_slice(block);
    }
    Ok(out)
}

/// Reveals a hidden password, dropping the NUL padding.
pub fn reveal(
    hidden: &[u8],
    secret: &[u8],
    authenticator: &Authenticator,
) -> Result<Vec<u8>, PasswordError> {
    if hidden.is_empty() || hidden.len() % 16 != 0 || hidden.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::BadLength(hidden.len()));
    }
    let mut out = Vec::with_capacity(hidden.len());
    let mut chain: &[u8] = authenticator;
    for block in hidden.chunks(16) {
        let key = block_key(secret, chain);
        out.extend(block.iter().zip(key).map(|(c, k)| c ^ k));
        chain = block;
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// MD5(secret + previous block), the key stream for one block.
fn block_key(secret: &[u8], previous: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(secret);
    md5.update(previous);
    md5.finalize().into()
}
