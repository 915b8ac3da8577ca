//! Interoperability with two independent DLMS implementations, gurux-dlms and dlms-cosem, through
//! `tests/interop/peer.py` (its README documents the JSON). Two directions:
//! - frames the peers' clients build decode with our decoder to what the peer meant, re-encode
//!   byte for byte, and decipher with the keys given;
//! - frames our encoder builds are accepted by both peers (`peer.py check`).
//!
//! The peers run under `$REANIMATOR_PYTHON` (set by `.ci/run`), else `<repo>/.venv/bin/python`
//! outside CI. These tests never skip: without the peers they fail and say how to get them.

use std::env;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use reanimator::dlms::acse::{
    Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContext, AssociationResult,
    AuthenticationValue, Conformance, InitiateRequest, InitiateResponse, Mechanism,
    ResultSourceDiagnostic, Rlre, Rlrq, UserInformation,
};
use reanimator::dlms::apdu::Apdu;
use reanimator::dlms::codec::{hex, Codec};
use reanimator::dlms::data::Data;
use reanimator::dlms::datetime::{Date, DateTime, Time, DEVIATION_UNSPECIFIED};
use reanimator::dlms::obis::Obis;
use reanimator::dlms::security::{
    hls_gmac_proof, unprotect, CipheredContent, CipheringKey, GeneralGloCiphering, GloCiphered,
    Keys, SecurityControl, SystemTitle,
};
use reanimator::dlms::wrapper::WrapperFrame;
use reanimator::dlms::xdlms::{
    ActionOutcome, ActionRequest, ActionResponse, ActionResult, AttributeDescriptor, CaptureObject,
    DataAccessResult, DataBlockG, DataNotification, EntryDescriptor, ExceptionResponse,
    GetDataResult, GetRequest, GetResponse, InvokeIdAndPriority, LongInvokeIdAndPriority,
    MethodDescriptor, RangeDescriptor, RawOrResult, SelectiveAccess, ServiceError, SetRequest,
    SetResponse, StateError,
};

// ------------------------------------------------------------------------------------------
// Running the peers

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter that has the peers installed; never a silent skip.
fn python() -> PathBuf {
    if let Some(python) = env::var_os("REANIMATOR_PYTHON") {
        return python.into();
    }
    if env::var_os("CI").is_some() {
        panic!(
            "REANIMATOR_PYTHON is not set although CI is: the interoperability tests need the \
             Python DLMS peers; .ci/run builds them in .venv and passes REANIMATOR_PYTHON"
        );
    }
    let venv = repo().join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "the interoperability tests need the Python DLMS peers (gurux-dlms, dlms-cosem): run \
         `bash .ci/run` once (it builds {}), or set REANIMATOR_PYTHON to an interpreter that has \
         tests/interop/requirements.txt installed",
        repo().join(".venv").display()
    );
}

/// Runs `peer.py args`, feeding `stdin`, and parses its JSON answer.
fn peer(args: &[&str], stdin: Option<&Value>) -> Value {
    let python = python();
    let mut child = Command::new(&python)
        .arg(repo().join("tests/interop/peer.py"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.to_string().as_bytes()).unwrap();
    }
    drop(pipe);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "peer.py {args:?} failed ({}): {stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("peer.py {args:?} printed no JSON ({e}); stderr: {stderr}"))
}

fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("a hex string")).expect("valid hex")
}

fn keys_of(value: &Value) -> (SystemTitle, Keys) {
    let title = SystemTitle::from_slice(&bytes(&value["system_title"])).unwrap();
    let keys = Keys::from_slices(&bytes(&value["ek"]), &bytes(&value["ak"])).unwrap();
    (title, keys)
}

// ------------------------------------------------------------------------------------------
// Peer client frames -> our decoder

/// Frames a peer documents it cannot build (tests/interop/README.md).
const UNBUILDABLE: &[(&str, &str)] = &[("dlms-cosem", "get-profile-by-entry")];

fn decodes_peer_client_frames(peer_name: &str, expected_names: &[&str]) {
    let frames = peer(&["frames", peer_name], None);
    let frames = frames.as_array().expect("a list of frames");
    let names: Vec<&str> = frames.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(
        names, expected_names,
        "peer.py frames {peer_name} lists other frames"
    );
    for frame in frames {
        let name = frame["name"].as_str().unwrap();
        let at = format!("{peer_name} {name}");
        if frame["hex"].is_null() {
            assert!(
                UNBUILDABLE.contains(&(peer_name, name)),
                "{at}: the peer could not build it: {}",
                frame["why"]
            );
            continue;
        }
        let wire = bytes(&frame["hex"]);
        let wrapped = WrapperFrame::from_bytes(&wire).unwrap_or_else(|e| panic!("{at}: {e}"));
        let expect = &frame["expect"];
        assert_eq!(wire[..2], [0, 1], "{at}: wrapper version");
        assert_eq!(wrapped.source, expect["wrapper"]["source"], "{at}");
        assert_eq!(
            wrapped.destination, expect["wrapper"]["destination"],
            "{at}"
        );
        assert_eq!(wrapped.to_bytes(), wire, "{at}: wrapper frame re-encoding");
        let apdu = Apdu::from_bytes(&wrapped.apdu).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(apdu.to_bytes(), wrapped.apdu, "{at}: APDU re-encoding");
        check_expect(&at, &apdu, expect);
    }
}

