//! `reanimator decode`: explains captured wrapper frames and bare APDUs as indented text or JSON,
//! deciphering ciphered APDUs when given the keys.
//!
//! Input is hex. A buffer starting with 0x00 is read as wrapper frames (no APDU tag is 0x00), so a
//! wrong version or a length that does not match is reported rather than guessed around; anything
//! else is one bare APDU. Several frames may come one per line (or one per argument); a frame
//! may also be spread over several lines, which is recognised by its first line not being a
//! complete frame on its own.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::{text, Failure};
use crate::dlms::acse::UserInformation;
use crate::dlms::apdu::Apdu;
use crate::dlms::codec::{hex, Codec, DecodeError, Reader};
use crate::dlms::security::{
    ciphered_tag_name, unprotect, CipheredContent, CipheringKey, Keys, SystemTitle,
};
use crate::dlms::wrapper::{WrapperFrame, HEADER_LEN};

/// How many ciphered layers are opened inside one another before giving up.
const MAX_CIPHER_DEPTH: usize = 4;

/// `reanimator decode` arguments.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_help = "\
Input: hex, white space and ':' '-' ',' separators allowed, '#' starts a comment line. A buffer
starting with 00 is read as wrapper frames (header 00 01 ..., several may follow one another; no
APDU tag is 00); anything else is one APDU. Several frames go one per line (or one per argument).

Deciphering: the sender's system title comes from the frame when it carries one
(general-glo-ciphering; calling-AP-title of an AARQ; responding-AP-title of an AARE), else from
--system-title, else from the AARQ (client) or AARE (server) seen earlier in the same input.

Exit status: 0 decoded, 2 invalid input (bad hex, bytes that do not decode, or ciphered content
that does not decipher with the keys given), 1 anything else.")]
pub struct DecodeArgs {
    /// The frame as hex; `decode 00 01 00 10 ...` works unquoted. Several arguments that are each a
    /// whole frame are several frames.
    #[arg(value_name = "HEX", conflicts_with = "file")]
    pub hex: Vec<String>,

    /// Read the hex from FILE (one frame per line if several); stdin when neither HEX nor FILE is given.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Print one JSON document per frame, one per line, instead of text.
    #[arg(long)]
    pub json: bool,

    /// Block-cipher key (EK, 16 bytes hex) to decipher ciphered APDUs; needs --ak.
    #[arg(long, value_name = "HEX", requires = "ak")]
    pub ek: Option<String>,

    /// Authentication key (AK, 16 bytes hex); needs --ek.
    #[arg(long, value_name = "HEX", requires = "ek")]
    pub ak: Option<String>,

    /// The sender's system title (8 bytes hex) for glo- and ded- APDUs, which do not carry it.
    #[arg(long, value_name = "HEX")]
    pub system_title: Option<String>,
}

/// Runs the command: reads the input, writes the explanation to `out`.
pub fn run(args: &DecodeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let options = Options::from_args(args).map_err(Failure::invalid_input)?;
    let input = read_input(args)?;
    let decoded = explain(&input, &options).map_err(Failure::invalid_input)?;
    write_frames(out, &decoded.frames, args.json)?;
    match decoded.problems.into_iter().next() {
        Some(problem) => Err(Failure::invalid_input(problem)),
        None => Ok(()),
    }
}

/// The input text, and what a piece of it is called in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub text: String,
    /// "line" for a file or stdin, "argument" for the command line.
    pub noun: &'static str,
}

fn read_input(args: &DecodeArgs) -> Result<Input, Failure> {
    if !args.hex.is_empty() {
        return Ok(Input {
            text: args.hex.join("\n"),
            noun: "argument",
        });
    }
    let text = match &args.file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::invalid_input(format!("cannot read {}: {e}", path.display())))?,
        None => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(Failure::invalid_input(
                    "no input: give the hex as arguments, with --file, or on stdin",
                ));
            }
            let mut text = String::new();
            stdin
                .lock()
                .read_to_string(&mut text)
                .map_err(|e| Failure::invalid_input(format!("cannot read stdin: {e}")))?;
            text
        }
    };
    Ok(Input { text, noun: "line" })
}

