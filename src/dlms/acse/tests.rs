use super::*;
use crate::dlms::codec::{hex, Codec, DecodeResult};
use crate::dlms::security::{plain_tag_for, CipheringKey, GeneralGloCiphering, GloCiphered};
use crate::dlms::xdlms::{ConfirmedService, ConfirmedServiceError};
use proptest::collection::vec;
use proptest::prelude::*;

/// One ACSE (or xDLMS initiate) APDU of the vector table.
#[derive(Debug, Clone, PartialEq)]
enum Pdu {
    Aarq(Aarq),
    Aare(Aare),
    Rlrq(Rlrq),
    Rlre(Rlre),
    Initiate(InitiateRequest),
}

impl Pdu {
    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Pdu::Aarq(v) => v.to_bytes(),
            Pdu::Aare(v) => v.to_bytes(),
            Pdu::Rlrq(v) => v.to_bytes(),
            Pdu::Rlre(v) => v.to_bytes(),
            Pdu::Initiate(v) => v.to_bytes(),
        }
    }

    /// Decodes `bytes` as the same kind of APDU as `self`.
    fn decode_like(&self, bytes: &[u8]) -> DecodeResult<Pdu> {
        match self {
            Pdu::Aarq(_) => Aarq::from_bytes(bytes).map(Pdu::Aarq),
            Pdu::Aare(_) => Aare::from_bytes(bytes).map(Pdu::Aare),
            Pdu::Rlrq(_) => Rlrq::from_bytes(bytes).map(Pdu::Rlrq),
            Pdu::Rlre(_) => Rlre::from_bytes(bytes).map(Pdu::Rlre),
            Pdu::Initiate(_) => InitiateRequest::from_bytes(bytes).map(Pdu::Initiate),
        }
    }
}

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

const CIPHERED_INITIATE_REQUEST: &str = "3001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855";

fn initiate_request(conformance: u32, max_pdu: u16) -> UserInformation {
    UserInformation::InitiateRequest(InitiateRequest::new(Conformance(conformance), max_pdu))
}

fn initiate_response(conformance: u32, max_pdu: u16) -> UserInformation {
    UserInformation::InitiateResponse(InitiateResponse::new(Conformance(conformance), max_pdu))
}