#[test]
fn gurux_client_frames_decode_to_what_gurux_meant() {
    decodes_peer_client_frames(
        "gurux",
        &[
            "aarq-none",
            "aarq-lls",
            "aarq-hls-gmac",
            "aarq-hls-gmac-ciphered",
            "get-clock-time",
            "get-register-value",
            "get-register-scaler-unit",
            "get-profile-by-range",
            "get-profile-by-entry",
            "get-next",
            "get-with-list",
            "set-register-value",
            "set-clock-time",
            "action-hls-reply",
            "get-clock-time-ciphered",
            "rlrq",
        ],
    );
}

#[test]
fn dlms_cosem_client_frames_decode_to_what_dlms_cosem_meant() {
    decodes_peer_client_frames(
        "dlms-cosem",
        &[
            "aarq-none",
            "aarq-lls",
            "aarq-hls-gmac-ciphered",
            "get-clock-time",
            "get-register-value",
            "get-register-scaler-unit",
            "get-profile-by-range",
            "get-profile-by-entry",
            "get-next",
            "get-with-list",
            "set-register-value",
            "set-clock-time",
            "action-hls-reply",
            "get-clock-time-ciphered",
            "rlrq",
        ],
    );
}

/// Checks a decoded APDU against a peer's `expect` object (README table).
fn check_expect(at: &str, apdu: &Apdu, expect: &Value) {
    let kind = expect["apdu"].as_str().unwrap();
    match (kind, apdu) {
        ("aarq", Apdu::Aarq(aarq)) => check_aarq(at, aarq, expect),
        (
            "get-request-normal",
            Apdu::GetRequest(GetRequest::Normal {
                invoke,
                attribute,
                access,
            }),
        ) => {
            check_invoke(at, *invoke, expect);
            check_attribute(at, attribute, access.as_ref(), expect);
            if let Some(access) = access {
                check_access(at, access, &expect["access"]);
            }
        }
        (
            "get-request-next",
            Apdu::GetRequest(GetRequest::Next {
                invoke,
                block_number,
            }),
        ) => {
            check_invoke(at, *invoke, expect);
            assert_eq!(*block_number, expect["block_number"], "{at}: block number");
        }
        ("get-request-with-list", Apdu::GetRequest(GetRequest::WithList { invoke, items })) => {
            check_invoke(at, *invoke, expect);
            let want = expect["items"].as_array().unwrap();
            assert_eq!(items.len(), want.len(), "{at}: item count");
            for (i, ((attribute, access), want)) in items.iter().zip(want).enumerate() {
                check_attribute(&format!("{at} item {i}"), attribute, access.as_ref(), want);
            }
        }
        (
            "set-request-normal",
            Apdu::SetRequest(SetRequest::Normal {
                invoke,
                attribute,
                access,
                value,
            }),
        ) => {
            check_invoke(at, *invoke, expect);
            check_attribute(at, attribute, access.as_ref(), expect);
            check_value(at, value, &expect["value"]);
        }
        (
            "action-request-normal",
            Apdu::ActionRequest(ActionRequest::Normal {
                invoke,
                method,
                parameters,
            }),
        ) => {
            check_invoke(at, *invoke, expect);
            assert_eq!(method.class_id, expect["class_id"], "{at}: class id");
            assert_eq!(method.instance.dotted(), expect["obis"], "{at}: OBIS");
            assert_eq!(method.method, expect["method"], "{at}: method");
            assert_eq!(expect["parameter"]["type"], "octet-string", "{at}");
            let parameter = bytes(&expect["parameter"]["hex"]);
            assert_eq!(
                parameters.as_ref(),
                Some(&Data::OctetString(parameter.clone())),
                "{at}: parameters"
            );
            if let Some(hls) = expect.get("hls") {
                // Our own HLS-GMAC proof of the same challenge must be the peer's.
                let (title, keys) = keys_of(hls);
                let ic = hls["invocation_counter"].as_u64().unwrap() as u32;
                let proof = hls_gmac_proof(&bytes(&hls["stoc"]), &title, ic, &keys);
                assert_eq!(proof, parameter, "{at}: f(StoC)");
            }
        }
        ("general-glo-ciphering", Apdu::GeneralCiphered(general)) => {
            assert_eq!(general.key, CipheringKey::Global, "{at}");
            assert_eq!(
                hex::encode(&general.system_title),
                expect["system_title"],
                "{at}"
            );
            check_security_header(at, &general.content, expect);
            let (_, keys) = keys_of(&expect["keys"]);
            let opened = general.open(&keys).unwrap_or_else(|e| panic!("{at}: {e}"));
            let plain = Apdu::from_bytes(&opened.plaintext).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(
                plain.to_bytes(),
                opened.plaintext,
                "{at}: plaintext re-encoding"
            );
            check_expect(&format!("{at} (deciphered)"), &plain, &expect["plaintext"]);
        }
        ("rlrq", Apdu::Rlrq(rlrq)) => {
            assert_eq!(
                rlrq.reason.map(|r| r.0),
                Some(expect["reason"].as_u64().unwrap() as u8)
            );
            match (&rlrq.user_information, &expect["user_information"]) {
                (None, Value::Null) => {}
                (Some(UserInformation::InitiateRequest(i)), want) if want.is_object() => {
                    check_initiate(at, i, want)
                }
                (got, want) => panic!("{at}: user-information {got:?}, expected {want}"),
            }
        }
        (_, other) => panic!("{at}: expected {kind}, decoded {other:?}"),
    }
}