fn write_frames(out: &mut dyn Write, frames: &[Value], json: bool) -> Result<(), Failure> {
    let mut text = String::new();
    for (i, frame) in frames.iter().enumerate() {
        if json {
            text.push_str(&frame.to_string());
        } else {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(&text::render(frame));
        }
        if json {
            text.push('\n');
        }
    }
    super::write_out(out, text.as_bytes())
}

/// What deciphering needs: the keys and, for glo-/ded- APDUs, the sender's system title.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub keys: Option<Keys>,
    pub system_title: Option<SystemTitle>,
}

impl Options {
    fn from_args(args: &DecodeArgs) -> Result<Self, String> {
        let keys = match (&args.ek, &args.ak) {
            (Some(ek), Some(ak)) => Some(Keys::new(key("--ek", ek)?, key("--ak", ak)?)),
            (None, None) => None,
            _ => return Err("--ek and --ak go together".into()),
        };
        let system_title = match &args.system_title {
            Some(text) => {
                let bytes = hex::decode(text).map_err(|e| format!("--system-title: {e}"))?;
                Some(SystemTitle::from_slice(&bytes).map_err(|e| format!("--system-title: {e}"))?)
            }
            None => None,
        };
        Ok(Options { keys, system_title })
    }
}

fn key(flag: &str, text: &str) -> Result<[u8; 16], String> {
    let bytes = hex::decode(text).map_err(|e| format!("{flag}: {e}"))?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("{flag}: a key is 16 bytes, got {}", bytes.len()))
}

/// The frames of an input, as JSON trees, and the first problems met while deciphering them.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    pub frames: Vec<Value>,
    /// Ciphered content that would not decipher; the frames still show everything else.
    pub problems: Vec<String>,
}

/// Decodes every frame of `input`; an `Err` is one line naming where the input is invalid.
pub fn explain(input: &Input, options: &Options) -> Result<Decoded, String> {
    let units = units(input)?;
    let several = units.len() > 1;
    let mut decoder = Decoder::new(options);
    let mut frames = Vec::new();
    for unit in &units {
        let raw = split_frames(&unit.bytes).map_err(|e| unit.locate(&e.to_string()))?;
        let framed_several = raw.len() > 1;
        for frame in raw {
            let problems_before = decoder.problems.len();
            let mut tree = Map::new();
            let label = match (&unit.name, framed_several) {
                (Some(name), true) => Some(format!("{name}, byte {}", frame.start)),
                (Some(name), false) => Some(name.clone()),
                (None, true) => Some(format!("byte {}", frame.start)),
                (None, false) => None,
            };
            if let Some(label) = &label {
                tree.insert("input".into(), label.clone().into());
            }
            if let Some(w) = &frame.wrapper {
                tree.insert(
                    "wrapper".into(),
                    json!({"version": 1, "source": w.source, "destination": w.destination,
                           "length": w.apdu.len()}),
                );
            }
            let apdu = decoder
                .apdu(frame.apdu(), frame.apdu_start(), 0)
                .map_err(|e| unit.locate(&e.to_string()))?;
            tree.insert("apdu".into(), apdu);
            if several || framed_several {
                let label = label.unwrap_or_default();
                for p in &mut decoder.problems[problems_before..] {
                    *p = format!("{label}: {p}");
                }
            }
            frames.push(Value::Object(tree));
        }
    }
    Ok(Decoded {
        frames,
        problems: decoder.problems,
    })
}

/// The bytes of one frame or of a run of wrapper frames, with its name when the input has several.
struct Unit {
    name: Option<String>,
    bytes: Vec<u8>,
}

impl Unit {
    fn locate(&self, message: &str) -> String {
        match &self.name {
            Some(name) => format!("{name}: {message}"),
            None => message.to_string(),
        }
    }
}

