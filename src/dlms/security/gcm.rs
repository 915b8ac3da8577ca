//! AES-GCM-128 protection of APDUs and the HLS-GMAC proof (Green Book, security suite 0).
//!
//! IV = system title (8) || invocation counter (u32 BE). The tag is GCM's tag cut to 12 bytes.
//! Authenticated and encrypted: AAD = SC || AK. Authenticated only: AAD = SC || AK || plaintext,
//! nothing encrypted. Encrypted only: no tag.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aes::Aes128;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};
use serde::Serialize;

use super::{Keys, SecurityControl, SecurityError, SystemTitle};

/// AES-128-GCM with a 96-bit IV and a 96-bit tag.
type Gcm = AesGcm<Aes128, U12, U12>;

/// Bytes of the truncated authentication tag.
pub const TAG_LEN: usize = 12;
/// Bytes of the security header: SC and the invocation counter.
const HEADER_LEN: usize = 5;
/// Bytes of an HLS-GMAC proof: SC, invocation counter, tag.
pub const HLS_GMAC_PROOF_LEN: usize = HEADER_LEN + TAG_LEN;

/// What unprotecting yields: the security header and the plain APDU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unprotected {
    pub sc: SecurityControl,
    pub invocation_counter: u32,
    #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
    pub plaintext: Vec<u8>,
}

/// Ciphered content split into its security header and payload, not yet authenticated.
///
/// Parsing first lets the caller pick the key (broadcast flag) and reject an old counter before
/// spending any AES work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipheredContent<'a> {
    pub sc: SecurityControl,
    pub invocation_counter: u32,
    /// Ciphertext (or plaintext when authenticated only) followed by the tag if authenticated.
    pub payload: &'a [u8],
}

impl<'a> CipheredContent<'a> {
    /// Splits `SC || IC || payload`, checking the suite and that a tag fits when one is expected.
    pub fn parse(content: &'a [u8]) -> Result<Self, SecurityError> {
        let Some((&sc, rest)) = content.split_first() else {
            return Err(SecurityError::Truncated {
                needed: HEADER_LEN,
                got: 0,
            });
        };
        let sc = SecurityControl(sc);
        sc.check_usable()?;
        let needed = HEADER_LEN + if sc.authenticated() { TAG_LEN } else { 0 };
        if content.len() < needed {
            return Err(SecurityError::Truncated {
                needed,
                got: content.len(),
            });
        }
        let (ic, payload) = rest.split_at(4);
        let invocation_counter = u32::from_be_bytes([ic[0], ic[1], ic[2], ic[3]]);
        Ok(CipheredContent {
            sc,
            invocation_counter,
            payload,
        })
    }

    /// Authenticates and deciphers with the sender's system title.
    pub fn open(
        &self,
        system_title: &SystemTitle,
        keys: &Keys,
    ) -> Result<Unprotected, SecurityError> {
        // Checked again because the fields are public and may not come from `parse`.
        self.sc.check_usable()?;
        let tag_len = if self.sc.authenticated() { TAG_LEN } else { 0 };
        let body_len = self
            .payload
            .len()
            .checked_sub(tag_len)
            .ok_or(SecurityError::Truncated {
                needed: HEADER_LEN + tag_len,
                got: HEADER_LEN + self.payload.len(),
            })?;
        let (body, tag) = self.payload.split_at(body_len);
        let mut plaintext = body.to_vec();
        decipher(
            self.sc,
            self.invocation_counter,
            system_title,
            keys,
            &mut plaintext,
            tag,
        )?;
        Ok(Unprotected {
            sc: self.sc,
            invocation_counter: self.invocation_counter,
            plaintext,
        })
    }
}