fn check_aarq(at: &str, aarq: &Aarq, expect: &Value) {
    let context = match expect["application_context"].as_str().unwrap() {
        "LN" => ApplicationContext::LogicalName,
        "LN-ciphered" => ApplicationContext::LogicalNameCiphered,
        other => panic!("{at}: unknown context {other}"),
    };
    assert_eq!(
        aarq.application_context_name,
        Some(context),
        "{at}: context"
    );
    let mechanism = match expect["mechanism"].as_str() {
        None => Mechanism::Lowest,
        Some("LLS") => Mechanism::Low,
        Some("HLS-GMAC") => Mechanism::HighGmac,
        Some(other) => panic!("{at}: unknown mechanism {other}"),
    };
    assert_eq!(aarq.mechanism(), mechanism, "{at}: mechanism");
    let title = aarq.calling_ap_title.as_deref().map(hex::encode);
    assert_eq!(
        json!(title),
        expect["calling_ap_title"],
        "{at}: calling-AP-title"
    );
    let value = match &aarq.calling_authentication_value {
        None => None,
        Some(AuthenticationValue::CharString(v)) => Some(hex::encode(v)),
        Some(other) => panic!("{at}: authentication value {other:?}"),
    };
    assert_eq!(json!(value), expect["calling_authentication_value"], "{at}");
    let want = &expect["user_information"];
    match (&aarq.user_information, want["apdu"].as_str()) {
        (Some(UserInformation::InitiateRequest(i)), Some("initiate-request")) => {
            check_initiate(at, i, want)
        }
        (Some(UserInformation::Ciphered(glo)), Some("glo-initiate-request")) if glo.tag == 0x21 => {
            let content = &glo.content;
            check_security_header(at, content, want);
            let (title, keys) = keys_of(&expect["keys"]);
            assert_eq!(aarq.calling_ap_title.as_deref(), Some(&title.0[..]), "{at}");
            let opened = unprotect(&title, &keys, content).unwrap_or_else(|e| panic!("{at}: {e}"));
            let initiate = InitiateRequest::from_bytes(&opened.plaintext)
                .unwrap_or_else(|e| panic!("{at}: deciphered InitiateRequest: {e}"));
            assert_eq!(initiate.to_bytes(), opened.plaintext, "{at}");
            check_initiate(&format!("{at} (deciphered)"), &initiate, &want["plaintext"]);
        }
        (got, _) => panic!("{at}: user-information {got:?}, expected {want}"),
    }
}

fn check_initiate(at: &str, initiate: &InitiateRequest, want: &Value) {
    assert_eq!(
        initiate.proposed_dlms_version, want["dlms_version"],
        "{at}: DLMS version"
    );
    assert_eq!(
        initiate.proposed_conformance.0, want["conformance"],
        "{at}: conformance"
    );
    assert_eq!(
        initiate.client_max_receive_pdu_size, want["max_pdu_size"],
        "{at}: max PDU"
    );
    let key = initiate.dedicated_key.as_deref().map(hex::encode);
    assert_eq!(json!(key), want["dedicated_key"], "{at}: dedicated key");
}

fn check_security_header(at: &str, content: &[u8], want: &Value) {
    let header = CipheredContent::parse(content).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(
        header.sc.0, want["security_control"],
        "{at}: security control"
    );
    assert_eq!(
        header.invocation_counter, want["invocation_counter"],
        "{at}: IC"
    );
}

fn check_invoke(at: &str, invoke: InvokeIdAndPriority, expect: &Value) {
    assert_eq!(
        invoke.0, expect["invoke_id_and_priority"],
        "{at}: invoke-id-and-priority"
    );
}