/// One unit per line when the first line is a whole frame by itself, else all lines as one.
fn units(input: &Input) -> Result<Vec<Unit>, String> {
    let pieces: Vec<(usize, &str)> = input
        .text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#')
        })
        .collect();
    let name = |n: usize| format!("{} {n}", input.noun);
    let parse = |&(n, line): &(usize, &str)| {
        crate::dlms::codec::hex::decode(line).map_err(|e| format!("{}, {e}", name(n)))
    };
    let Some(first) = pieces.first() else {
        return Err("no hex input".into());
    };
    let first_bytes = parse(first)?;
    if pieces.len() == 1 {
        return Ok(vec![Unit {
            name: None,
            bytes: first_bytes,
        }]);
    }
    if is_whole(&first_bytes) {
        return pieces
            .iter()
            .map(|piece| {
                Ok(Unit {
                    name: Some(name(piece.0)),
                    bytes: parse(piece)?,
                })
            })
            .collect();
    }
    let mut bytes = first_bytes;
    for piece in &pieces[1..] {
        bytes.extend(parse(piece)?);
    }
    Ok(vec![Unit { name: None, bytes }])
}

/// Whether these bytes decode as whole frames with nothing missing or left over.
fn is_whole(bytes: &[u8]) -> bool {
    split_frames(bytes)
        .is_ok_and(|frames| frames.iter().all(|f| Apdu::from_bytes(f.apdu()).is_ok()))
}

/// One frame found in a unit: where it starts and, when framed, its wrapper.
struct RawFrame<'a> {
    start: usize,
    wrapper: Option<WrapperFrame>,
    bare: &'a [u8],
}

impl RawFrame<'_> {
    fn apdu(&self) -> &[u8] {
        match &self.wrapper {
            Some(w) => &w.apdu,
            None => self.bare,
        }
    }

    fn apdu_start(&self) -> usize {
        match self.wrapper {
            Some(_) => self.start + HEADER_LEN,
            None => self.start,
        }
    }
}

/// Wrapper frames one after another when the buffer starts with 0x00, else one bare APDU.
fn split_frames(bytes: &[u8]) -> Result<Vec<RawFrame<'_>>, DecodeError> {
    if bytes.first() != Some(&0x00) {
        return Ok(vec![RawFrame {
            start: 0,
            wrapper: None,
            bare: bytes,
        }]);
    }
    let mut r = Reader::new(bytes);
    let mut frames = Vec::new();
    while !r.is_empty() {
        let start = r.offset();
        let wrapper = WrapperFrame::read(&mut r)?;
        frames.push(RawFrame {
            start,
            wrapper: Some(wrapper),
            bare: &[],
        });
    }
    Ok(frames)
}

/// Decodes APDUs in input order, remembering the system titles and dedicated key it has seen.
struct Decoder<'o> {
    options: &'o Options,
    client_title: Option<SystemTitle>,
    server_title: Option<SystemTitle>,
    dedicated_key: Option<[u8; 16]>,
    problems: Vec<String>,
}

impl<'o> Decoder<'o> {
    fn new(options: &'o Options) -> Self {
        Decoder {
            options,
            client_title: None,
            server_title: None,
            dedicated_key: None,
            problems: Vec::new(),
        }
    }

    /// One whole APDU starting at offset `base` of its unit, as a JSON tree.
    fn apdu(&mut self, bytes: &[u8], base: usize, depth: usize) -> Result<Value, DecodeError> {
        let mut r = Reader::with_base(bytes, base);
        let apdu = Apdu::read(&mut r)?;
        r.expect_end()?;
        self.learn(&apdu);
        let mut tree = serde_json::to_value(&apdu)
            .unwrap_or_else(|e| json!({"apdu": apdu.name(), "error": e.to_string()}));
        self.decipher(&apdu, &mut tree, depth);
        Ok(tree)
    }