/// Public vectors, each decoded and encoded byte-exact.
fn vectors() -> Vec<(&'static str, Pdu, Vec<u8>)> {
    use ApplicationContext::{LogicalName, LogicalNameCiphered};
    vec![
        (
            // REFERENCE.md §1; u9n/dlms-cosem tests/test_asce/test_aarq.py
            "AARQ, LN, no security",
            Pdu::Aarq(Aarq::new(LogicalName, initiate_request(0x00_1E1D, 0xFFFF))),
            h("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF"),
        ),
        (
            // REFERENCE.md §1; u9n/dlms-cosem tests/test_asce/test_aare.py
            "AARE accepted",
            Pdu::Aare(Aare::accepted(LogicalName, initiate_response(0x00_501F, 0x01F4))),
            h("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007"),
        ),
        (
            // REFERENCE.md §1; u9n/dlms-cosem tests/test_asce/test_aarq.py
            "AARQ with LLS",
            Pdu::Aarq(
                Aarq::new(LogicalName, initiate_request(0x00_7E1F, 1200))
                    .with_authentication(Mechanism::Low, b"12345678".to_vec()),
            ),
            h("6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738BE10040E01000000065F1F0400007E1F04B0"),
        ),
        (
            // REFERENCE.md §1; u9n/dlms-cosem tests/test_asce/test_aare.py
            "AARE with HLS-GMAC, authentication-required",
            Pdu::Aare(
                Aare::accepted(LogicalName, initiate_response(0x00_501F, 0x01F4))
                    .with_authentication(Mechanism::HighGmac, Some(b"P6wRJ21F".to_vec())),
            ),
            h("6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146BE10040E0800065F1F040000501F01F40007"),
        ),
        (
            // u9n/dlms-cosem tests/test_asce/test_aarq.py (test_encode_no_ciphering_high_security)
            "AARQ with HLS-GMAC challenge",
            Pdu::Aarq(
                Aarq::new(LogicalName, initiate_request(0x00_7E1F, 1200))
                    .with_authentication(Mechanism::HighGmac, b"K56iVagY".to_vec()),
            ),
            h("6036A1090607608574050801018A0207808B0760857405080205AC0A80084B35366956616759BE10040E01000000065F1F0400007E1F04B0"),
        ),
        (
            // u9n/dlms-cosem tests/test_asce/test_aare.py (app context name wrong)
            "AARE rejected, application context not supported",
            Pdu::Aare(Aare::rejected(
                LogicalName,
                AssociationResult::RejectedPermanent,
                ResultSourceDiagnostic::ServiceUser(
                    AcseServiceUserDiagnostic::ApplicationContextNameNotSupported,
                ),
                Some(initiate_response(0x00_501F, 0x01F4)),
            )),
            h("6129A109060760857405080101A203020101A305A103020102BE10040E0800065F1F040000501F01F40007"),
        ),
        (
            // u9n/dlms-cosem tests/test_asce/test_aare.py (incorrect dlms version)
            "AARE rejected with ConfirmedServiceError dlms-version-too-low",
            Pdu::Aare(Aare::rejected(
                LogicalName,
                AssociationResult::RejectedPermanent,
                ResultSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::NoReasonGiven),
                Some(UserInformation::ConfirmedServiceError(ConfirmedServiceError {
                    service: ConfirmedService::InitiateError,
                    error_kind: 6,
                    error_value: 1,
                })),
            )),
            h("611FA109060760857405080101A203020101A305A103020101BE0604040E010601"),
        ),
        (
            // REFERENCE.md §1; u9n/dlms-cosem tests/test_asce/test_aarq.py
            "ciphered AARQ with glo-initiateRequest",
            Pdu::Aarq(
                Aarq::new(
                    LogicalNameCiphered,
                    UserInformation::Ciphered(GloCiphered { tag: 0x21, content: h(CIPHERED_INITIATE_REQUEST) }),
                )
                .with_calling_ap_title(h("4D4D4D0000BC614E"))
                .with_authentication(Mechanism::Low, b"12345678".to_vec()),
            ),
            h("6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A80083132333435363738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"),
        ),
        (
            // REFERENCE.md §1: the decrypted user-information of the ciphered AARQ
            "InitiateRequest with dedicated key",
            Pdu::Initiate(InitiateRequest {
                dedicated_key: Some(h("00112233445566778899AABBCCDDEEFF")),
                ..InitiateRequest::new(Conformance(0x00_7E1F), 1200)
            }),
            h("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0"),
        ),
        (
            // REFERENCE.md §1; u9n/dlms-cosem tests/test_asce/test_rlrq.py
            "RLRQ normal",
            Pdu::Rlrq(Rlrq::normal()),
            h("6203800100"),
        ),
        (
            // REFERENCE.md §1; u9n/dlms-cosem tests/test_asce/test_rlre.py
            "RLRE normal",
            Pdu::Rlre(Rlre::normal()),
            h("6303800100"),
        ),
        (
            // u9n/dlms-cosem tests/test_asce/test_rlrq.py
            "RLRQ with glo-initiateRequest",
            Pdu::Rlrq(Rlrq {
                user_information: Some(UserInformation::Ciphered(GloCiphered {
                    tag: 0x21,
                    content: h(CIPHERED_INITIATE_REQUEST),
                })),
                ..Rlrq::normal()
            }),
            h("6239800100BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"),
        ),
        (
            // u9n/dlms-cosem tests/test_asce/test_rlre.py
            "RLRE with InitiateResponse",
            Pdu::Rlre(Rlre {
                user_information: Some(UserInformation::InitiateResponse(InitiateResponse {
                    negotiated_quality_of_service: Some(0),
                    ..InitiateResponse::new(Conformance(0x00_1E1D), 0x04C8)
                })),
                ..Rlre::normal()
            }),
            h("6316800100BE11040F080100065F1F0400001E1D04C80007"),
        ),
        (
            // u9n/dlms-cosem tests/test_asce/test_rlre.py
            "RLRE with glo-initiateResponse",
            Pdu::Rlre(Rlre {
                user_information: Some(UserInformation::Ciphered(GloCiphered {
                    tag: 0x28,
                    content: h("3001234567891214A0845E475714383F65BC19745CA235906525E4F3E1C893"),
                })),
                ..Rlre::normal()
            }),
            h("6328800100BE230421281F3001234567891214A0845E475714383F65BC19745CA235906525E4F3E1C893"),
        ),
    ]
}