fn check_attribute(
    at: &str,
    attribute: &AttributeDescriptor,
    access: Option<&SelectiveAccess>,
    want: &Value,
) {
    assert_eq!(attribute.class_id, want["class_id"], "{at}: class id");
    assert_eq!(attribute.instance.dotted(), want["obis"], "{at}: OBIS");
    assert_eq!(attribute.attribute, want["attribute"], "{at}: attribute");
    assert_eq!(
        json!(access.map(|a| a.selector)),
        want["selector"],
        "{at}: selector"
    );
}

fn check_access(at: &str, access: &SelectiveAccess, want: &Value) {
    match access.selector {
        SelectiveAccess::RANGE => {
            let range = access.range().unwrap_or_else(|e| panic!("{at}: {e}"));
            let r = &want["restricting_object"];
            let o = range.restricting_object;
            assert_eq!(o.class_id, r["class_id"], "{at}: restricting class");
            assert_eq!(o.logical_name.dotted(), r["obis"], "{at}: restricting OBIS");
            assert_eq!(o.attribute, r["attribute"], "{at}: restricting attribute");
            assert_eq!(o.data_index, r["data_index"], "{at}: data index");
            check_date_time(&format!("{at} from"), &range.from, &want["from"]);
            check_date_time(&format!("{at} to"), &range.to, &want["to"]);
            assert_eq!(want["selected_values"], json!([]), "{at}");
            assert!(range.selected_values.is_empty(), "{at}: selected values");
        }
        SelectiveAccess::ENTRY => {
            let entry = access.entry().unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(entry.from_entry, want["from_entry"], "{at}");
            assert_eq!(entry.to_entry, want["to_entry"], "{at}");
            assert_eq!(
                entry.from_selected_value, want["from_selected_value"],
                "{at}"
            );
            assert_eq!(entry.to_selected_value, want["to_selected_value"], "{at}");
        }
        other => panic!("{at}: selector {other}"),
    }
}

/// The fields every peer agrees on: year, month, day, hour, minute, second.
fn check_date_time(at: &str, value: &Data, want: &Value) {
    let dt = value
        .as_date_time()
        .unwrap_or_else(|| panic!("{at}: {value:?} is not a date-time"));
    let got = json!({
        "year": dt.date.year, "month": dt.date.month, "day": dt.date.day,
        "hour": dt.time.hour, "minute": dt.time.minute, "second": dt.time.second,
    });
    assert_eq!(&got, want, "{at}");
}

fn check_value(at: &str, value: &Data, want: &Value) {
    match want["type"].as_str().unwrap() {
        "double-long-unsigned" => {
            let n = want["value"].as_u64().unwrap() as u32;
            assert_eq!(value, &Data::DoubleLongUnsigned(n), "{at}: value");
        }
        "octet-string" => {
            assert!(matches!(value, Data::OctetString(_)), "{at}: {value:?}");
            check_date_time(at, value, &want["date_time"]);
        }
        other => panic!("{at}: unknown value type {other}"),
    }
}

// ------------------------------------------------------------------------------------------
// Our frames -> the peers

const CLIENT_WPORT: u16 = 0x10;
const SERVER_WPORT: u16 = 0x01;
/// REFERENCE.md section 1: the Green Book keys and client system title.
const EK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const CLIENT_TITLE: &str = "4D4D4D0000BC614E";
/// A server system title of our own (manufacturer "MMM", serial 1).
const SERVER_TITLE: &str = "4D4D4D0000000001";
/// Conformance without the first byte, which dlms-cosem drops when it re-encodes (README).
const CLIENT_CONFORMANCE: Conformance = Conformance(0x00_1E1D);
const SERVER_CONFORMANCE: Conformance = Conformance(0x00_501F);

/// Kinds a peer has no model of (README: dlms-cosem has no glo-xxx APDU classes); each must be
/// accepted by the other peer.
const NOT_MODELLED: &[(&str, &str)] = &[
    ("glo-get-request", "dlms_cosem"),
    ("glo-get-response", "dlms_cosem"),
];

/// One frame for `peer.py check`.
struct Item {
    name: String,
    kind: &'static str,
    /// What is sent: the APDU, or the APDU in a wrapper frame.
    wire: Vec<u8>,
    apdu: Vec<u8>,
    /// The sender's keys, when the frame is ciphered, and the plaintext they must give.
    sealed: Option<(SystemTitle, Vec<u8>)>,
}

fn keys() -> Keys {
    Keys::from_hex(EK, AK).unwrap()
}

fn title(text: &str) -> SystemTitle {
    SystemTitle::from_hex(text).unwrap()
}

fn high(invoke_id: u8) -> InvokeIdAndPriority {
    InvokeIdAndPriority::new(invoke_id, true, true)
}

fn sc_auth_enc() -> SecurityControl {
    SecurityControl::new(0, true, true)
}

