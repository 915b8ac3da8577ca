//! Wire framing of ciphered APDUs: service-specific glo-/ded- APDUs (`tag, length, content`) and
//! general-glo-/general-ded-ciphering (`tag, system title, content`), where content is
//! `SC || IC || ciphertext || tag`.
//!
//! Lengths must use the shortest form [`put_length`] writes, so that decoding then encoding
//! reproduces the input bytes.

use serde::{Serialize, Serializer};

use super::{
    protect, unprotect, unprotect_in_place, Keys, SecurityControl, SecurityError, SystemTitle,
    Unprotected,
};
use crate::dlms::codec::{
    put_length, put_length_prefixed, Codec, DecodeError, DecodeResult, Reader,
};

/// general-glo-ciphering: ciphered with the global key.
pub const GENERAL_GLO_CIPHERING: u8 = 0xDB;
/// general-ded-ciphering: ciphered with the dedicated key.
pub const GENERAL_DED_CIPHERING: u8 = 0xDC;

/// Which block-cipher key protects an APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CipheringKey {
    /// The global unicast (or broadcast) encryption key.
    Global,
    /// The dedicated key carried in the InitiateRequest of this association.
    Dedicated,
}

/// (plain tag, glo- tag, ded- tag, glo- name, ded- name), from the xDLMS-APDU ASN.1 of the Green
/// Book (the same table is in jDLMS asn1/cosem/cosem.asn and u9n dlms-cosem).
const CIPHERED_TAGS: [(u8, u8, u8, &str, &str); 16] = [
    (
        0x01,
        0x21,
        0x41,
        "glo-initiateRequest",
        "ded-initiateRequest",
    ),
    (0x05, 0x25, 0x45, "glo-readRequest", "ded-readRequest"),
    (0x06, 0x26, 0x46, "glo-writeRequest", "ded-writeRequest"),
    (
        0x08,
        0x28,
        0x48,
        "glo-initiateResponse",
        "ded-initiateResponse",
    ),
    (0x0C, 0x2C, 0x4C, "glo-readResponse", "ded-readResponse"),
    (0x0D, 0x2D, 0x4D, "glo-writeResponse", "ded-writeResponse"),
    (
        0x0E,
        0x2E,
        0x4E,
        "glo-confirmedServiceError",
        "ded-confirmedServiceError",
    ),
    (
        0x16,
        0x36,
        0x56,
        "glo-unconfirmedWriteRequest",
        "ded-unconfirmedWriteRequest",
    ),
    (
        0x18,
        0x38,
        0x58,
        "glo-informationReportRequest",
        "ded-informationReportRequest",
    ),
    (0xC0, 0xC8, 0xD0, "glo-get-request", "ded-get-request"),
    (0xC1, 0xC9, 0xD1, "glo-set-request", "ded-set-request"),
    (
        0xC2,
        0xCA,
        0xD2,
        "glo-event-notification-request",
        "ded-event-notification-request",
    ),
    (0xC3, 0xCB, 0xD3, "glo-action-request", "ded-action-request"),
    (0xC4, 0xCC, 0xD4, "glo-get-response", "ded-get-response"),
    (0xC5, 0xCD, 0xD5, "glo-set-response", "ded-set-response"),
    (
        0xC7,
        0xCF,
        0xD7,
        "glo-action-response",
        "ded-action-response",
    ),
];

/// The glo- tag for a plain APDU tag (C0 -> C8, 01 -> 21, ...).
pub fn glo_tag_for(plain: u8) -> Option<u8> {
    CIPHERED_TAGS.iter().find(|t| t.0 == plain).map(|t| t.1)
}

/// The ded- tag for a plain APDU tag (C0 -> D0, 01 -> 41, ...).
pub fn ded_tag_for(plain: u8) -> Option<u8> {
    CIPHERED_TAGS.iter().find(|t| t.0 == plain).map(|t| t.2)
}

/// The plain APDU tag inside a glo- or ded- APDU (C8 -> C0, D0 -> C0, 21 -> 01, ...).
pub fn plain_tag_for(ciphered: u8) -> Option<u8> {
    lookup(ciphered).map(|(plain, _, _)| plain)
}

/// The standard name of a glo- or ded- APDU tag.
pub fn ciphered_tag_name(ciphered: u8) -> Option<&'static str> {
    lookup(ciphered).map(|(_, _, name)| name)
}