fn vector(name: &str) -> (&'static str, Pdu, Vec<u8>) {
    vectors().into_iter().find(|v| v.0 == name).unwrap()
}

#[test]
fn can_round_trip_public_vectors() {
    for (name, value, bytes) in vectors() {
        assert_eq!(
            hex::encode(&value.to_bytes()),
            hex::encode(&bytes),
            "encode {name}"
        );
        assert_eq!(
            value.decode_like(&bytes),
            Ok(value.clone()),
            "decode {name}"
        );
    }
}

#[test]
fn ciphered_aarq_keeps_user_information_for_the_security_layer() {
    let (_, _, bytes) = vector("ciphered AARQ with glo-initiateRequest");
    let aarq = Aarq::from_bytes(&bytes).unwrap();
    let Some(UserInformation::Ciphered(GloCiphered { tag: 0x21, content })) =
        &aarq.user_information
    else {
        panic!(
            "expected glo-initiateRequest, got {:?}",
            aarq.user_information
        );
    };
    assert_eq!(content.len(), 0x30);
    // security control 0x30 (authenticated and encrypted, suite 0), invocation counter 0x01234567
    assert_eq!(&content[..5], &[0x30, 0x01, 0x23, 0x45, 0x67]);
    assert_eq!(
        aarq.calling_ap_title.as_deref(),
        Some(&h("4D4D4D0000BC614E")[..])
    );
    assert_eq!(aarq.mechanism(), Mechanism::Low);
}

#[test]
fn rejects_every_truncation_of_the_vectors() {
    for (name, value, bytes) in vectors() {
        for n in 0..bytes.len() {
            assert!(
                value.decode_like(&bytes[..n]).is_err(),
                "{name} cut to {n} bytes decoded"
            );
        }
    }
}

#[test]
fn rejects_trailing_bytes() {
    let mut bytes = h("6203800100");
    bytes.push(0);
    let err = Rlrq::from_bytes(&bytes).unwrap_err();
    assert_eq!(err.offset, 5, "{err}");
}

#[test]
fn rejects_element_longer_than_the_apdu() {
    // application-context-name claims 0x20 bytes inside a 0x1D-byte AARQ
    let err = Aarq::from_bytes(&h(
        "601DA120060760857405080101BE10040E01000000065F1F0400001E1DFFFF",
    ))
    .unwrap_err();
    assert_eq!(err.offset, 3, "{err}");
    assert!(err.message.contains("32"), "{err}");
}

#[test]
fn rejects_inner_length_longer_than_its_element() {
    // the OBJECT IDENTIFIER claims 8 bytes inside a 9-byte application-context-name
    let err = Aarq::from_bytes(&h(
        "601DA109060860857405080101BE10040E01000000065F1F0400001E1DFFFF",
    ))
    .unwrap_err();
    assert_eq!(err.offset, 5, "{err}");
    // the user-information OCTET STRING claims 0x0F bytes inside a 0x10-byte element
    let err = Aarq::from_bytes(&h(
        "601DA109060760857405080101BE10040F01000000065F1F0400001E1DFFFF",
    ))
    .unwrap_err();
    assert_eq!(err.offset, 16, "{err}");
    // the result INTEGER claims 2 bytes
    let err = Aare::from_bytes(&h("6105A203020200")).unwrap_err();
    assert_eq!(err.offset, 5, "{err}");
}