/// 2024-03-15 00:00:00 (or the 16th), deviation and day of week not specified.
fn range_date(day: u8) -> Data {
    let dt = DateTime {
        date: Date {
            year: 2024,
            month: 3,
            day,
            day_of_week: 0xFF,
        },
        time: Time {
            hour: 0,
            minute: 0,
            second: 0,
            hundredths: 0,
        },
        deviation: DEVIATION_UNSPECIFIED,
        clock_status: 0,
    };
    Data::OctetString(dt.to_bytes())
}

/// 2026-11-26 13:00:00 at UTC+1 (Blue Book deviation -60).
fn push_time() -> DateTime {
    DateTime::from_bytes(&hex::decode("07EA0B1A040D000000FFC400").unwrap()).unwrap()
}

fn initiate_request() -> InitiateRequest {
    InitiateRequest::new(CLIENT_CONFORMANCE, 0xFFFF)
}

fn get_clock(invoke: InvokeIdAndPriority) -> GetRequest {
    GetRequest::Normal {
        invoke,
        attribute: AttributeDescriptor::new(8, Obis::CLOCK, 2),
        access: None,
    }
}

/// (name, kind, APDU, sent by the client) built with our API.
fn plain_apdus() -> Vec<(&'static str, &'static str, Apdu, bool)> {
    let ctos = b"K56iVagY".to_vec();
    let stoc = b"P6wRJ21F".to_vec();
    let client_title = title(CLIENT_TITLE);
    let proof = hls_gmac_proof(&stoc, &client_title, 1, &keys());
    let a_plus = AttributeDescriptor::new(3, Obis::ACTIVE_ENERGY_IMPORT, 2);
    let glo_initiate = GloCiphered::seal(
        CipheringKey::Global,
        &initiate_request().to_bytes(),
        sc_auth_enc(),
        &client_title,
        0x0123_4567,
        &keys(),
    )
    .unwrap();
    let initiate_response =
        UserInformation::InitiateResponse(InitiateResponse::new(SERVER_CONFORMANCE, 0x01F4));
    vec![
        (
            "aarq-none",
            "aarq",
            Apdu::Aarq(Aarq::new(
                ApplicationContext::LogicalName,
                UserInformation::InitiateRequest(initiate_request()),
            )),
            true,
        ),
        (
            "aarq-lls",
            "aarq",
            Apdu::Aarq(
                Aarq::new(
                    ApplicationContext::LogicalName,
                    UserInformation::InitiateRequest(initiate_request()),
                )
                .with_authentication(Mechanism::Low, b"12345678".to_vec()),
            ),
            true,
        ),
        (
            "aarq-hls-gmac",
            "aarq",
            Apdu::Aarq(
                Aarq::new(
                    ApplicationContext::LogicalName,
                    UserInformation::InitiateRequest(initiate_request()),
                )
                .with_authentication(Mechanism::HighGmac, ctos.clone())
                .with_calling_ap_title(client_title.0),
            ),
            true,
        ),
        (
            "aarq-hls-gmac-ciphered",
            "aarq",
            Apdu::Aarq(
                Aarq::new(
                    ApplicationContext::LogicalNameCiphered,
                    UserInformation::Ciphered(glo_initiate),
                )
                .with_authentication(Mechanism::HighGmac, ctos.clone())
                .with_calling_ap_title(client_title.0),
            ),
            true,
        ),
        (
            "aare-accepted",
            "aare",
            Apdu::Aare(Aare::accepted(
                ApplicationContext::LogicalName,
                initiate_response.clone(),
            )),
            false,
        ),
        (
            "aare-hls-gmac",
            "aare",
            Apdu::Aare(
                Aare::accepted(ApplicationContext::LogicalName, initiate_response.clone())
                    .with_authentication(Mechanism::HighGmac, Some(stoc.clone()))
                    .with_responding_ap_title(title(SERVER_TITLE).0),
            ),
            false,
        ),
        (
            "aare-rejected",
            "aare",
            Apdu::Aare(Aare::rejected(
                ApplicationContext::LogicalName,
                AssociationResult::RejectedPermanent,
                ResultSourceDiagnostic::ServiceUser(
                    AcseServiceUserDiagnostic::AuthenticationFailure,
                ),
                Some(initiate_response),
            )),
            false,
        ),
        (
            "get-request-normal",
            "get-request",
            Apdu::GetRequest(GetRequest::Normal {
                invoke: high(1),
                attribute: a_plus,
                access: None,
            }),
            true,
        ),
        (
            "get-request-next",
            "get-request",
            Apdu::GetRequest(GetRequest::Next {
                invoke: high(1),
                block_number: 1,
            }),
            true,
        ),
        (
            "get-request-with-list",
            "get-request",
            Apdu::GetRequest(GetRequest::WithList {
                invoke: high(1),
                items: vec![
                    (AttributeDescriptor::new(8, Obis::CLOCK, 2), None),
                    (a_plus, None),
                    (
                        AttributeDescriptor::new(3, Obis::ACTIVE_ENERGY_IMPORT, 3),
                        None,
                    ),
                ],
            }),
            true,
        ),
        (
            "get-request-range",
            "get-request",
            Apdu::GetRequest(GetRequest::Normal {
                invoke: high(1),
                attribute: AttributeDescriptor::new(7, Obis::LOAD_PROFILE_1, 2),
                access: Some(
                    RangeDescriptor {
                        restricting_object: CaptureObject::new(8, Obis::CLOCK, 2),
                        from: range_date(15),
                        to: range_date(16),
                        selected_values: vec![],
                    }
                    .into(),
                ),
            }),
            true,
        ),
        (
            "get-request-entry",
            "get-request",
            Apdu::GetRequest(GetRequest::Normal {
                invoke: high(1),
                attribute: AttributeDescriptor::new(7, Obis::LOAD_PROFILE_1, 2),
                access: Some(
                    EntryDescriptor {
                        from_entry: 1,
                        to_entry: 10,
                        from_selected_value: 1,
                        to_selected_value: 0,
                    }
                    .into(),
                ),
            }),
            true,
        ),
        (
            "get-response-normal",
            "get-response",
            Apdu::GetResponse(GetResponse::Normal {
                invoke: high(1),
                result: GetDataResult::Data(Data::DoubleLongUnsigned(5009)),
            }),
            false,
        ),
        (
            "get-response-datablock",
            "get-response",
            Apdu::GetResponse(GetResponse::WithDataBlock {
                invoke: high(1),
                block: DataBlockG {
                    last_block: false,
                    block_number: 1,
                    result: RawOrResult::RawData(hex::decode("0102020906000001").unwrap()),
                },
            }),
            false,
        ),
        (
            "get-response-with-list",
            "get-response",
            Apdu::GetResponse(GetResponse::WithList {
                invoke: high(1),
                results: vec![
                    GetDataResult::Data(Data::OctetString(push_time().to_bytes())),
                    GetDataResult::Data(Data::DoubleLongUnsigned(5009)),
                    GetDataResult::DataAccessResult(DataAccessResult::ObjectUndefined),
                ],
            }),
            false,
        ),
        (
            "get-response-error",
            "get-response",
            Apdu::GetResponse(GetResponse::Normal {
                invoke: high(1),
                result: GetDataResult::DataAccessResult(DataAccessResult::HardwareFault),
            }),
            false,
        ),
        (
            "set-request-normal",
            "set-request",
            Apdu::SetRequest(SetRequest::Normal {
                invoke: high(1),
                attribute: a_plus,
                access: None,
                value: Data::DoubleLongUnsigned(5009),
            }),
            true,
        ),
        (
            "set-request-clock",
            "set-request",
            Apdu::SetRequest(SetRequest::Normal {
                invoke: high(1),
                attribute: AttributeDescriptor::new(8, Obis::CLOCK, 2),
                access: None,
                value: Data::OctetString(push_time().to_bytes()),
            }),
            true,
        ),
        (
            "set-response-normal",
            "set-response",
            Apdu::SetResponse(SetResponse::Normal {
                invoke: high(1),
                result: DataAccessResult::Success,
            }),
            false,
        ),
        (
            "action-request-normal",
            "action-request",
            Apdu::ActionRequest(ActionRequest::Normal {
                invoke: high(1),
                method: MethodDescriptor {
                    class_id: 15,
                    instance: Obis::CURRENT_ASSOCIATION,
                    method: 1,
                },
                parameters: Some(Data::OctetString(proof.clone())),
            }),
            true,
        ),
        (
            "action-response-normal",
            "action-response",
            Apdu::ActionResponse(ActionResponse::Normal {
                invoke: high(1),
                outcome: ActionOutcome {
                    result: ActionResult::Success,
                    return_parameters: Some(GetDataResult::Data(Data::OctetString(proof))),
                },
            }),
            false,
        ),
        (
            "action-response-no-data",
            "action-response",
            Apdu::ActionResponse(ActionResponse::Normal {
                invoke: high(1),
                outcome: ActionOutcome {
                    result: ActionResult::ReadWriteDenied,
                    return_parameters: None,
                },
            }),
            false,
        ),
        (
            "data-notification",
            "data-notification",
            Apdu::DataNotification(DataNotification {
                invoke: LongInvokeIdAndPriority::new(475, false, false),
                date_time: None,
                body: Data::OctetString(
                    hex::decode(
                        "125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100",
                    )
                    .unwrap(),
                ),
            }),
            false,
        ),
        (
            "data-notification-with-date-time",
            "data-notification",
            Apdu::DataNotification(DataNotification {
                invoke: LongInvokeIdAndPriority::new(1, false, false),
                date_time: Some(push_time()),
                body: Data::Structure(vec![
                    Data::OctetString(b"MMM0000000001".to_vec()),
                    Data::DoubleLongUnsigned(5009),
                ]),
            }),
            false,
        ),
        (
            "exception-response",
            "exception-response",
            Apdu::ExceptionResponse(ExceptionResponse {
                state_error: StateError::ServiceNotAllowed,
                service_error: ServiceError::OperationNotPossible,
            }),
            false,
        ),
        ("rlrq", "rlrq", Apdu::Rlrq(Rlrq::normal()), true),
        ("rlre", "rlre", Apdu::Rlre(Rlre::normal()), false),
    ]
}

