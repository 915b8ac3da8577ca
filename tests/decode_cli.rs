//! `reanimator decode` and `reanimator demo`, run as the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const EK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const CLIENT_TITLE: &str = "4D4D4D0000BC614E";

/// REFERENCE.md section 1 public vectors (sources named there: u9n dlms-cosem tests, openmuc
/// jDLMS CipheringTest/GmacTest, Green Book examples): (name, hex, APDU kind in the JSON).
const PUBLIC_VECTORS: &[(&str, &str, &str)] = &[
    (
        "AARQ LN no security",
        "601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF",
        "aarq",
    ),
    (
        "AARE accepted",
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007",
        "aare",
    ),
    (
        "AARQ LLS",
        "6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738BE10040E\
         01000000065F1F0400007E1F04B0",
        "aarq",
    ),
    (
        "AARE HLS-GMAC diagnostic 14",
        "6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008\
         503677524A323146BE10040E0800065F1F040000501F01F40007",
        "aare",
    ),
    ("ciphered AARQ", CIPHERED_AARQ, "aarq"),
    ("glo-get-request", GLO_GET_REQUEST, "ciphered"),
    (
        "GET-Request-Normal",
        "C001C1000100002B0100FF0200",
        "get-request",
    ),
    (
        "GET-Response u32 5009",
        "C401C1000600001391",
        "get-response",
    ),
    ("GET-Response hardware-fault", "C401C10101", "get-response"),
    (
        "Data-Notification",
        "0F000001DB000922125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100",
        "data-notification",
    ),
    // The HLS-GMAC f(StoC) vector travels in the ACTION-Request of HLS pass 3, as gurux-dlms
    // 1.0.203 and dlms-cosem 25.1.0 both build it (tests/interop/peer.py action-hls-reply).
    (
        "ACTION reply_to_HLS_authentication with f(StoC)",
        "C301C1000F0000280000FF0101091110000000011A52FE7DD3E72748973C1E28",
        "action-request",
    ),
];

const CIPHERED_AARQ: &str = "6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B07608574\
    05080201AC0A80083132333435363738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB004\
    7720606B175BD52211BE6841DB204D39EE6FDB8E356855";
const GLO_GET_REQUEST: &str = "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B";
/// GET-Request-Normal 0.0.43.1.0.255/2 in the wrapper frame gurux-dlms 1.0.203 builds.
const WRAPPED_GET: &str = "000100100001000DC001C1000100002B0100FF0200";

fn reanimator(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reanimator"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the reanimator binary runs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs `decode --json` and parses each output line.
fn decode_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["decode", "--json"];
    all.extend_from_slice(args);
    let output = reanimator(&all, None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr(&output)
    );
    stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON document"))
        .collect()
}

/// `decode` with the Green Book keys, then `extra`.
fn decode_with_keys<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["decode"];
    args.extend(with_keys(extra));
    args
}

/// The Green Book keys, then `extra`.
fn with_keys<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--ek", EK, "--ak", AK];
    args.extend_from_slice(extra);
    args
}

/// Asserts a failure: the status, nothing on stdout, exactly one line on stderr.
fn assert_fails_with_one_line(output: &Output, status: i32) -> String {
    assert_eq!(output.status.code(), Some(status), "{}", stderr(output));
    let err = stderr(output);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.ends_with('\n'));
    err
}

#[test]
fn every_public_vector_decodes_as_text_and_json() {
    for &(name, hex, kind) in PUBLIC_VECTORS {
        let text = reanimator(
            &decode_with_keys(&["--system-title", CLIENT_TITLE, hex]),
            None,
        );
        assert_eq!(text.status.code(), Some(0), "{name}: {}", stderr(&text));
        assert!(stderr(&text).is_empty(), "{name}: {}", stderr(&text));
        assert!(
            stdout(&text).contains(&format!("apdu: {kind}\n")),
            "{name}: {}",
            stdout(&text)
        );
        let json = decode_json(&with_keys(&["--system-title", CLIENT_TITLE, hex]));
        assert_eq!(json.len(), 1, "{name}");
        assert_eq!(json[0]["apdu"]["apdu"], kind, "{name}");
    }
}