#[test]
fn rejects_inner_value_shorter_than_its_element() {
    // calling-AP-title element of 0x0B bytes around an 8-byte OCTET STRING and a stray byte
    let err = Aarq::from_bytes(&h("600DA60B04084D4D4D0000BC614E00")).unwrap_err();
    assert_eq!(err.offset, 14, "{err}");
    assert!(err.message.contains("trailing"), "{err}");
    // InitiateResponse followed by a stray byte inside the user-information
    let err = Aare::from_bytes(&h("6113BE11040F0800065F1F040000501F01F4000700")).unwrap_err();
    assert_eq!(err.offset, 20, "{err}");
}

#[test]
fn rejects_duplicate_elements() {
    let err = Rlrq::from_bytes(&h("6206800100800101")).unwrap_err();
    assert_eq!(err.offset, 5, "{err}");
    assert!(err.message.contains("reason"), "{err}");
}

#[test]
fn rejects_foreign_object_identifiers() {
    // 2.16.756.5.9.1.1 is not a DLMS-UA application context
    let err = Aarq::from_bytes(&h("600BA109060760857405090101")).unwrap_err();
    assert!(err.message.contains("application-context-name"), "{err}");
    // a mechanism name under the application-context arc
    assert!(Aarq::from_bytes(&h("60098B0760857405080101")).is_err());
}

#[test]
fn rejects_bad_optional_markers_in_initiate_request() {
    let err = InitiateRequest::from_bytes(&h("0102")).unwrap_err();
    assert_eq!(err.offset, 1, "{err}");
    assert!(err.message.contains("dedicated-key"), "{err}");
}

#[test]
fn rejects_high_tag_number_form() {
    assert!(Aarq::from_bytes(&h("60049F1F0100")).is_err());
}

/// Found by `cargo fuzz run apdu` (fuzz/seeds/apdu/crash_aare_unknown_elements_out_of_order):
/// unknown elements that arrive out of tag-number order were kept in arrival order but
/// re-encoded sorted, so decoding the re-encoding gave a different value.
#[test]
fn can_round_trip_unknown_elements_out_of_tag_number_order() {
    // [18] constructed, then [12] primitive: the reverse of tag-number order.
    let body = "B2030201008C0100";
    for bytes in [
        h(&format!("6008{body}")),
        h(&format!("6108{body}")),
        h(&format!("6208{body}")),
        h(&format!("6308{body}")),
    ] {
        let pdu = match bytes[0] {
            0x60 => Pdu::Aarq(Aarq::from_bytes(&bytes).unwrap()),
            0x61 => Pdu::Aare(Aare::from_bytes(&bytes).unwrap()),
            0x62 => Pdu::Rlrq(Rlrq::from_bytes(&bytes).unwrap()),
            _ => Pdu::Rlre(Rlre::from_bytes(&bytes).unwrap()),
        };
        let encoded = pdu.to_bytes();
        assert_eq!(hex::encode(&encoded[2..]), "8C0100B203020100");
        assert_eq!(pdu.decode_like(&encoded).unwrap(), pdu);
    }
}