/// An APDU we built, before it is sent bare and wrapped.
struct Built {
    name: &'static str,
    kind: &'static str,
    apdu: Vec<u8>,
    by_client: bool,
    /// The sender's system title and the plaintext, for ciphered APDUs.
    sealed: Option<(SystemTitle, Vec<u8>)>,
}

/// The ciphered frames: glo- request and response, and general-glo-ciphering.
fn ciphered_apdus() -> Vec<Built> {
    let client = title(CLIENT_TITLE);
    let server = title(SERVER_TITLE);
    let request = get_clock(high(1)).to_bytes();
    let response = GetResponse::Normal {
        invoke: high(1),
        result: GetDataResult::Data(Data::OctetString(push_time().to_bytes())),
    }
    .to_bytes();
    let seal = |plain: &[u8], sender: &SystemTitle, ic| {
        let sealed = GloCiphered::seal(
            CipheringKey::Global,
            plain,
            sc_auth_enc(),
            sender,
            ic,
            &keys(),
        );
        sealed.unwrap().to_bytes()
    };
    let general = GeneralGloCiphering::seal(
        CipheringKey::Global,
        &request,
        sc_auth_enc(),
        &client,
        0x0123_4569,
        &keys(),
    )
    .unwrap()
    .to_bytes();
    vec![
        Built {
            name: "glo-get-request",
            kind: "glo-get-request",
            apdu: seal(&request, &client, 0x0123_4568),
            by_client: true,
            sealed: Some((client, request.clone())),
        },
        Built {
            name: "glo-get-response",
            kind: "glo-get-response",
            apdu: seal(&response, &server, 7),
            by_client: false,
            sealed: Some((server, response)),
        },
        Built {
            name: "general-glo-ciphering",
            kind: "general-glo-ciphering",
            apdu: general,
            by_client: true,
            sealed: Some((client, request)),
        },
    ]
}