#[test]
fn text_names_what_it_shows() {
    let output = reanimator(&["decode", "C001C1000100002B0100FF0200"], None);
    let text = stdout(&output);
    for line in [
        "apdu: get-request",
        "  kind: normal",
        "  invoke: id 1, confirmed, high priority",
        "    class-id: 1 (Data)",
        "    instance: 0-0:43.1.0.255",
        "    attribute: 2 (value)",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
    let text = stdout(&reanimator(&["decode", "C401C10101"], None));
    assert!(
        text.contains("data-access-result: hardware-fault"),
        "{text}"
    );
    let aarq = stdout(&reanimator(&["decode", PUBLIC_VECTORS[0].1], None));
    assert!(
        aarq.contains("proposed-conformance: block-transfer-with-get-or-read,"),
        "{aarq}"
    );
}

#[test]
fn json_has_the_expected_structure() {
    let get = decode_json(&["C001C1000100002B0100FF0200"]);
    let fields = &get[0]["apdu"]["fields"];
    assert_eq!(fields["kind"], "normal");
    assert_eq!(fields["invoke"]["invoke_id"], 1);
    assert_eq!(fields["attribute"]["class_id"], 1);
    assert_eq!(fields["attribute"]["instance"], "0-0:43.1.0.255");
    assert_eq!(fields["attribute"]["attribute"], 2);
    assert!(fields["access"].is_null());
    assert!(get[0].get("wrapper").is_none());

    let response = decode_json(&["C401C1000600001391"]);
    let data = &response[0]["apdu"]["fields"]["result"]["data"];
    assert_eq!(data["type"], "double-long-unsigned");
    assert_eq!(data["value"], 5009);

    let aare = decode_json(&[PUBLIC_VECTORS[3].1]);
    let fields = &aare[0]["apdu"]["fields"];
    assert_eq!(fields["result"], "accepted");
    assert_eq!(fields["mechanism_name"], "hls-gmac");
    let conformance = fields["user_information"]["initiate-response"]["negotiated_conformance"]
        .as_array()
        .unwrap();
    assert!(conformance.contains(&Value::from("block-transfer-with-get-or-read")));
}

#[test]
fn deciphers_the_public_ciphered_vectors() {
    let get = decode_json(&with_keys(&[
        "--system-title",
        CLIENT_TITLE,
        GLO_GET_REQUEST,
    ]));
    let fields = &get[0]["apdu"]["fields"];
    assert_eq!(fields["tag"], "glo-get-request");
    assert_eq!(fields["security"]["invocation_counter"], 0x0123_4567);
    let deciphered = &fields["deciphered"];
    assert_eq!(deciphered["plaintext"], "C0010000080000010000FF0200");
    let attribute = &deciphered["apdu"]["fields"]["attribute"];
    assert_eq!(attribute["class_id"], 8);
    assert_eq!(attribute["instance"], "0-0:1.0.0.255");
    assert_eq!(attribute["attribute"], 2);

    // The AARQ carries the client's system title as calling-AP-title: no --system-title needed.
    let aarq = decode_json(&with_keys(&[CIPHERED_AARQ]));
    let deciphered = &aarq[0]["apdu"]["fields"]["user_information"]["ciphered"]["deciphered"];
    assert_eq!(
        deciphered["plaintext"],
        "01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0"
    );
    let initiate = &deciphered["apdu"]["fields"];
    assert_eq!(
        initiate["dedicated_key"],
        "00112233445566778899AABBCCDDEEFF"
    );
    assert_eq!(initiate["client_max_receive_pdu_size"], 1200);

    let text = stdout(&reanimator(
        &decode_with_keys(&["--system-title", CLIENT_TITLE, GLO_GET_REQUEST]),
        None,
    ));
    assert!(text.contains("  deciphered:\n"), "{text}");
    assert!(text.contains("        instance: 0-0:1.0.0.255\n"), "{text}");
}

#[test]
fn glo_apdus_take_the_title_of_the_aarq_before_them() {
    let input = format!("{CIPHERED_AARQ}\n{GLO_GET_REQUEST}\n");
    let output = reanimator(&decode_with_keys(&["--json"]), Some(&input));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let frames: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1]["input"], "line 2");
    assert_eq!(
        frames[1]["apdu"]["fields"]["deciphered"]["system_title"],
        CLIENT_TITLE
    );
}