    fn learn(&mut self, apdu: &Apdu) {
        let title =
            |t: &Option<Vec<u8>>| t.as_deref().and_then(|t| SystemTitle::from_slice(t).ok());
        match apdu {
            Apdu::Aarq(a) => self.client_title = title(&a.calling_ap_title).or(self.client_title),
            Apdu::Aare(a) => {
                self.server_title = title(&a.responding_ap_title).or(self.server_title)
            }
            Apdu::InitiateRequest(i) => {
                if let Some(key) = i.dedicated_key.as_deref().and_then(|k| k.try_into().ok()) {
                    self.dedicated_key = Some(key);
                }
            }
            _ => {}
        }
    }

    /// Adds the security header and, with keys, the deciphered APDU beside ciphered content.
    fn decipher(&mut self, apdu: &Apdu, tree: &mut Value, depth: usize) {
        let Some(fields) = tree.get_mut("fields") else {
            return;
        };
        match apdu {
            Apdu::Ciphered(g) => {
                let by_client = g.plain_tag().is_some_and(sent_by_client);
                let title = self.sender_title(None, by_client);
                let key = g.key().unwrap_or(CipheringKey::Global);
                let what = ciphered_tag_name(g.tag).unwrap_or("ciphered APDU");
                self.open(Some(fields), &g.content, title, key, what, depth);
            }
            Apdu::GeneralCiphered(g) => {
                let title = SystemTitle::from_slice(&g.system_title).map_err(|e| e.to_string());
                self.open(
                    Some(fields),
                    &g.content,
                    title,
                    g.key,
                    "general-ciphering APDU",
                    depth,
                );
            }
            Apdu::Aarq(a) => self.user_information(
                fields,
                &a.user_information,
                &a.calling_ap_title,
                true,
                depth,
            ),
            Apdu::Aare(a) => self.user_information(
                fields,
                &a.user_information,
                &a.responding_ap_title,
                false,
                depth,
            ),
            Apdu::Rlrq(r) => self.user_information(fields, &r.user_information, &None, true, depth),
            Apdu::Rlre(r) => {
                self.user_information(fields, &r.user_information, &None, false, depth)
            }
            _ => {}
        }
    }

    fn user_information(
        &mut self,
        fields: &mut Value,
        info: &Option<UserInformation>,
        carried_title: &Option<Vec<u8>>,
        by_client: bool,
        depth: usize,
    ) {
        let node = fields.get_mut("user_information");
        match info {
            Some(UserInformation::Ciphered(g)) => {
                let title = self.sender_title(carried_title.as_deref(), by_client);
                let key = g.key().unwrap_or(CipheringKey::Global);
                let what = ciphered_tag_name(g.tag).unwrap_or("user-information");
                let node = node.and_then(|n| n.get_mut("ciphered"));
                self.open(node, &g.content, title, key, what, depth);
            }
            Some(UserInformation::GeneralCiphered(g)) => {
                let title = SystemTitle::from_slice(&g.system_title).map_err(|e| e.to_string());
                self.open(
                    node.and_then(|n| n.get_mut("general-ciphered")),
                    &g.content,
                    title,
                    g.key,
                    "general-ciphering user-information",
                    depth,
                );
            }
            _ => {}
        }
    }

    /// The title carried in the frame, else --system-title, else the one seen for that side.
    fn sender_title(&self, carried: Option<&[u8]>, by_client: bool) -> Result<SystemTitle, String> {
        if let Some(carried) = carried {
            return SystemTitle::from_slice(carried).map_err(|e| e.to_string());
        }
        let learned = if by_client {
            self.client_title
        } else {
            self.server_title
        };
        self.options.system_title.or(learned).ok_or_else(|| {
            let side = if by_client { "client (calling-AP-title of an AARQ)" } else { "server (responding-AP-title of an AARE)" };
            format!("the sender's system title is not known: give --system-title, or include the {side} in the input")
        })
    }