/// Every frame twice: as a bare APDU and in a wrapper frame.
fn our_items() -> Vec<Item> {
    let mut built = Vec::new();
    for (name, kind, apdu, by_client) in plain_apdus() {
        let wire = apdu.to_bytes();
        assert_eq!(
            Apdu::from_bytes(&wire).unwrap(),
            apdu,
            "{name}: our own round trip"
        );
        let sealed = match &apdu {
            Apdu::Aarq(Aarq {
                user_information: Some(UserInformation::Ciphered(_)),
                ..
            }) => Some((title(CLIENT_TITLE), initiate_request().to_bytes())),
            _ => None,
        };
        built.push(Built {
            name,
            kind,
            apdu: wire,
            by_client,
            sealed,
        });
    }
    built.extend(ciphered_apdus());
    let mut items = Vec::new();
    for b in built {
        let (source, destination) = if b.by_client {
            (CLIENT_WPORT, SERVER_WPORT)
        } else {
            (SERVER_WPORT, CLIENT_WPORT)
        };
        let framed = WrapperFrame::new(source, destination, b.apdu.clone()).to_bytes();
        items.push(Item {
            name: b.name.to_string(),
            kind: b.kind,
            wire: b.apdu.clone(),
            apdu: b.apdu.clone(),
            sealed: b.sealed.clone(),
        });
        items.push(Item {
            name: format!("{} (wrapped)", b.name),
            kind: b.kind,
            wire: framed,
            apdu: b.apdu,
            sealed: b.sealed,
        });
    }
    items
}

impl Item {
    fn request(&self) -> Value {
        let mut item = json!({
            "name": self.name,
            "kind": self.kind,
            "hex": hex::encode(&self.wire),
        });
        if let Some((sender, _)) = &self.sealed {
            item["keys"] = json!({"system_title": hex::encode(&sender.0), "ek": EK, "ak": AK});
        }
        item
    }
}