#[test]
fn can_round_trip_unknown_elements_and_values() {
    let bytes = h(concat!(
        "613C",
        "A109060760857405080105", // application context 5
        "A203020103",             // result 3
        "A305A10302010F",         // service-user diagnostic 15
        "A5060404CAFEBABE",       // responding-AE-qualifier
        "A603020180",             // responding-AP-invocation-id -128
        "89076085740508020A",     // mechanism 10
        "8C0100",                 // unknown [12], primitive
        "BD024142",               // implementation-information, constructed: unknown
        "BE0604040E010602",       // ConfirmedServiceError, incompatible conformance
    ));
    let aare = Aare::from_bytes(&bytes).unwrap();
    assert_eq!(
        aare.application_context_name,
        Some(ApplicationContext::Unknown(5))
    );
    assert_eq!(aare.result, Some(AssociationResult::Unknown(3)));
    assert_eq!(
        aare.result_source_diagnostic,
        Some(ResultSourceDiagnostic::ServiceUser(
            AcseServiceUserDiagnostic::Unknown(15)
        ))
    );
    assert_eq!(aare.responding_ae_qualifier, Some(h("CAFEBABE")));
    assert_eq!(aare.responding_ap_invocation_id, Some(-128));
    assert_eq!(aare.mechanism_name, Some(Mechanism::Unknown(10)));
    assert_eq!(aare.other.len(), 2);
    let Some(UserInformation::ConfirmedServiceError(error)) = &aare.user_information else {
        panic!(
            "expected a ConfirmedServiceError, got {:?}",
            aare.user_information
        );
    };
    assert_eq!(
        error.describe(),
        "initiate-error: initiate: incompatible-conformance"
    );
    assert_eq!(hex::encode(&aare.to_bytes()), hex::encode(&bytes));
}

#[test]
fn can_round_trip_service_provider_diagnostic_and_mechanism_arc_above_127() {
    let bytes = h("6111A305A20302010289086085740508028148");
    let aare = Aare::from_bytes(&bytes).unwrap();
    assert_eq!(
        aare.result_source_diagnostic,
        Some(ResultSourceDiagnostic::ServiceProvider(
            AcseServiceProviderDiagnostic::NoCommonAcseVersion
        ))
    );
    assert_eq!(aare.mechanism_name, Some(Mechanism::Unknown(200)));
    assert_eq!(aare.to_bytes(), bytes);
}

#[test]
fn unknown_elements_are_written_in_tag_order() {
    let aarq = Aarq {
        other: vec![
            UnknownElement {
                tag: 0x9E,
                contents: vec![],
            },
            UnknownElement {
                tag: 0x8C,
                contents: vec![1],
            },
        ],
        ..Aarq::new(
            ApplicationContext::LogicalName,
            initiate_request(0x10, 0x100),
        )
    };
    let bytes = aarq.to_bytes();
    let tags: Vec<u8> = {
        let mut r = crate::dlms::codec::Reader::new(&bytes[2..]);
        std::iter::from_fn(|| super::ber::read_element(&mut r, "x").ok().map(|(t, _)| t)).collect()
    };
    // 0x9E shares tag number 30 with user-information and follows it
    assert_eq!(tags, [0xA1, 0x8C, 0xBE, 0x9E]);
}

#[test]
fn conformance_names_and_json() {
    let c = Conformance::GET | Conformance::SET | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ;
    assert!(c.contains(Conformance::GET | Conformance::SET));
    assert!(!c.contains(Conformance::ACTION));
    assert_eq!(c.names(), ["block-transfer-with-get-or-read", "get", "set"]);
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        r#"["block-transfer-with-get-or-read","get","set"]"#
    );
    assert_eq!(Conformance(0xFF_FFFF).names().len(), 24);
}

#[test]
fn aare_json_is_readable() {
    let (_, _, bytes) = vector("AARE with HLS-GMAC, authentication-required");
    let json = serde_json::to_value(Aare::from_bytes(&bytes).unwrap()).unwrap();
    assert_eq!(json["result"], "accepted");
    assert_eq!(json["mechanism_name"], "hls-gmac");
    assert_eq!(
        json["responding_authentication_value"]["char-string"],
        "503677524A323146"
    );
    assert_eq!(
        json["result_source_diagnostic"]["service-user"],
        "authentication-required"
    );
    assert_eq!(
        json["user_information"]["initiate-response"]["negotiated_conformance"][0],
        "priority-mgmt-supported"
    );
    assert_eq!(
        serde_json::to_value(Rlrq::normal()).unwrap()["reason"],
        "normal"
    );
    assert_eq!(serde_json::to_value(ReleaseResponseReason(7)).unwrap(), 7);
}