    fn open(
        &mut self,
        node: Option<&mut Value>,
        content: &[u8],
        title: Result<SystemTitle, String>,
        key: CipheringKey,
        what: &str,
        depth: usize,
    ) {
        let Some(Value::Object(node)) = node else {
            return;
        };
        let header = match CipheredContent::parse(content) {
            Ok(c) => json!({"security_control": c.sc, "invocation_counter": c.invocation_counter}),
            Err(e) => json!({"error": e.to_string()}),
        };
        node.insert("security".into(), header);
        let Some(keys) = self.options.keys.clone() else {
            return;
        };
        let deciphered = match self.open_with(content, title, key, &keys, depth) {
            Ok(tree) => tree,
            Err(why) => {
                self.problems
                    .push(format!("cannot decipher the {what}: {why}"));
                json!({ "error": why })
            }
        };
        node.insert("deciphered".into(), deciphered);
    }

    fn open_with(
        &mut self,
        content: &[u8],
        title: Result<SystemTitle, String>,
        key: CipheringKey,
        keys: &Keys,
        depth: usize,
    ) -> Result<Value, String> {
        if depth >= MAX_CIPHER_DEPTH {
            return Err(format!(
                "more than {MAX_CIPHER_DEPTH} ciphered layers inside one another"
            ));
        }
        let title = title?;
        let keys = match key {
            CipheringKey::Global => keys.clone(),
            CipheringKey::Dedicated => keys.with_ek(self.dedicated_key.ok_or(
                "a ded- APDU needs the dedicated key, carried by an InitiateRequest earlier in the input",
            )?),
        };
        let opened = unprotect(&title, &keys, content).map_err(|e| e.to_string())?;
        let apdu = self.apdu(&opened.plaintext, 0, depth + 1).map_err(|e| {
            format!(
                "the plaintext {} does not decode: {e}",
                hex::encode(&opened.plaintext)
            )
        })?;
        Ok(json!({
            "system_title": hex::encode(&title.0),
            "plaintext": hex::encode(&opened.plaintext),
            "apdu": apdu,
        }))
    }
}