#[test]
fn both_peers_accept_the_frames_we_build() {
    let items = our_items();
    let request = Value::Array(items.iter().map(Item::request).collect());
    let answers = peer(&["check"], Some(&request));
    let answers = answers.as_array().expect("one answer per item");
    assert_eq!(answers.len(), items.len());
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for (item, answer) in items.iter().zip(answers) {
        assert_eq!(answer["name"], item.name.as_str());
        let framing = if item.name.ends_with("(wrapped)") {
            "wrapper"
        } else {
            "apdu"
        };
        assert_eq!(answer["framing"], framing, "{}: peer.py framing", item.name);
        for problem in judge(item, answer, &mut notes) {
            failures.push(format!("{}: {problem}\n  answer: {answer}", item.name));
        }
    }
    // What a peer does not model or gets wrong, listed so the gaps stay visible.
    for note in &notes {
        eprintln!("{note}");
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The README's rule for one answer: gurux.ok is true, dlms_cosem.ok is not false (null only for
/// a kind it has no model of), dlms-cosem's re-encoding equal, at least one peer saying ok: true,
/// and ciphered frames deciphering to our plaintext with both peers. A peer's own documented
/// fault (see [`peer_fault`]) is noted instead of failing.
fn judge(item: &Item, answer: &Value, notes: &mut Vec<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let gurux = &answer["gurux"];
    let cosem = &answer["dlms_cosem"];
    for (peer_key, result) in [("gurux", gurux), ("dlms_cosem", cosem)] {
        if result["ok"].is_null() {
            if NOT_MODELLED.contains(&(item.kind, peer_key)) {
                notes.push(format!(
                    "{}: {peer_key} does not model it: {}",
                    item.name, result["why"]
                ));
            } else {
                problems.push(format!("{peer_key} answered ok: null for a kind it models"));
            }
        }
    }
    let mut excuse = |peer_key: &str, failure: &str, problems: &mut Vec<String>| match peer_fault(
        item,
        peer_key,
        &answer[peer_key],
    ) {
        Some(why) => notes.push(format!("{}: {peer_key} {failure}: {why}", item.name)),
        None => problems.push(format!("{peer_key} {failure}")),
    };
    if gurux["ok"] != true && !gurux["ok"].is_null() {
        excuse("gurux", "did not accept it", &mut problems);
    }
    if cosem["ok"] == false {
        excuse("dlms_cosem", "rejected it", &mut problems);
    }
    if cosem["ok"] == true && cosem["reencoded_equal"] == false {
        excuse("dlms_cosem", "re-encodes it differently", &mut problems);
    }
    if gurux["ok"] != true && cosem["ok"] != true {
        problems.push("no peer said ok: true".into());
    }
    if let Some((_, plaintext)) = &item.sealed {
        let want = hex::encode(plaintext);
        let dc = &cosem["decrypted"];
        if dc["ok"] != true || dc["plaintext_hex"] != want.as_str() {
            problems.push(format!("dlms-cosem did not decrypt it to {want}"));
        }
        if gurux["decrypted"]["ok"] != true {
            problems.push("gurux did not decrypt it".into());
        }
    }
    problems
}

/// Why a peer's failure on this item is the peer's own, when it is one we know, checked closely
/// enough that no other failure can hide behind it.
fn peer_fault(item: &Item, peer_key: &str, result: &Value) -> Option<&'static str> {
    let ours = Apdu::from_bytes(&item.apdu).ok()?;
    match (peer_key, &ours) {
        // README: dlms-cosem 25.1.0 has no entry-descriptor codec.
        (
            "dlms_cosem",
            Apdu::GetRequest(GetRequest::Normal {
                access: Some(access),
                ..
            }),
        ) if access.selector == SelectiveAccess::ENTRY => {
            let error = result["error"].as_str()?;
            (error.starts_with("NotImplementedError") && error.contains("selective_access.py"))
                .then_some("dlms-cosem 25.1.0 has no entry-descriptor codec")
        }
        // gurux 1.0.203's translator shows a data block's raw-data (after checking its length)
        // without consuming it, so exactly the raw-data is left over.
        (
            "gurux",
            Apdu::GetResponse(GetResponse::WithDataBlock {
                block:
                    DataBlockG {
                        result: RawOrResult::RawData(raw),
                        ..
                    },
                ..
            }),
        ) => {
            let shown = format!("<RawData Value=\"{}\" />", hex::encode(raw));
            let xml = result["xml"].as_str()?;
            (result["trailing_bytes"] == raw.len()
                && xml.contains(&shown)
                && !xml.contains("Block is not complete")
                && result.get("stdout").is_none()
                && result["kind_matches"] == true)
                .then_some("gurux 1.0.203's translator leaves a data block's raw-data unread")
        }
        // dlms-cosem 25.1.0 reads the date-time of a Data-Notification correctly but writes it
        // as a presence flag 01 instead of the octet-string length 0C, and drops the day of week.
        (
            "dlms_cosem",
            Apdu::DataNotification(DataNotification {
                date_time: Some(_), ..
            }),
        ) => {
            let theirs = hex::decode(result["reencoded_hex"].as_str()?).ok()?;
            let mut expected = item.apdu.clone();
            *expected.get_mut(5)? = 0x01;
            *expected.get_mut(10)? = 0xFF;
            (theirs == expected).then_some(
                "dlms-cosem 25.1.0 re-encodes a Data-Notification date-time as 01 + 12 bytes \
                 (Green Book and gurux: octet-string length 0C) with day of week FF",
            )
        }
        _ => None,
    }
}