/// Authenticates (against `tag`, empty when not authenticated) and deciphers `body` in place.
fn decipher(
    sc: SecurityControl,
    invocation_counter: u32,
    system_title: &SystemTitle,
    keys: &Keys,
    body: &mut [u8],
    tag: &[u8],
) -> Result<(), SecurityError> {
    let gcm = Gcm::new(GenericArray::from_slice(&keys.ek));
    let iv = iv(system_title, invocation_counter);
    let result = match (sc.authenticated(), sc.encrypted()) {
        (true, true) => gcm.decrypt_in_place_detached(
            &iv,
            &aad(sc, keys, &[]),
            body,
            GenericArray::from_slice(tag),
        ),
        (true, false) => gcm.decrypt_in_place_detached(
            &iv,
            &aad(sc, keys, body),
            &mut [],
            GenericArray::from_slice(tag),
        ),
        // GCM's keystream is its own inverse: "encrypting" the ciphertext deciphers it.
        (false, _) => {
            return gcm
                .encrypt_in_place_detached(&iv, &[], body)
                .map(drop)
                .map_err(|_| SecurityError::TooLong { len: body.len() });
        }
    };
    result.map_err(|_| SecurityError::AuthenticationFailed)
}

/// Protects `plaintext`, returning the ciphered content `SC || IC || ciphertext || tag`.
pub fn protect(
    sc: SecurityControl,
    system_title: &SystemTitle,
    invocation_counter: u32,
    keys: &Keys,
    plaintext: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    sc.check_usable()?;
    let gcm = Gcm::new(GenericArray::from_slice(&keys.ek));
    let iv = iv(system_title, invocation_counter);
    let too_long = |_| SecurityError::TooLong {
        len: plaintext.len(),
    };

    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(sc.0);
    out.extend_from_slice(&invocation_counter.to_be_bytes());
    out.extend_from_slice(plaintext);
    let body = &mut out[HEADER_LEN..];
    match (sc.authenticated(), sc.encrypted()) {
        (true, true) => {
            let tag = gcm
                .encrypt_in_place_detached(&iv, &aad(sc, keys, &[]), body)
                .map_err(too_long)?;
            out.extend_from_slice(&tag);
        }
        (true, false) => {
            let tag = gcm
                .encrypt_in_place_detached(&iv, &aad(sc, keys, plaintext), &mut [])
                .map_err(too_long)?;
            out.extend_from_slice(&tag);
        }
        _ => {
            gcm.encrypt_in_place_detached(&iv, &[], body)
                .map_err(too_long)?;
        }
    }
    Ok(out)
}

/// Authenticates and deciphers ciphered content `SC || IC || ciphertext || tag`.
pub fn unprotect(
    system_title: &SystemTitle,
    keys: &Keys,
    content: &[u8],
) -> Result<Unprotected, SecurityError> {
    CipheredContent::parse(content)?.open(system_title, keys)
}

/// [`unprotect`] in the content's own buffer: the plaintext is deciphered where the ciphertext
/// lies and the buffer handed back as it, so nothing is copied but the header shift.
pub fn unprotect_in_place(
    system_title: &SystemTitle,
    keys: &Keys,
    mut content: Vec<u8>,
) -> Result<Unprotected, SecurityError> {
    let CipheredContent {
        sc,
        invocation_counter,
        payload,
    } = CipheredContent::parse(&content)?;
    // `parse` checked that the header and, when authenticated, the tag are there.
    let tag_len = if sc.authenticated() { TAG_LEN } else { 0 };
    let body_end = HEADER_LEN + payload.len() - tag_len;
    let (head, tag) = content.split_at_mut(body_end);
    decipher(
        sc,
        invocation_counter,
        system_title,
        keys,
        &mut head[HEADER_LEN..],
        tag,
    )?;
    content.truncate(body_end);
    content.drain(..HEADER_LEN);
    Ok(Unprotected {
        sc,
        invocation_counter,
        plaintext: content,
    })
}