#[test]
fn describes_results_for_a_lab_engineer() {
    let (_, _, bytes) = vector("AARE with HLS-GMAC, authentication-required");
    let text = Aare::from_bytes(&bytes).unwrap().describe();
    assert!(text.starts_with("association accepted"), "{text}");
    assert!(text.contains("challenge"), "{text}");
    let refused = Aare::rejected(
        ApplicationContext::LogicalName,
        AssociationResult::RejectedPermanent,
        ResultSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationFailure),
        None,
    );
    assert!(
        refused.describe().contains("wrong password"),
        "{}",
        refused.describe()
    );
    for d in 0..=15 {
        assert!(!AcseServiceUserDiagnostic::from_u8(d).describe().is_empty());
    }
}

#[test]
fn lowest_mechanism_sends_no_authentication_elements() {
    let plain = Aarq::new(
        ApplicationContext::LogicalName,
        initiate_request(0x1E1D, 0xFFFF),
    );
    assert_eq!(
        plain
            .clone()
            .with_authentication(Mechanism::Lowest, Vec::new()),
        plain
    );
}

#[test]
fn bit_string_reports_its_bits() {
    let b = BitString::first_bit();
    assert!(b.is_set(0));
    assert!(!b.is_set(1));
    assert!(!b.is_set(8));
    assert!(!BitString {
        unused_bits: 7,
        bytes: vec![0xFF]
    }
    .is_set(1));
}

// ---- property tests ----

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn bit_string() -> impl Strategy<Value = BitString> {
    prop_oneof![
        Just(BitString {
            unused_bits: 0,
            bytes: vec![]
        }),
        (0u8..8, vec(any::<u8>(), 1..4))
            .prop_map(|(unused_bits, bytes)| BitString { unused_bits, bytes }),
    ]
}

fn not_high_tag(tag: &u8) -> bool {
    tag & 0x1F != 0x1F
}

fn auth_value() -> impl Strategy<Value = AuthenticationValue> {
    prop_oneof![
        bytes(20).prop_map(AuthenticationValue::CharString),
        bit_string().prop_map(AuthenticationValue::BitString),
        (
            any::<u8>().prop_filter("known or long tag", |t| *t != 0x80
                && *t != 0x81
                && not_high_tag(t)),
            bytes(8)
        )
            .prop_map(|(tag, contents)| AuthenticationValue::Other { tag, contents }),
    ]
}

fn conformance() -> impl Strategy<Value = Conformance> {
    (0u32..0x100_0000).prop_map(Conformance)
}