fn lookup(ciphered: u8) -> Option<(u8, CipheringKey, &'static str)> {
    CIPHERED_TAGS
        .iter()
        .find_map(|&(plain, glo, ded, glo_name, ded_name)| {
            if ciphered == glo {
                Some((plain, CipheringKey::Global, glo_name))
            } else if ciphered == ded {
                Some((plain, CipheringKey::Dedicated, ded_name))
            } else {
                None
            }
        })
}

fn ciphered_tag_for(key: CipheringKey, plain: u8) -> Option<u8> {
    match key {
        CipheringKey::Global => glo_tag_for(plain),
        CipheringKey::Dedicated => ded_tag_for(plain),
    }
}

/// A service-specific ciphered APDU: `tag, length, SC || IC || ciphertext || tag`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GloCiphered {
    #[serde(serialize_with = "serialize_tag")]
    pub tag: u8,
    #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
    pub content: Vec<u8>,
}

impl GloCiphered {
    /// Protects a plain APDU, picking the glo- or ded- tag from its first byte.
    pub fn seal(
        key: CipheringKey,
        plain_apdu: &[u8],
        sc: SecurityControl,
        system_title: &SystemTitle,
        invocation_counter: u32,
        keys: &Keys,
    ) -> Result<Self, SecurityError> {
        let &plain = plain_apdu
            .first()
            .ok_or(SecurityError::Truncated { needed: 1, got: 0 })?;
        let tag = ciphered_tag_for(key, plain).ok_or(SecurityError::NotCiphered(plain))?;
        let content = protect(sc, system_title, invocation_counter, keys, plain_apdu)?;
        Ok(GloCiphered { tag, content })
    }

    /// Authenticates and deciphers with the sender's system title (known from the association).
    ///
    /// The outer tag is not authenticated: the inner APDU says what the message really is.
    pub fn open(
        &self,
        system_title: &SystemTitle,
        keys: &Keys,
    ) -> Result<Unprotected, SecurityError> {
        if lookup(self.tag).is_none() {
            return Err(SecurityError::NotCiphered(self.tag));
        }
        unprotect(system_title, keys, &self.content)
    }

    /// [`open`](Self::open), deciphering the content in its own buffer instead of a copy.
    pub fn open_in_place(
        self,
        system_title: &SystemTitle,
        keys: &Keys,
    ) -> Result<Unprotected, SecurityError> {
        if lookup(self.tag).is_none() {
            return Err(SecurityError::NotCiphered(self.tag));
        }
        unprotect_in_place(system_title, keys, self.content)
    }

    /// Global or dedicated key, by the tag.
    pub fn key(&self) -> Option<CipheringKey> {
        lookup(self.tag).map(|(_, key, _)| key)
    }

    /// The plain APDU tag this one stands for.
    pub fn plain_tag(&self) -> Option<u8> {
        plain_tag_for(self.tag)
    }

    /// The security control byte, if the content has one.
    pub fn security_control(&self) -> Option<SecurityControl> {
        self.content.first().copied().map(SecurityControl)
    }
}

impl Codec for GloCiphered {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag);
        put_length_prefixed(out, &self.content);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let at = r.offset();
        let tag = r.u8("glo- or ded- APDU tag")?;
        if lookup(tag).is_none() {
            return Err(DecodeError {
                offset: at,
                message: format!("expected a glo- or ded- ciphered APDU tag, found 0x{tag:02X}"),
            });
        }
        let content = shortest_length_prefixed(r, "ciphered content")?.to_vec();
        Ok(GloCiphered { tag, content })
    }
}

/// general-glo-ciphering (0xDB) or general-ded-ciphering (0xDC):
/// `tag, system title (length-prefixed), content (length-prefixed)`.
///
/// The system title is kept as sent, whatever its length, so the frame re-encodes exactly;
/// [`open`](Self::open) needs it to be 8 bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneralGloCiphering {
    pub key: CipheringKey,
    #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
    pub system_title: Vec<u8>,
    #[serde(serialize_with = "crate::dlms::serde_hex::bytes")]
    pub content: Vec<u8>,
}