/// The HLS-GMAC proof f(challenge) = `10 || IC || GMAC(AAD = 10 || AK || challenge)`, made with
/// the prover's own system title and invocation counter.
pub fn hls_gmac_proof(
    challenge: &[u8],
    system_title: &SystemTitle,
    invocation_counter: u32,
    keys: &Keys,
) -> Vec<u8> {
    let sc = SecurityControl::HLS_GMAC;
    let gcm = Gcm::new(GenericArray::from_slice(&keys.ek));
    let tag = gcm
        .encrypt_in_place_detached(
            &iv(system_title, invocation_counter),
            &aad(sc, keys, challenge),
            &mut [],
        )
        // GCM refuses only AAD of 2^61 bytes or more, which no slice in memory reaches.
        .expect("a challenge below the 2^61-byte GCM limit");
    let mut out = Vec::with_capacity(HLS_GMAC_PROOF_LEN);
    out.push(sc.0);
    out.extend_from_slice(&invocation_counter.to_be_bytes());
    out.extend_from_slice(&tag);
    out
}

/// Checks a peer's HLS-GMAC proof of `challenge` (the challenge this side sent) against the
/// peer's system title; returns the peer's invocation counter for the replay guard.
pub fn verify_hls_gmac(
    proof: &[u8],
    challenge: &[u8],
    system_title: &SystemTitle,
    keys: &Keys,
) -> Result<u32, SecurityError> {
    if proof.len() < HLS_GMAC_PROOF_LEN {
        return Err(SecurityError::Truncated {
            needed: HLS_GMAC_PROOF_LEN,
            got: proof.len(),
        });
    }
    if proof.len() > HLS_GMAC_PROOF_LEN {
        return Err(SecurityError::WrongLength {
            what: "HLS-GMAC proof",
            expected: HLS_GMAC_PROOF_LEN,
            got: proof.len(),
        });
    }
    let sc = SecurityControl(proof[0]);
    if sc.suite() != 0 {
        return Err(SecurityError::UnsupportedSuite(sc.suite()));
    }
    if sc != SecurityControl::HLS_GMAC {
        return Err(SecurityError::UnsupportedSecurityControl(sc.0));
    }
    let invocation_counter = u32::from_be_bytes([proof[1], proof[2], proof[3], proof[4]]);
    let gcm = Gcm::new(GenericArray::from_slice(&keys.ek));
    gcm.decrypt_in_place_detached(
        &iv(system_title, invocation_counter),
        &aad(sc, keys, challenge),
        &mut [],
        GenericArray::from_slice(&proof[HEADER_LEN..]),
    )
    .map_err(|_| SecurityError::AuthenticationFailed)?;
    Ok(invocation_counter)
}

fn iv(system_title: &SystemTitle, invocation_counter: u32) -> GenericArray<u8, U12> {
    let mut iv = GenericArray::default();
    iv[..8].copy_from_slice(&system_title.0);
    iv[8..].copy_from_slice(&invocation_counter.to_be_bytes());
    iv
}