#[test]
fn recognises_a_wrapper_frame() {
    let frames = decode_json(&[WRAPPED_GET]);
    let wrapper = &frames[0]["wrapper"];
    assert_eq!(wrapper["version"], 1);
    assert_eq!(wrapper["source"], 16);
    assert_eq!(wrapper["destination"], 1);
    assert_eq!(wrapper["length"], 13);
    assert_eq!(frames[0]["apdu"]["apdu"], "get-request");
    // Pasted unquoted, with spaces, it is the same frame.
    let spaced: Vec<String> = WRAPPED_GET
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let spaced: Vec<&str> = spaced.iter().map(String::as_str).collect();
    assert_eq!(decode_json(&spaced), frames);
}

#[test]
fn reads_stdin_and_files() {
    let input = format!("# a GET and its answer\n{WRAPPED_GET}\n\nC401C1000600001391\n");
    let from_stdin = reanimator(&["decode", "--json"], Some(&input));
    assert_eq!(from_stdin.status.code(), Some(0), "{}", stderr(&from_stdin));
    let lines: Vec<Value> = stdout(&from_stdin)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["input"], "line 2");
    assert_eq!(lines[1]["apdu"]["apdu"], "get-response");

    let path = std::env::temp_dir().join(format!("reanimator-decode-{}.hex", std::process::id()));
    std::fs::write(&path, &input).unwrap();
    let from_file = reanimator(
        &["decode", "--json", "--file", path.to_str().unwrap()],
        None,
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(from_file.status.code(), Some(0), "{}", stderr(&from_file));
    assert_eq!(stdout(&from_file), stdout(&from_stdin));

    let text = reanimator(&["decode"], Some(&input));
    assert!(
        stdout(&text).contains("input: line 4\napdu: get-response\n"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn truncated_input_gives_status_2_and_one_line_with_the_offset() {
    let output = reanimator(&["decode", "C001C1000100002B01"], None);
    let err = assert_fails_with_one_line(&output, 2);
    assert!(stdout(&output).is_empty());
    assert_eq!(
        err,
        "reanimator decode: at byte 5: expected 6 bytes of OBIS code, only 4 left\n"
    );

    let output = reanimator(
        &["decode", "000100100001000FC001C1000100002B0100FF0200"],
        None,
    );
    let err = assert_fails_with_one_line(&output, 2);
    assert!(
        err.contains("at byte 8: expected 15 bytes of APDU"),
        "{err}"
    );

    let output = reanimator(&["decode", "--json", "C0"], None);
    let err = assert_fails_with_one_line(&output, 2);
    assert!(err.contains("at byte 1: expected"), "{err}");
}

#[test]
fn bad_hex_gives_status_2_naming_the_character() {
    let output = reanimator(&["decode", "C001C1000100002B0100FF02Q0"], None);
    let err = assert_fails_with_one_line(&output, 2);
    assert_eq!(
        err,
        "reanimator decode: argument 1, column 25: 'Q' is not a hex digit\n"
    );
    let output = reanimator(&["decode"], Some("C0 01\nC1 0"));
    let err = assert_fails_with_one_line(&output, 2);
    assert!(err.contains("line 2, odd number of hex digits"), "{err}");
    let output = reanimator(&["decode"], Some(""));
    assert_fails_with_one_line(&output, 2);
}

#[test]
fn content_that_does_not_decipher_is_shown_then_reported() {
    let output = reanimator(
        &decode_with_keys(&["--system-title", "4D4D4D0000000001", GLO_GET_REQUEST]),
        None,
    );
    let err = assert_fails_with_one_line(&output, 2);
    assert!(
        err.contains("cannot decipher the glo-get-request: authentication tag mismatch"),
        "{err}"
    );
    assert!(stdout(&output).contains("apdu: ciphered\n"));

    let output = reanimator(&decode_with_keys(&[GLO_GET_REQUEST]), None);
    let err = assert_fails_with_one_line(&output, 2);
    assert!(err.contains("give --system-title"), "{err}");
}

#[test]
fn rejects_half_a_key_pair_and_bad_keys() {
    let output = reanimator(&["decode", "--ek", EK, GLO_GET_REQUEST], None);
    assert_eq!(output.status.code(), Some(2));
    let output = reanimator(
        &["decode", "--ek", "0011", "--ak", AK, GLO_GET_REQUEST],
        None,
    );
    let err = assert_fails_with_one_line(&output, 2);
    assert!(err.contains("--ek: a key is 16 bytes, got 2"), "{err}");
}