impl GeneralGloCiphering {
    /// Protects any plain APDU under the sender's system title.
    pub fn seal(
        key: CipheringKey,
        plain_apdu: &[u8],
        sc: SecurityControl,
        system_title: &SystemTitle,
        invocation_counter: u32,
        keys: &Keys,
    ) -> Result<Self, SecurityError> {
        let content = protect(sc, system_title, invocation_counter, keys, plain_apdu)?;
        Ok(GeneralGloCiphering {
            key,
            system_title: system_title.0.to_vec(),
            content,
        })
    }

    /// Authenticates and deciphers with the system title the frame carries.
    pub fn open(&self, keys: &Keys) -> Result<Unprotected, SecurityError> {
        unprotect(
            &SystemTitle::from_slice(&self.system_title)?,
            keys,
            &self.content,
        )
    }

    pub fn tag(&self) -> u8 {
        match self.key {
            CipheringKey::Global => GENERAL_GLO_CIPHERING,
            CipheringKey::Dedicated => GENERAL_DED_CIPHERING,
        }
    }
}

impl Codec for GeneralGloCiphering {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        put_length_prefixed(out, &self.system_title);
        put_length_prefixed(out, &self.content);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let at = r.offset();
        let key = match r.u8("general-glo-ciphering tag")? {
            GENERAL_GLO_CIPHERING => CipheringKey::Global,
            GENERAL_DED_CIPHERING => CipheringKey::Dedicated,
            other => {
                return Err(DecodeError {
                    offset: at,
                    message: format!(
                        "expected general-glo-ciphering (0xDB) or general-ded-ciphering (0xDC), \
                         found 0x{other:02X}"
                    ),
                })
            }
        };
        let system_title = shortest_length_prefixed(r, "system title")?.to_vec();
        let content = shortest_length_prefixed(r, "ciphered content")?.to_vec();
        Ok(GeneralGloCiphering {
            key,
            system_title,
            content,
        })
    }
}

/// A length-prefixed byte string whose length uses the form [`put_length`] writes, so that
/// re-encoding gives back the same bytes.
pub(crate) fn shortest_length_prefixed<'a>(
    r: &mut Reader<'a>,
    what: &str,
) -> DecodeResult<&'a [u8]> {
    let at = r.offset();
    let n = r.byte_length(what)?;
    let used = r.offset() - at;
    let mut canonical = Vec::with_capacity(5);
    put_length(&mut canonical, n);
    if used != canonical.len() {
        return Err(DecodeError {
            offset: at,
            message: format!(
                "expected the {}-byte length form for {what} of {n} bytes, \
                 found a {used}-byte form",
                canonical.len()
            ),
        });
    }
    r.take(n, what)
}

