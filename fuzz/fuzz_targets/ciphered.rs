//! Raw bytes opened as ciphered content, a glo-/ded- APDU and a general-glo-ciphering APDU with
//! the Green Book keys; and sealed then opened again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reanimator::dlms::apdu::Apdu;
use reanimator::dlms::codec::Codec;
use reanimator::dlms::security::{
    protect, unprotect, CipheringKey, GeneralGloCiphering, GloCiphered, Keys, SecurityControl,
    SystemTitle, Unprotected,
};
use reanimator_fuzz::{assert_round_trip, bounded};

/// Green Book example keys and system title (REFERENCE.md §1).
const KEYS: Keys = Keys::new(
    [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
        0x0F,
    ],
    [
        0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE,
        0xDF,
    ],
);
const SYSTEM_TITLE: SystemTitle = SystemTitle([0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E]);

fuzz_target!(|input: &[u8]| {
    let len = input.len();
    if let Ok(opened) = bounded("unprotect", len, || unprotect(&SYSTEM_TITLE, &KEYS, input)) {
        check_plaintext(&opened);
    }
    if let Ok(glo) = bounded("GloCiphered", len, || GloCiphered::from_bytes(input)) {
        assert_round_trip("GloCiphered", &glo);
        if let Ok(opened) = bounded("GloCiphered::open", len, || glo.open(&SYSTEM_TITLE, &KEYS)) {
            check_plaintext(&opened);
        }
    }
    if let Ok(general) = bounded("GeneralGloCiphering", len, || {
        GeneralGloCiphering::from_bytes(input)
    }) {
        assert_round_trip("GeneralGloCiphering", &general);
        if let Ok(opened) = bounded("GeneralGloCiphering::open", len, || general.open(&KEYS)) {
            check_plaintext(&opened);
        }
    }
    seal_and_open(input);
});

/// Whatever deciphers must decode (or fail to) like any APDU off the wire.
fn check_plaintext(opened: &Unprotected) {
    let plain = &opened.plaintext;
    if let Ok(apdu) = bounded("plain Apdu", plain.len(), || Apdu::from_bytes(plain)) {
        assert_round_trip("plain Apdu", &apdu);
    }
}

/// Input: security control, invocation counter (u32 BE), plaintext. Sealing then opening gives
/// the plaintext back through both framings.
fn seal_and_open(input: &[u8]) {
    let [sc, a, b, c, d, ref plain @ ..] = *input else {
        return;
    };
    let sc = SecurityControl(sc);
    let ic = u32::from_be_bytes([a, b, c, d]);
    let Ok(content) = protect(sc, &SYSTEM_TITLE, ic, &KEYS, plain) else {
        assert!(
            sc.check_usable().is_err(),
            "protect refused a usable {sc:?}"
        );
        return;
    };
    let expected = Unprotected {
        sc,
        invocation_counter: ic,
        plaintext: plain.to_vec(),
    };
    assert_eq!(
        unprotect(&SYSTEM_TITLE, &KEYS, &content),
        Ok(expected.clone())
    );

    let general =
        GeneralGloCiphering::seal(CipheringKey::Global, plain, sc, &SYSTEM_TITLE, ic, &KEYS)
            .expect("general-glo-ciphering seals what protect does");
    let decoded =
        GeneralGloCiphering::from_bytes(&general.to_bytes()).expect("sealed frame decodes");
    assert_eq!(decoded.open(&KEYS), Ok(expected.clone()));

    if let Ok(glo) = GloCiphered::seal(CipheringKey::Dedicated, plain, sc, &SYSTEM_TITLE, ic, &KEYS)
    {
        let decoded = GloCiphered::from_bytes(&glo.to_bytes()).expect("sealed frame decodes");
        assert_eq!(decoded.open(&SYSTEM_TITLE, &KEYS), Ok(expected));
    }
}