/// Whether a plain APDU of this tag travels from client to server.
fn sent_by_client(plain_tag: u8) -> bool {
    matches!(plain_tag, 0x01 | 0x05 | 0x06 | 0x16 | 0xC0 | 0xC1 | 0xC3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::security::{GloCiphered, SecurityControl};
    use proptest::prelude::*;

    /// REFERENCE.md section 1: the Green Book keys and client system title.
    const EK: &str = "000102030405060708090A0B0C0D0E0F";
    const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
    const TITLE: &str = "4D4D4D0000BC614E";
    /// REFERENCE.md section 1: ciphered AARQ whose InitiateRequest carries a dedicated key.
    const CIPHERED_AARQ: &str = "6066A109060760857405080103A60A04084D4D4D0000BC614E8A02078\
        08B0760857405080201AC0A80083132333435363738BE34043221303001234567801302FF8A7874133D41\
        4CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855";
    const GLO_GET: &str = "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B";

    fn lines(text: &str) -> Input {
        Input {
            text: text.to_string(),
            noun: "line",
        }
    }

    fn keys() -> Options {
        Options {
            keys: Some(Keys::from_hex(EK, AK).unwrap()),
            system_title: None,
        }
    }

    #[test]
    fn parses_hex_with_separators_and_prefixes() {
        assert_eq!(
            crate::dlms::codec::hex::decode("0xC0 01:c1-00,0X02").unwrap(),
            [0xC0, 0x01, 0xC1, 0x00, 0x02]
        );
        assert_eq!(
            crate::dlms::codec::hex::decode("  C0 0z").unwrap_err(),
            "column 7: 'z' is not a hex digit"
        );
        assert!(crate::dlms::codec::hex::decode("C0 1")
            .unwrap_err()
            .starts_with("odd number of hex digits (3)"));
        assert_eq!(
            crate::dlms::codec::hex::decode("").unwrap(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn names_the_line_and_column_of_bad_hex() {
        let err = explain(
            &lines("C001C1000100002B0100FF0200\n  C4 01 G1\n"),
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(err, "line 2, column 9: 'G' is not a hex digit");
    }

    #[test]
    fn reads_one_frame_per_line_or_one_frame_over_lines() {
        let per_line = explain(
            &lines("# GET and its answer\nC001C1000100002B0100FF0200\n\nC401C1000600001391\n"),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(per_line.frames.len(), 2);
        assert_eq!(per_line.frames[0]["input"], "line 2");
        assert_eq!(per_line.frames[1]["input"], "line 4");
        assert_eq!(per_line.frames[1]["apdu"]["apdu"], "get-response");
        let spread = explain(
            &lines("C0 01 C1 00 01\n00 00 2B 01 00 FF\n02 00"),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(spread.frames.len(), 1);
        assert!(spread.frames[0].get("input").is_none());
        assert_eq!(
            spread.frames[0]["apdu"]["fields"]["attribute"]["instance"],
            "0-0:43.1.0.255"
        );
    }

    #[test]
    fn reads_consecutive_wrapper_frames() {
        // gurux-dlms 1.0.203 GET frame and the reply to it (REFERENCE.md section 1 APDUs).
        let stream =
            "000100100001000DC001C1000100002B0100FF0200 0001000100100009C401C1000600001391";
        let decoded = explain(&lines(stream), &Options::default()).unwrap();
        assert_eq!(decoded.frames.len(), 2);
        assert_eq!(decoded.frames[1]["input"], "byte 21");
        assert_eq!(decoded.frames[1]["wrapper"]["source"], 1);
        assert_eq!(decoded.frames[1]["wrapper"]["length"], 9);
    }

    #[test]
    fn rejects_truncated_and_mismatched_frames_with_offsets() {
        let err = |text: &str| explain(&lines(text), &Options::default()).unwrap_err();
        assert_eq!(
            err("C001C1000100002B01"),
            "at byte 5: expected 6 bytes of OBIS code, only 4 left"
        );
        assert_eq!(
            err("000100100001000FC001C1000100002B0100FF0200"),
            "at byte 8: expected 15 bytes of APDU, only 13 left"
        );
        assert!(err("0002001000010001C0").starts_with("at byte 0: expected wrapper version 0x0001"));
        // An error inside the second wrapper frame counts from the start of the buffer.
        let second_truncated = "000100100001000DC001C1000100002B0100FF0200 0001000100100002C401";
        assert!(
            err(second_truncated).starts_with("at byte 31:"),
            "{}",
            err(second_truncated)
        );
        assert_eq!(err("\n# nothing\n"), "no hex input");
    }

    #[test]
    fn deciphers_with_the_title_seen_in_the_aarq_and_the_dedicated_key() {
        let keys = keys();
        let title = SystemTitle::from_hex(TITLE).unwrap();
        // The InitiateRequest of the ciphered AARQ carries dedicated key 00112233..FF.
        let dedicated = Keys::from_hex("00112233445566778899AABBCCDDEEFF", AK).unwrap();
        let ded_get = GloCiphered::seal(
            CipheringKey::Dedicated,
            &hex::decode("C001C1000100002B0100FF0200").unwrap(),
            SecurityControl::new(0, true, true),
            &title,
            7,
            &dedicated,
        )
        .unwrap();
        let input = format!(
            "{CIPHERED_AARQ}\n{GLO_GET}\n{}",
            hex::encode(&ded_get.to_bytes())
        );
        let decoded = explain(&lines(&input), &keys).unwrap();
        assert_eq!(decoded.problems, Vec::<String>::new());
        let initiate =
            &decoded.frames[0]["apdu"]["fields"]["user_information"]["ciphered"]["deciphered"];
        assert_eq!(initiate["apdu"]["apdu"], "initiate-request");
        let get = &decoded.frames[1]["apdu"]["fields"]["deciphered"];
        assert_eq!(get["plaintext"], "C0010000080000010000FF0200");
        assert_eq!(
            get["apdu"]["fields"]["attribute"]["instance"],
            "0-0:1.0.0.255"
        );
        let ded = &decoded.frames[2]["apdu"]["fields"];
        assert_eq!(ded["tag"], "ded-get-request");
        assert_eq!(
            ded["deciphered"]["apdu"]["fields"]["attribute"]["class_id"],
            1
        );
    }

    #[test]
    fn deciphers_general_glo_ciphering_with_its_own_title() {
        // u9n dlms-cosem tests/test_gen_glo_cipher.py, keys "MYDUMMYGLOBALKEY".
        let frame = "DB082F19229199164103 3B 30000001E5025CE9D2271FD78BE8C204211A916A9D7F587E0A7A\
            814CADEA89E9593F01F92EA8C087B5BDFDEFEAB6BECF282DFE49C08F5BE6DC8400";
        let options = Options {
            keys: Some(Keys::from_slices(b"MYDUMMYGLOBALKEY", b"MYDUMMYGLOBALKEY").unwrap()),
            system_title: None,
        };
        let decoded = explain(&lines(frame), &options).unwrap();
        assert!(decoded.problems.is_empty(), "{:?}", decoded.problems);
        let deciphered = &decoded.frames[0]["apdu"]["fields"]["deciphered"];
        assert_eq!(deciphered["system_title"], "2F19229199164103");
        assert_eq!(deciphered["apdu"]["apdu"], "data-notification");
    }

    #[test]
    fn reports_content_that_does_not_decipher() {
        let mut options = keys();
        options.system_title = Some(SystemTitle::from_hex("4D4D4D0000000001").unwrap());
        let decoded = explain(&lines(GLO_GET), &options).unwrap();
        assert_eq!(decoded.frames.len(), 1);
        assert_eq!(
            decoded.problems,
            [
                "cannot decipher the glo-get-request: authentication tag mismatch: \
              wrong key, wrong system title or tampered data"
            ]
        );
        let fields = &decoded.frames[0]["apdu"]["fields"];
        assert!(fields["deciphered"]["error"].is_string());
        assert_eq!(fields["security"]["invocation_counter"], 0x0123_4567);
    }

    #[test]
    fn shows_the_security_header_without_keys() {
        let decoded = explain(&lines(GLO_GET), &Options::default()).unwrap();
        assert!(decoded.problems.is_empty());
        let fields = &decoded.frames[0]["apdu"]["fields"];
        assert_eq!(fields["security"]["security_control"]["encrypted"], true);
        assert!(fields.get("deciphered").is_none());
    }

    #[test]
    fn rejects_bad_keys_and_titles() {
        let args = |ek: &str, title: Option<&str>| DecodeArgs {
            ek: Some(ek.into()),
            ak: Some(AK.into()),
            system_title: title.map(str::to_string),
            ..DecodeArgs::default()
        };
        assert_eq!(
            Options::from_args(&args("0001", None)).unwrap_err(),
            "--ek: a key is 16 bytes, got 2"
        );
        assert!(Options::from_args(&args(EK, Some("4D4D")))
            .unwrap_err()
            .starts_with("--system-title:"));
        assert!(Options::from_args(&args(EK, Some(TITLE))).is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let options = Options { system_title: Some(SystemTitle::from_hex(TITLE).unwrap()), ..keys() };
            let _ = explain(&lines(&hex::encode(&bytes)), &options);
            let mut framed = vec![0, 1, 0, 16, 0, 1];
            framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            framed.extend_from_slice(&bytes);
            if let Ok(decoded) = explain(&lines(&hex::encode(&framed)), &options) {
                for frame in &decoded.frames {
                    let _ = text::render(frame);
                }
            }
        }
    }
}