fn serialize_tag<S: Serializer>(tag: &u8, s: S) -> Result<S::Ok, S::Error> {
    match ciphered_tag_name(*tag) {
        Some(name) => s.serialize_str(name),
        None => s.serialize_str(&format!("0x{tag:02X}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::codec::hex;
    use proptest::prelude::*;

    fn h(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    fn green_book_keys() -> Keys {
        Keys::from_hex(
            "000102030405060708090A0B0C0D0E0F",
            "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
        )
        .unwrap()
    }

    /// (tag, content, whole frame) in hex for GloCiphered, each driving encode and decode.
    const GLO_VECTORS: [(u8, &str, &str); 2] = [
        // Green Book Table 40 glo-get-request; jDLMS CipheringTest.java, u9n dlms-cosem
        // tests/test_xdlms/test_service_specific_cipher.py.
        (
            0xC8,
            "30 01234567 411312FF935A47566827C467BC 7D825C3BE4A77C3FCC056B6B",
            "C8 1E 30 01234567 411312FF935A47566827C467BC 7D825C3BE4A77C3FCC056B6B",
        ),
        // Green Book ciphered AARQ user-information (after `BE 34 04 32`); jDLMS
        // CipheringTest.java getCipherdFromStandard.
        (
            0x21,
            "30 01234567 801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68 \
             41DB204D39EE6FDB8E356855",
            "21 30 30 01234567 801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68 \
             41DB204D39EE6FDB8E356855",
        ),
    ];

    fn glo_vectors() -> Vec<(GloCiphered, Vec<u8>)> {
        GLO_VECTORS
            .iter()
            .map(|&(tag, content, frame)| {
                (
                    GloCiphered {
                        tag,
                        content: h(content),
                    },
                    h(frame),
                )
            })
            .collect()
    }

    /// u9n dlms-cosem tests/test_gen_glo_cipher.py: a Data-Notification pushed under
    /// general-glo-ciphering, keys "MYDUMMYGLOBALKEY".
    const GENERAL_CONTENT: &str =
        "30 000001E5 025CE9D2271FD78BE8C204211A916A9D7F587E0A7A814CADEA89E959\
         3F01F92EA8C087B5BDFDEFEAB6BECF282DFE49C08F5BE6DC8400";
    const GENERAL_FRAME: &str = "DB 08 2F19229199164103 3B";

    fn general_vector() -> (GeneralGloCiphering, Vec<u8>) {
        let value = GeneralGloCiphering {
            key: CipheringKey::Global,
            system_title: h("2F19229199164103"),
            content: h(GENERAL_CONTENT),
        };
        (value, h(&format!("{GENERAL_FRAME}{GENERAL_CONTENT}")))
    }

    #[test]
    fn glo_public_vectors_encode_and_decode() {
        for (value, bytes) in glo_vectors() {
            assert_eq!(value.to_bytes(), bytes);
            assert_eq!(GloCiphered::from_bytes(&bytes).unwrap(), value);
        }
    }

    #[test]
    fn general_glo_public_vector_encodes_decodes_and_opens() {
        let (value, bytes) = general_vector();
        assert_eq!(value.to_bytes(), bytes);
        assert_eq!(GeneralGloCiphering::from_bytes(&bytes).unwrap(), value);
        let keys = Keys::from_slices(b"MYDUMMYGLOBALKEY", b"MYDUMMYGLOBALKEY").unwrap();
        let opened = value.open(&keys).unwrap();
        assert_eq!(opened.invocation_counter, 0x1E5);
        // The Data-Notification of u9n dlms-cosem tests/test_xdlms/test_data_notification.py.
        assert_eq!(
            opened.plaintext,
            h(
                "0F000001DB000922125A8591360000000049000000110000000A5A8513D014800000000D\
               0000000A0100"
            )
        );
        let resealed = GeneralGloCiphering::seal(
            CipheringKey::Global,
            &opened.plaintext,
            opened.sc,
            &SystemTitle::from_slice(&value.system_title).unwrap(),
            opened.invocation_counter,
            &keys,
        )
        .unwrap();
        assert_eq!(resealed, value);
    }

    #[test]
    fn ciphered_aarq_user_information_opens() {
        // Green Book ciphered AARQ (REFERENCE.md section 1; u9n dlms-cosem
        // tests/test_asce/test_aarq.py).
        let aarq = h(
            "6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B07608574050802\
             01AC0A80083132333435363738BE34043221303001234567801302FF8A7874133D414CED25B4\
             2534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855",
        );
        let at = aarq
            .windows(4)
            .position(|w| w == [0xBE, 0x34, 0x04, 0x32])
            .unwrap()
            + 4;
        assert_eq!(aarq[at..], glo_vectors()[1].1[..]);
        let glo = GloCiphered::from_bytes(&aarq[at..]).unwrap();
        let calling_ap_title = SystemTitle::from_slice(&aarq[17..25]).unwrap();
        assert_eq!(calling_ap_title.to_string(), "4D4D4D0000BC614E (MMM)");
        let opened = glo.open(&calling_ap_title, &green_book_keys()).unwrap();
        assert_eq!(
            opened.plaintext,
            h("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0")
        );
    }

    #[test]
    fn glo_seal_and_open_match_the_green_book() {
        let keys = green_book_keys();
        let st = SystemTitle::from_hex("4D4D4D0000BC614E").unwrap();
        let plain = h("C0010000080000010000FF0200");
        let sealed = GloCiphered::seal(
            CipheringKey::Global,
            &plain,
            SecurityControl(0x30),
            &st,
            0x0123_4567,
            &keys,
        )
        .unwrap();
        assert_eq!(sealed, glo_vectors()[0].0);
        assert_eq!(sealed.open(&st, &keys).unwrap().plaintext, plain);
        assert_eq!(
            sealed.clone().open_in_place(&st, &keys).unwrap().plaintext,
            plain
        );
        assert_eq!(sealed.key(), Some(CipheringKey::Global));
        assert_eq!(sealed.plain_tag(), Some(0xC0));
        assert_eq!(sealed.security_control(), Some(SecurityControl(0x30)));
        let ded = GloCiphered::seal(
            CipheringKey::Dedicated,
            &plain,
            SecurityControl(0x30),
            &st,
            1,
            &keys,
        )
        .unwrap();
        assert_eq!(ded.tag, 0xD0);
    }

    #[test]
    fn rejects_sealing_what_has_no_ciphered_form() {
        let keys = green_book_keys();
        let st = SystemTitle([0; 8]);
        let sc = SecurityControl(0x30);
        // Data-Notification (0x0F) and exception-response (0xD8) have no glo- form.
        for plain in [0x0F, 0xD8, 0x60] {
            assert_eq!(
                GloCiphered::seal(CipheringKey::Global, &[plain, 0], sc, &st, 1, &keys),
                Err(SecurityError::NotCiphered(plain))
            );
        }
        assert_eq!(
            GloCiphered::seal(CipheringKey::Global, &[], sc, &st, 1, &keys),
            Err(SecurityError::Truncated { needed: 1, got: 0 })
        );
        let bogus = GloCiphered {
            tag: 0xC0,
            content: vec![],
        };
        assert_eq!(
            bogus.open(&st, &keys),
            Err(SecurityError::NotCiphered(0xC0))
        );
    }

    #[test]
    fn tag_table() {
        for (plain, glo) in [
            (0xC0, 0xC8),
            (0xC1, 0xC9),
            (0xC2, 0xCA),
            (0xC3, 0xCB),
            (0xC4, 0xCC),
            (0xC5, 0xCD),
            (0xC7, 0xCF),
            (0x01, 0x21),
            (0x08, 0x28),
            (0x0E, 0x2E),
        ] {
            assert_eq!(glo_tag_for(plain), Some(glo));
            assert_eq!(plain_tag_for(glo), Some(plain));
        }
        for plain in [0x01, 0x05, 0x06, 0x08, 0x0C, 0x0D, 0x0E, 0x16, 0x18] {
            assert_eq!(ded_tag_for(plain), Some(plain + 0x40));
            assert_eq!(plain_tag_for(plain + 0x40), Some(plain));
        }
        for plain in [0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC7] {
            assert_eq!(ded_tag_for(plain), Some(plain + 0x10));
            assert_eq!(plain_tag_for(plain + 0x10), Some(plain));
        }
        assert_eq!(glo_tag_for(0xC6), None);
        assert_eq!(glo_tag_for(0x0F), None);
        assert_eq!(plain_tag_for(0xDB), None);
        assert_eq!(ciphered_tag_name(0x2E), Some("glo-confirmedServiceError"));
        assert_eq!(ciphered_tag_name(0xD7), Some("ded-action-response"));
    }

    #[test]
    fn rejects_unknown_tags() {
        let err = GloCiphered::from_bytes(&h("C0020000")).unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(err.message.contains("0xC0"), "{err}");
        let err = GeneralGloCiphering::from_bytes(&h("DD0000")).unwrap_err();
        assert!(err.message.contains("0xDD"), "{err}");
    }

    #[test]
    fn rejects_truncated_and_trailing_frames() {
        let bytes = &glo_vectors()[0].1;
        let err = GloCiphered::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        assert_eq!(err.offset, 1);
        let mut long = bytes.clone();
        long.push(0);
        assert!(GloCiphered::from_bytes(&long).is_err());
        let (_, general) = general_vector();
        assert!(GeneralGloCiphering::from_bytes(&general[..5]).is_err());
        assert!(GeneralGloCiphering::from_bytes(&general[..1]).is_err());
    }

    #[test]
    fn rejects_non_shortest_length_form() {
        let err = GloCiphered::from_bytes(&h("C88102AABB")).unwrap_err();
        assert_eq!(err.offset, 1);
        assert!(err.message.contains("1-byte length form"), "{err}");
        assert!(GeneralGloCiphering::from_bytes(&h("DB820000810100")).is_err());
    }

    #[test]
    fn long_content_uses_long_length_form() {
        let value = GloCiphered {
            tag: 0xCC,
            content: vec![0x30; 300],
        };
        let bytes = value.to_bytes();
        assert_eq!(&bytes[..4], &[0xCC, 0x82, 0x01, 0x2C]);
        assert_eq!(GloCiphered::from_bytes(&bytes).unwrap(), value);
    }

    #[test]
    fn rejects_opening_with_short_system_title() {
        let value = GeneralGloCiphering {
            key: CipheringKey::Dedicated,
            system_title: vec![],
            content: vec![0x30],
        };
        assert_eq!(value.to_bytes(), h("DC000130"));
        assert_eq!(
            value.open(&green_book_keys()),
            Err(SecurityError::WrongSystemTitleLength { got: 0 })
        );
    }

    #[test]
    fn serializes_readable_names() {
        let json = serde_json::to_value(&glo_vectors()[0].0).unwrap();
        assert_eq!(json["tag"], "glo-get-request");
        assert_eq!(
            json["content"],
            "3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"
        );
        let json = serde_json::to_value(&general_vector().0).unwrap();
        assert_eq!(json["key"], "global");
        assert_eq!(json["system_title"], "2F19229199164103");
    }

    /// A length in the 1-byte (form 0), 0x81 (1) or 0x82 (2) form, shortest or not.
    fn put_length_in_form(out: &mut Vec<u8>, form: usize, n: i64) {
        let n = n.clamp(0, [0x7F, 0xFF, 0xFFFF][form]);
        match form {
            0 => out.push(n as u8),
            1 => out.extend_from_slice(&[0x81, n as u8]),
            _ => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        }
    }

    fn ciphered_tag() -> impl Strategy<Value = u8> {
        prop::sample::select(
            CIPHERED_TAGS
                .iter()
                .flat_map(|t| [t.1, t.2])
                .collect::<Vec<_>>(),
        )
    }

    fn key() -> impl Strategy<Value = CipheringKey> {
        prop_oneof![Just(CipheringKey::Global), Just(CipheringKey::Dedicated)]
    }

    proptest! {
        #[test]
        fn can_round_trip_glo_ciphered(
            tag in ciphered_tag(),
            content in prop::collection::vec(any::<u8>(), 0..400),
        ) {
            let value = GloCiphered { tag, content };
            prop_assert_eq!(GloCiphered::from_bytes(&value.to_bytes()).unwrap(), value);
        }

        #[test]
        fn can_round_trip_general_glo_ciphering(
            key in key(),
            system_title in prop::collection::vec(any::<u8>(), 0..12),
            content in prop::collection::vec(any::<u8>(), 0..400),
        ) {
            let value = GeneralGloCiphering { key, system_title, content };
            prop_assert_eq!(GeneralGloCiphering::from_bytes(&value.to_bytes()).unwrap(), value);
        }

        #[test]
        fn glo_ciphered_from_arbitrary_bytes(
            tag in ciphered_tag(),
            form in 0..3usize,
            delta in -2i64..=2,
            body in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = vec![tag];
            put_length_in_form(&mut bytes, form, body.len() as i64 + delta);
            bytes.extend_from_slice(&body);
            if let Ok(value) = GloCiphered::from_bytes(&bytes) {
                prop_assert_eq!(value.to_bytes(), bytes);
            }
            let _ = GloCiphered::from_bytes(&body);
        }

        #[test]
        fn general_glo_ciphering_from_arbitrary_bytes(
            key in key(),
            tail in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let value = GeneralGloCiphering { key, system_title: vec![], content: vec![] };
            let mut bytes = vec![value.tag()];
            bytes.extend_from_slice(&tail);
            if let Ok(value) = GeneralGloCiphering::from_bytes(&bytes) {
                prop_assert_eq!(value.to_bytes(), bytes);
            }
            let _ = GeneralGloCiphering::from_bytes(&tail);
        }

        #[test]
        fn open_of_arbitrary_frames_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..120),
        ) {
            let keys = green_book_keys();
            if let Ok(value) = GeneralGloCiphering::from_bytes(&bytes) {
                let _ = value.open(&keys);
            }
            if let Ok(value) = GloCiphered::from_bytes(&bytes) {
                let copied = value.open(&SystemTitle([0; 8]), &keys);
                prop_assert_eq!(value.open_in_place(&SystemTitle([0; 8]), &keys), copied);
            }
        }
    }
}