/// SC || AK || extra (the plaintext when authenticated only, the challenge for HLS-GMAC).
fn aad(sc: SecurityControl, keys: &Keys, extra: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + keys.ak.len() + extra.len());
    aad.push(sc.0);
    aad.extend_from_slice(&keys.ak);
    aad.extend_from_slice(extra);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::codec::hex;
    use proptest::prelude::*;

    fn h(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    /// The Green Book example keys, used by every public vector below.
    fn green_book_keys() -> Keys {
        Keys::from_hex(
            "000102030405060708090A0B0C0D0E0F",
            "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
        )
        .unwrap()
    }

    fn server_title() -> SystemTitle {
        SystemTitle::from_hex("4D4D4D0000BC614E").unwrap()
    }

    /// Every public vector below uses this invocation counter and the server system title.
    const IC: u32 = 0x0123_4567;

    /// (SC, plaintext, ciphered content) in hex: each drives both protect and unprotect.
    const VECTORS: [(u8, &str, &str); 4] = [
        // Green Book Table 40 glo-get-request, authenticated only (also Connexo
        // SecurityContextTest.java `testDecryptA`): C8 1E || content.
        (
            0x10,
            "C0010000080000010000FF0200",
            "1001234567C0010000080000010000FF020006725D910F9221D263877516",
        ),
        // Green Book Table 40, encrypted only; openmuc jDLMS CipheringTest.java
        // test_enrcypted_apdu: C8 12 || content.
        (
            0x20,
            "C0010000080000010000FF0200",
            "2001234567411312FF935A47566827C467BC",
        ),
        // Green Book Table 40, authenticated and encrypted; jDLMS CipheringTest.java
        // test_authenticated_and_enrcypted_apdu, u9n dlms-cosem tests/test_security.py:
        // C8 1E || content.
        (
            0x30,
            "C0010000080000010000FF0200",
            "3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B",
        ),
        // Green Book ciphered AARQ: the glo-initiateRequest in user-information (`BE 34 04 32
        // 21 30` then this); jDLMS CipheringTest.java testCipheringExampleFromStandard.
        (
            0x30,
            "01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0",
            "3001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD5\
             2211BE6841DB204D39EE6FDB8E356855",
        ),
    ];

    #[test]
    fn public_vectors_protect_and_unprotect() {
        let keys = green_book_keys();
        let st = server_title();
        for (sc, plain, content) in VECTORS {
            let (sc, plain, content) = (SecurityControl(sc), h(plain), h(content));
            assert_eq!(
                protect(sc, &st, IC, &keys, &plain).unwrap(),
                content,
                "protect {sc:?}"
            );
            let opened = unprotect(&st, &keys, &content).unwrap();
            let expected = Unprotected {
                sc,
                invocation_counter: IC,
                plaintext: plain,
            };
            assert_eq!(opened, expected);
            assert_eq!(unprotect_in_place(&st, &keys, content), Ok(expected));
        }
    }

    #[test]
    fn hls_gmac_public_vectors() {
        let keys = green_book_keys();
        // Green Book Table 43, pass 3 f(StoC) by the client; jDLMS GmacTest.java,
        // u9n dlms-cosem tests/test_security.py test_gmac.
        let client = SystemTitle::from_hex("4D4D4D0000000001").unwrap();
        let stoc = h("503677524A323146");
        let f_stoc = h("10000000011A52FE7DD3E72748973C1E28");
        assert_eq!(hls_gmac_proof(&stoc, &client, 1, &keys), f_stoc);
        assert_eq!(verify_hls_gmac(&f_stoc, &stoc, &client, &keys), Ok(1));
        // Green Book Table 43, pass 4 f(CtoS) by the server (CtoS "K56iVagY").
        let ctos = h("4B35366956616759");
        let f_ctos = h("1001234567FE1466AFB3DBCD4F9389E2B7");
        assert_eq!(
            hls_gmac_proof(&ctos, &server_title(), 0x0123_4567, &keys),
            f_ctos
        );
        assert_eq!(
            verify_hls_gmac(&f_ctos, &ctos, &server_title(), &keys),
            Ok(0x0123_4567)
        );
    }

    #[test]
    fn rejects_flipped_ciphertext_or_tag_bit() {
        let keys = green_book_keys();
        let st = server_title();
        for (sc, _, content) in VECTORS {
            if !SecurityControl(sc).authenticated() {
                continue;
            }
            let content = h(content);
            for at in [
                5,
                content.len() - TAG_LEN - 1,
                content.len() - TAG_LEN,
                content.len() - 1,
            ] {
                let mut bad = content.clone();
                bad[at] ^= 0x01;
                assert_eq!(
                    unprotect(&st, &keys, &bad),
                    Err(SecurityError::AuthenticationFailed),
                    "byte {at}"
                );
                assert_eq!(
                    unprotect_in_place(&st, &keys, bad),
                    Err(SecurityError::AuthenticationFailed),
                    "byte {at}, in place"
                );
            }
        }
    }

    #[test]
    fn rejects_wrong_key_counter_or_system_title() {
        let keys = green_book_keys();
        let content = h("3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B");
        let other = keys.with_ek([0x55; 16]);
        assert_eq!(
            unprotect(&server_title(), &other, &content),
            Err(SecurityError::AuthenticationFailed)
        );
        let mut wrong_ak = keys.clone();
        wrong_ak.ak[0] ^= 1;
        assert_eq!(
            unprotect(&server_title(), &wrong_ak, &content),
            Err(SecurityError::AuthenticationFailed)
        );
        let mut bumped = content.clone();
        bumped[4] ^= 1;
        assert_eq!(
            unprotect(&server_title(), &keys, &bumped),
            Err(SecurityError::AuthenticationFailed)
        );
        let client = SystemTitle::from_hex("4D4D4D0000000001").unwrap();
        assert_eq!(
            unprotect(&client, &keys, &content),
            Err(SecurityError::AuthenticationFailed)
        );
        // The SC byte is authenticated too: claiming "authenticated only" fails.
        let mut downgraded = content;
        downgraded[0] = 0x10;
        assert_eq!(
            unprotect(&server_title(), &keys, &downgraded),
            Err(SecurityError::AuthenticationFailed)
        );
    }

    #[test]
    fn rejects_truncated_content() {
        let keys = green_book_keys();
        let st = server_title();
        assert_eq!(
            unprotect(&st, &keys, &[]),
            Err(SecurityError::Truncated { needed: 5, got: 0 })
        );
        assert_eq!(
            unprotect(&st, &keys, &h("20012345")),
            Err(SecurityError::Truncated { needed: 5, got: 4 })
        );
        assert_eq!(
            unprotect(&st, &keys, &h("300123456700112233445566778899AA")),
            Err(SecurityError::Truncated {
                needed: 17,
                got: 16
            })
        );
        // Encrypted only with an empty body is a valid (empty) message.
        assert_eq!(
            unprotect(&st, &keys, &h("2001234567")).unwrap().plaintext,
            Vec::<u8>::new()
        );
    }

    #[test]
    fn rejects_hand_built_content_without_tag() {
        let content = CipheredContent {
            sc: SecurityControl(0x30),
            invocation_counter: 1,
            payload: &[0; 11],
        };
        let err = content.open(&server_title(), &green_book_keys());
        assert_eq!(
            err,
            Err(SecurityError::Truncated {
                needed: 17,
                got: 16
            })
        );
        let content = CipheredContent {
            sc: SecurityControl(0x80),
            ..content
        };
        let err = content.open(&server_title(), &green_book_keys());
        assert_eq!(err, Err(SecurityError::UnsupportedSecurityControl(0x80)));
    }

    #[test]
    fn rejects_unsupported_suite_and_control() {
        let keys = green_book_keys();
        let st = server_title();
        let mut content = h("3101234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B");
        assert_eq!(
            unprotect(&st, &keys, &content),
            Err(SecurityError::UnsupportedSuite(1))
        );
        content[0] = 0x00;
        assert_eq!(
            unprotect(&st, &keys, &content),
            Err(SecurityError::UnsupportedSecurityControl(0x00))
        );
        content[0] = 0xB0;
        assert_eq!(
            unprotect(&st, &keys, &content),
            Err(SecurityError::UnsupportedSecurityControl(0xB0))
        );
        assert_eq!(
            protect(SecurityControl(0x32), &st, 1, &keys, b"x"),
            Err(SecurityError::UnsupportedSuite(2))
        );
        assert_eq!(
            protect(SecurityControl(0x00), &st, 1, &keys, b"x"),
            Err(SecurityError::UnsupportedSecurityControl(0))
        );
    }

    #[test]
    fn rejects_bad_hls_gmac_proof() {
        let keys = green_book_keys();
        let client = SystemTitle::from_hex("4D4D4D0000000001").unwrap();
        let stoc = h("503677524A323146");
        let proof = h("10000000011A52FE7DD3E72748973C1E28");
        let other_challenge = h("503677524A323147");
        assert_eq!(
            verify_hls_gmac(&proof, &other_challenge, &client, &keys),
            Err(SecurityError::AuthenticationFailed)
        );
        assert_eq!(
            verify_hls_gmac(&proof, &stoc, &server_title(), &keys),
            Err(SecurityError::AuthenticationFailed)
        );
        let mut bad = proof.clone();
        bad[16] ^= 0x80;
        assert_eq!(
            verify_hls_gmac(&bad, &stoc, &client, &keys),
            Err(SecurityError::AuthenticationFailed)
        );
        assert_eq!(
            verify_hls_gmac(&proof[..16], &stoc, &client, &keys),
            Err(SecurityError::Truncated {
                needed: 17,
                got: 16
            })
        );
        let mut long = proof.clone();
        long.push(0);
        assert!(matches!(
            verify_hls_gmac(&long, &stoc, &client, &keys),
            Err(SecurityError::WrongLength { .. })
        ));
        let mut sc = proof.clone();
        sc[0] = 0x30;
        assert_eq!(
            verify_hls_gmac(&sc, &stoc, &client, &keys),
            Err(SecurityError::UnsupportedSecurityControl(0x30))
        );
        sc[0] = 0x11;
        assert_eq!(
            verify_hls_gmac(&sc, &stoc, &client, &keys),
            Err(SecurityError::UnsupportedSuite(1))
        );
    }

    #[test]
    fn unprotected_serializes_readably() {
        let opened = unprotect(&server_title(), &green_book_keys(), &h(VECTORS[2].2)).unwrap();
        let json = serde_json::to_value(&opened).unwrap();
        assert_eq!(json["invocation_counter"], 0x0123_4567);
        assert_eq!(json["plaintext"], "C0010000080000010000FF0200");
        assert_eq!(json["sc"]["encrypted"], true);
    }

    fn any_keys() -> impl Strategy<Value = Keys> {
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(ek, ak)| Keys::new(ek, ak))
    }

    proptest! {
        #[test]
        fn can_round_trip_protect_unprotect(
            mode in prop::sample::select(vec![0x10u8, 0x20, 0x30, 0x50, 0x60, 0x70]),
            st in any::<[u8; 8]>(),
            ic in any::<u32>(),
            keys in any_keys(),
            plaintext in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let sc = SecurityControl(mode);
            let st = SystemTitle(st);
            let content = protect(sc, &st, ic, &keys, &plaintext).unwrap();
            let tag = if sc.authenticated() { TAG_LEN } else { 0 };
            prop_assert_eq!(content.len(), HEADER_LEN + plaintext.len() + tag);
            let opened = unprotect(&st, &keys, &content).unwrap();
            prop_assert_eq!(&unprotect_in_place(&st, &keys, content).unwrap(), &opened);
            prop_assert_eq!(opened, Unprotected { sc, invocation_counter: ic, plaintext });
        }

        #[test]
        fn unprotect_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..80),
            keys in any_keys(),
        ) {
            let copied = unprotect(&server_title(), &keys, &bytes);
            prop_assert_eq!(unprotect_in_place(&server_title(), &keys, bytes), copied);
        }

        #[test]
        fn verify_hls_gmac_never_panics(proof in prop::collection::vec(any::<u8>(), 0..24)) {
            let _ = verify_hls_gmac(&proof, b"challenge", &server_title(), &green_book_keys());
        }

        #[test]
        fn hls_gmac_round_trips(
            challenge in prop::collection::vec(any::<u8>(), 0..64),
            ic in any::<u32>(),
            keys in any_keys(),
        ) {
            let proof = hls_gmac_proof(&challenge, &server_title(), ic, &keys);
            prop_assert_eq!(proof.len(), HLS_GMAC_PROOF_LEN);
            prop_assert_eq!(verify_hls_gmac(&proof, &challenge, &server_title(), &keys), Ok(ic));
        }
    }
}