fn user_information() -> impl Strategy<Value = UserInformation> {
    let request = (
        proptest::option::of(bytes(32)),
        any::<bool>(),
        any::<Option<u8>>(),
        any::<u8>(),
        conformance(),
        any::<u16>(),
    )
        .prop_map(|(key, allowed, qos, version, conformance, size)| {
            UserInformation::InitiateRequest(InitiateRequest {
                dedicated_key: key,
                response_allowed: allowed,
                proposed_quality_of_service: qos,
                proposed_dlms_version: version,
                proposed_conformance: conformance,
                client_max_receive_pdu_size: size,
            })
        });
    let response = (
        any::<Option<u8>>(),
        any::<u8>(),
        conformance(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(qos, version, conformance, size, vaa)| {
            UserInformation::InitiateResponse(InitiateResponse {
                negotiated_quality_of_service: qos,
                negotiated_dlms_version: version,
                negotiated_conformance: conformance,
                server_max_receive_pdu_size: size,
                vaa_name: vaa,
            })
        });
    let error = (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(service, kind, value)| {
        UserInformation::ConfirmedServiceError(ConfirmedServiceError {
            service: ConfirmedService::from_u8(service),
            error_kind: kind,
            error_value: value,
        })
    });
    let ciphered_tags: Vec<u8> = (0..=255).filter(|t| plain_tag_for(*t).is_some()).collect();
    let unknown = |b: &Vec<u8>| {
        b.first().is_none_or(|&t| {
            !matches!(t, 0x01 | 0x08 | 0x0E | 0xDB | 0xDC) && plain_tag_for(t).is_none()
        })
    };
    prop_oneof![
        request,
        response,
        error,
        (prop::sample::select(ciphered_tags), bytes(200))
            .prop_map(|(tag, content)| UserInformation::Ciphered(GloCiphered { tag, content })),
        (any::<bool>(), bytes(9), bytes(40)).prop_map(|(dedicated, system_title, content)| {
            let key = if dedicated {
                CipheringKey::Dedicated
            } else {
                CipheringKey::Global
            };
            UserInformation::GeneralCiphered(GeneralGloCiphering {
                key,
                system_title,
                content,
            })
        }),
        bytes(20)
            .prop_filter("known xDLMS tag", unknown)
            .prop_map(UserInformation::Other),
    ]
}

/// Unknown elements with tags outside `known`, in the tag-number order encoding gives them.
fn unknown_elements(known: &'static [u8]) -> impl Strategy<Value = Vec<UnknownElement>> {
    let tag = any::<u8>().prop_filter("known or long tag", move |t| {
        !known.contains(t) && not_high_tag(t)
    });
    vec((tag, bytes(6)), 0..3).prop_map(|elements| {
        let mut elements: Vec<_> = elements
            .into_iter()
            .map(|(tag, contents)| UnknownElement { tag, contents })
            .collect();
        elements.sort_by_key(|e| e.tag & 0x1F);
        elements
    })
}

const AARQ_TAGS: &[u8] = &[
    0x80, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0x8A, 0x8B, 0xAC, 0x9D, 0xBE,
];
const AARE_TAGS: &[u8] = &[
    0x80, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0x88, 0x89, 0xAA, 0x9D, 0xBE,
];

prop_compose! {
    fn titles_and_ids()(
        ap_title in proptest::option::of(bytes(10)),
        ae_qualifier in proptest::option::of(bytes(10)),
        ap_id in any::<Option<i64>>(),
        ae_id in any::<Option<i64>>(),
    ) -> (Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>, Option<i64>) {
        (ap_title, ae_qualifier, ap_id, ae_id)
    }
}

prop_compose! {
    fn aarq()(
        protocol_version in proptest::option::of(bit_string()),
        context in proptest::option::of(any::<u8>().prop_map(ApplicationContext::from_u8)),
        called in titles_and_ids(),
        calling in titles_and_ids(),
        requirements in proptest::option::of(bit_string()),
        mechanism in proptest::option::of(any::<u8>().prop_map(Mechanism::from_u8)),
        auth in proptest::option::of(auth_value()),
        implementation in proptest::option::of(bytes(10)),
        user_information in proptest::option::of(user_information()),
        other in unknown_elements(AARQ_TAGS),
    ) -> Aarq {
        Aarq {
            protocol_version,
            application_context_name: context,
            called_ap_title: called.0,
            called_ae_qualifier: called.1,
            called_ap_invocation_id: called.2,
            called_ae_invocation_id: called.3,
            calling_ap_title: calling.0,
            calling_ae_qualifier: calling.1,
            calling_ap_invocation_id: calling.2,
            calling_ae_invocation_id: calling.3,
            sender_acse_requirements: requirements,
            mechanism_name: mechanism,
            calling_authentication_value: auth,
            implementation_information: implementation,
            user_information,
            other,
        }
    }
}

fn diagnostic() -> impl Strategy<Value = ResultSourceDiagnostic> {
    prop_oneof![
        any::<u8>().prop_map(|d| ResultSourceDiagnostic::ServiceUser(
            AcseServiceUserDiagnostic::from_u8(d)
        )),
        any::<u8>().prop_map(|d| ResultSourceDiagnostic::ServiceProvider(
            AcseServiceProviderDiagnostic::from_u8(d)
        )),
    ]
}

prop_compose! {
    fn aare()(
        protocol_version in proptest::option::of(bit_string()),
        context in proptest::option::of(any::<u8>().prop_map(ApplicationContext::from_u8)),
        result in proptest::option::of(any::<u8>().prop_map(AssociationResult::from_u8)),
        diagnostic in proptest::option::of(diagnostic()),
        responding in titles_and_ids(),
        requirements in proptest::option::of(bit_string()),
        mechanism in proptest::option::of(any::<u8>().prop_map(Mechanism::from_u8)),
        auth in proptest::option::of(auth_value()),
        implementation in proptest::option::of(bytes(10)),
        user_information in proptest::option::of(user_information()),
        other in unknown_elements(AARE_TAGS),
    ) -> Aare {
        Aare {
            protocol_version,
            application_context_name: context,
            result,
            result_source_diagnostic: diagnostic,
            responding_ap_title: responding.0,
            responding_ae_qualifier: responding.1,
            responding_ap_invocation_id: responding.2,
            responding_ae_invocation_id: responding.3,
            responder_acse_requirements: requirements,
            mechanism_name: mechanism,
            responding_authentication_value: auth,
            implementation_information: implementation,
            user_information,
            other,
        }
    }
}

prop_compose! {
    fn release()(
        reason in any::<Option<u8>>(),
        user_information in proptest::option::of(user_information()),
        other in unknown_elements(&[0x80, 0xBE]),
    ) -> (Option<u8>, Option<UserInformation>, Vec<UnknownElement>) {
        (reason, user_information, other)
    }
}

/// Bytes that look like the start of an ACSE APDU often enough to get past the first checks.
fn apdu_like() -> impl Strategy<Value = Vec<u8>> {
    let vectors: Vec<Vec<u8>> = vectors().into_iter().map(|(_, _, b)| b).collect();
    prop_oneof![
        bytes(64),
        (0x60u8..0x64, bytes(80)).prop_map(|(tag, body)| {
            let mut out = vec![tag];
            crate::dlms::codec::put_length_prefixed(&mut out, &body);
            out
        }),
        (
            prop::sample::select(vectors),
            vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
        )
            .prop_map(|(mut bytes, edits)| {
                for (at, value) in edits {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                bytes
            }),
    ]
}

/// Decoding never panics, and whatever decodes re-encodes to bytes that decode to the same value.
fn check_decode<T: Codec + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(value) = T::from_bytes(bytes) {
        prop_assert_eq!(T::from_bytes(&value.to_bytes()), Ok(value));
    }
    Ok(())
}

proptest! {
    #[test]
    fn can_round_trip_generated_aarq(value in aarq()) {
        prop_assert_eq!(Aarq::from_bytes(&value.to_bytes()), Ok(value));
    }

    #[test]
    fn can_round_trip_generated_aare(value in aare()) {
        prop_assert_eq!(Aare::from_bytes(&value.to_bytes()), Ok(value));
    }

    #[test]
    fn can_round_trip_generated_release((reason, user_information, other) in release()) {
        let rlrq = Rlrq { reason: reason.map(ReleaseRequestReason), user_information: user_information.clone(), other: other.clone() };
        prop_assert_eq!(Rlrq::from_bytes(&rlrq.to_bytes()), Ok(rlrq));
        let rlre = Rlre { reason: reason.map(ReleaseResponseReason), user_information, other };
        prop_assert_eq!(Rlre::from_bytes(&rlre.to_bytes()), Ok(rlre));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in apdu_like()) {
        // Found by proptest: unknown elements out of tag order re-encoded in order.
        check_decode::<Rlre>(&crate::dlms::codec::hex::decode("6316010100A011040F080100065F1F0400001E1D04C80007").unwrap())?;
        check_decode::<Aarq>(&bytes)?;
        check_decode::<Aare>(&bytes)?;
        check_decode::<Rlrq>(&bytes)?;
        check_decode::<Rlre>(&bytes)?;
        check_decode::<UserInformation>(&bytes)?;
    }
}
