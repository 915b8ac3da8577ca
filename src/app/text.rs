//! Renders a decoded frame's JSON tree as indented text, one line per field, the way the Gurux
//! translator shows a PDU to its users.
//!
//! The renderer is generic: it knows a few shapes of node (an APDU `{apdu, fields}`, an A-XDR
//! value `{type, value}`, a COSEM date, time or date-time, and the flag bytes invoke-id-and-priority
//! and security control, each shown on one line), and [`annotate`] adds what a reader needs beside
//! a raw value (interface-class names, attribute and method names, readable date-times, printable
//! strings, system-title manufacturers). Everything else is shown as serialized.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::names::{attribute_name, class_name, method_name};
use crate::dlms::acse::{ApplicationContext, Mechanism};
use crate::dlms::codec::{hex, Codec};
use crate::dlms::data::type_name;
use crate::dlms::datetime::{Date, DateTime, DeviationConvention, Time};
use crate::dlms::security::ciphered_tag_name;

/// How far the renderer follows nesting before it prints the rest as JSON (the decoder already
/// bounds nesting; this keeps the renderer's own recursion bounded whatever tree it is given).
const MAX_DEPTH: usize = 64;

/// The whole tree as text: each entry of the top-level object at indentation 0.
pub fn render(tree: &Value) -> String {
    let mut out = String::new();
    match tree {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| field(&mut out, 0, k, v, Some(map))),
        other => field(&mut out, 0, "value", other, None),
    }
    out
}

/// One field: a line `key: summary`, then its children one level deeper.
fn field(
    out: &mut String,
    depth: usize,
    key: &str,
    value: &Value,
    parent: Option<&Map<String, Value>>,
) {
    let indent = "  ".repeat(depth);
    let label = key.replace('_', "-");
    if depth >= MAX_DEPTH {
        let _ = writeln!(out, "{indent}{label}: {value}");
        return;
    }
    let (summary, children) = summarize(value);
    let note = annotate(key, value, parent)
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let sep = if summary.is_empty() && note.is_empty() {
        ":"
    } else {
        ": "
    };
    let _ = writeln!(out, "{indent}{label}{sep}{summary}{note}");
    match children {
        Children::None => {}
        Children::Fields(map) => map
            .iter()
            .for_each(|(k, v)| field(out, depth + 1, k, v, Some(map))),
        Children::Items(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| field(out, depth + 1, &format!("[{i}]"), v, None)),
    }
}

enum Children<'a> {
    None,
    Fields(&'a Map<String, Value>),
    Items(&'a [Value]),
}

/// The text after `key:` and what to print beneath it.
fn summarize(value: &Value) -> (String, Children<'_>) {
    match value {
        Value::Null => ("absent".into(), Children::None),
        Value::Bool(b) => (b.to_string(), Children::None),
        Value::Number(n) => (n.to_string(), Children::None),
        Value::String(s) => (s.clone(), Children::None),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            let text = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            (text, Children::None)
        }
        Value::Array(items) => (format!("{} items", items.len()), Children::Items(items)),
        Value::Object(map) => summarize_object(map),
    }
}

fn summarize_object(map: &Map<String, Value>) -> (String, Children<'_>) {
    if let (Some(Value::String(name)), Some(fields)) = (map.get("apdu"), map.get("fields")) {
        return match fields {
            Value::Object(fields) => (name.clone(), Children::Fields(fields)),
            other => (format!("{name} {other}"), Children::None),
        };
    }
    if let Some(type_name) = data_type(map) {
        return summarize_data(type_name, map.get("value"));
    }
    if let Some(text) = flag_byte(map) {
        return (text, Children::None);
    }
    if let Some(text) = date_time(map).map(|dt| date_time_text(&dt)) {
        return (text, Children::None);
    }
    if let Some(date) = date(map) {
        return (date.to_string(), Children::None);
    }
    if let Some(time) = time(map) {
        return (time.to_string(), Children::None);
    }
    (String::new(), Children::Fields(map))
}

/// Bytes that are a set of flags (invoke-id-and-priority, security control) on one line.
fn flag_byte(map: &Map<String, Value>) -> Option<String> {
    let flag = |key: &str| map.get(key).and_then(Value::as_bool);
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut parts = Vec::new();
    match keys.as_slice() {
        ["invoke_id", "confirmed", "high_priority"]
        | ["invoke_id", "self_descriptive", "break_on_error", "confirmed", "high_priority"] => {
            parts.push(format!("id {}", map.get("invoke_id")?.as_u64()?));
            parts.push(
                if flag("confirmed")? {
                    "confirmed"
                } else {
                    "unconfirmed"
                }
                .into(),
            );
            let priority = if flag("high_priority")? {
                "high priority"
            } else {
                "normal priority"
            };
            parts.push(priority.into());
            for (key, name) in [
                ("self_descriptive", "self-descriptive"),
                ("break_on_error", "break-on-error"),
            ] {
                if flag(key) == Some(true) {
                    parts.push(name.into());
                }
            }
            Some(parts.join(", "))
        }
        ["suite", "authenticated", "encrypted", "broadcast_key", "compressed"] => {
            let suite = u8::try_from(map.get("suite")?.as_u64()?).ok()?;
            let mut byte = suite;
            parts.push(format!("suite {suite}"));
            for (key, bit, name) in [
                ("authenticated", 0x10, "authenticated"),
                ("encrypted", 0x20, "encrypted"),
                ("broadcast_key", 0x40, "broadcast key"),
                ("compressed", 0x80, "compressed"),
            ] {
                if flag(key)? {
                    byte |= bit;
                    parts.push(name.into());
                }
            }
            Some(format!("0x{byte:02X}: {}", parts.join(", ")))
        }
        _ => None,
    }
}

/// An A-XDR value: its type, then its value on the same line, or its elements beneath.
fn summarize_data<'a>(type_name: &str, value: Option<&'a Value>) -> (String, Children<'a>) {
    match value {
        None => (type_name.to_string(), Children::None),
        Some(Value::Array(items)) => {
            let noun = if items.len() == 1 {
                "element"
            } else {
                "elements"
            };
            (
                format!("{type_name}, {} {noun}", items.len()),
                Children::Items(items),
            )
        }
        Some(Value::Object(inner)) => match date_time(inner) {
            Some(dt) => (
                format!("{type_name} {}", date_time_text(&dt)),
                Children::None,
            ),
            None => match date(inner)
                .map(|d| d.to_string())
                .or_else(|| time(inner).map(|t| t.to_string()))
            {
                Some(text) => (format!("{type_name} {text}"), Children::None),
                None => (type_name.to_string(), Children::Fields(inner)),
            },
        },
        Some(scalar) => {
            let (text, _) = summarize(scalar);
            (format!("{type_name} {text}"), Children::None)
        }
    }
}

/// What a reader needs beside the raw value, decided in this one place.
fn annotate(key: &str, value: &Value, parent: Option<&Map<String, Value>>) -> Option<String> {
    let class_id = || {
        parent?
            .get("class_id")?
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
    };
    match (key, value) {
        ("class_id", Value::Number(n)) => {
            class_name(u16::try_from(n.as_u64()?).ok()?).map(str::to_string)
        }
        ("attribute", Value::Number(n)) => {
            attribute_name(class_id()?, n.as_i64()?).map(str::to_string)
        }
        ("method", Value::Number(n)) => method_name(class_id()?, n.as_i64()?).map(str::to_string),
        ("selector", Value::Number(n)) => match n.as_u64()? {
            1 => Some("range_descriptor".into()),
            2 => Some("entry_descriptor".into()),
            _ => None,
        },
        ("tag", Value::Number(n)) => {
            let tag = u8::try_from(n.as_u64()?).ok()?;
            Some(match ciphered_tag_name(tag) {
                Some(name) => format!("0x{tag:02X}, {name}"),
                None => format!("0x{tag:02X}"),
            })
        }
        ("invocation_counter", Value::Number(n)) => Some(format!("0x{:08X}", n.as_u64()?)),
        (
            "system_title" | "calling_ap_title" | "responding_ap_title" | "called_ap_title",
            Value::String(s),
        ) => manufacturer(s),
        ("char-string", Value::String(s)) => printable(s),
        ("mechanism_name", Value::String(s)) => mechanism(s),
        ("application_context_name", Value::String(s)) => application_context(s),
        (_, Value::Object(map)) => annotate_data(map),
        _ => None,
    }
}

/// The wire number of a mechanism or application context, from the name it serializes as.
fn mechanism(name: &str) -> Option<String> {
    let id = (0..=u8::MAX).find(|&v| Mechanism::from_u8(v).name() == name)?;
    Some(format!("mechanism {id}"))
}

fn application_context(name: &str) -> Option<String> {
    let id = (0..=u8::MAX).find(|&v| ApplicationContext::from_u8(v).name() == name)?;
    Some(format!("context {id}"))
}

/// Octet-strings that hold a date-time or text, and structures that are capture objects.
fn annotate_data(map: &Map<String, Value>) -> Option<String> {
    match (data_type(map)?, map.get("value")?) {
        ("octet-string", Value::String(s)) => {
            let bytes = hex::decode(s).ok()?;
            if bytes.len() == DateTime::LEN {
                let dt = DateTime::from_bytes(&bytes).ok().filter(plausible)?;
                return Some(format!("date-time {}", describe_date_time(&dt)));
            }
            printable(s)
        }
        ("structure", Value::Array(items)) => capture_object(items),
        _ => None,
    }
}

/// `structure {long-unsigned class, octet-string(6) OBIS, integer attribute, long-unsigned index}`.
fn capture_object(items: &[Value]) -> Option<String> {
    let [class, ln, attribute, index] = items else {
        return None;
    };
    let typed = |v: &Value, t: &str| -> Option<Value> {
        let m = v.as_object()?;
        (data_type(m)? == t)
            .then(|| m.get("value").cloned())
            .flatten()
    };
    let class = u16::try_from(typed(class, "long-unsigned")?.as_u64()?).ok()?;
    let ln = hex::decode(typed(ln, "octet-string")?.as_str()?).ok()?;
    let ln = crate::dlms::obis::Obis::from_bytes(&ln).ok()?;
    let attribute = typed(attribute, "integer")?.as_i64()?;
    let index = typed(index, "long-unsigned")?.as_u64()?;
    let class_text = match class_name(class) {
        Some(name) => format!("{name} ({class})"),
        None => format!("class {class}"),
    };
    let attribute_text = match attribute_name(class, attribute) {
        Some(name) => format!("{attribute} {name}"),
        None => attribute.to_string(),
    };
    Some(format!(
        "capture object: {class_text} {ln} attribute {attribute_text}, data index {index}"
    ))
}

/// The A-XDR type name of a `{type, value}` node.
fn data_type(map: &Map<String, Value>) -> Option<&str> {
    let name = map.get("type")?.as_str()?;
    let only_type_and_value = map.keys().all(|k| k == "type" || k == "value");
    (only_type_and_value && is_data_type(name)).then_some(name)
}

/// Whether `name` is how `Data` serializes a type (its Green Book name; `null` for null-data).
fn is_data_type(name: &str) -> bool {
    name == "null" || (name != "unknown" && (0..=u8::MAX).any(|tag| type_name(tag) == name))
}

fn uint<T: TryFrom<u64>>(map: &Map<String, Value>, key: &str) -> Option<T> {
    T::try_from(map.get(key)?.as_u64()?).ok()
}

fn date(map: &Map<String, Value>) -> Option<Date> {
    if map.len() != 4 {
        return None;
    }
    Some(Date {
        year: uint(map, "year")?,
        month: uint(map, "month")?,
        day: uint(map, "day")?,
        day_of_week: uint(map, "day_of_week")?,
    })
}

fn time(map: &Map<String, Value>) -> Option<Time> {
    if map.len() != 4 {
        return None;
    }
    Some(Time {
        hour: uint(map, "hour")?,
        minute: uint(map, "minute")?,
        second: uint(map, "second")?,
        hundredths: uint(map, "hundredths")?,
    })
}

fn date_time(map: &Map<String, Value>) -> Option<DateTime> {
    if map.len() != 4 {
        return None;
    }
    Some(DateTime {
        date: date(map.get("date")?.as_object()?)?,
        time: time(map.get("time")?.as_object()?)?,
        deviation: i16::try_from(map.get("deviation")?.as_i64()?).ok()?,
        clock_status: uint(map, "clock_status")?,
    })
}

/// A typed date-time: readable, then the 12 wire bytes.
fn date_time_text(dt: &DateTime) -> String {
    format!(
        "{} = {}",
        describe_date_time(dt),
        hex::encode(&dt.to_bytes())
    )
}

/// ISO 8601 under the Blue Book deviation sign, with the day of week and clock status in words.
fn describe_date_time(dt: &DateTime) -> String {
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let mut text = dt.to_iso(DeviationConvention::LocalToUtc);
    if let Some(day) = DAYS.get(usize::from(dt.date.day_of_week).wrapping_sub(1)) {
        let _ = write!(text, " {day}");
    }
    if dt.deviation != crate::dlms::datetime::DEVIATION_UNSPECIFIED {
        let _ = write!(text, ", deviation {} min", dt.deviation);
    }
    match dt.clock_status {
        0 | 0xFF => {}
        status => {
            let _ = write!(text, ", clock status 0x{status:02X}");
            let flags = clock_status_flags(status);
            if !flags.is_empty() {
                let _ = write!(text, " [{}]", flags.join(", "));
            }
        }
    }
    text
}

fn clock_status_flags(status: u8) -> Vec<&'static str> {
    [
        (0x01, "invalid value"),
        (0x02, "doubtful value"),
        (0x04, "different clock base"),
        (0x08, "invalid clock status"),
        (0x80, "daylight saving active"),
    ]
    .into_iter()
    .filter(|(bit, _)| status & bit != 0)
    .map(|(_, name)| name)
    .collect()
}

/// Whether 12 bytes look like a COSEM date-time rather than any other octet-string.
fn plausible(dt: &DateTime) -> bool {
    let any = |v: u8, range: std::ops::RangeInclusive<u8>| range.contains(&v) || v == 0xFF;
    let Date {
        year,
        month,
        day,
        day_of_week,
    } = dt.date;
    let Time {
        hour,
        minute,
        second,
        hundredths,
    } = dt.time;
    (year == 0xFFFF || (1900..=2200).contains(&year))
        && (any(month, 1..=12) || month == 0xFD || month == 0xFE)
        && (any(day, 1..=31) || day == 0xFD || day == 0xFE)
        && any(day_of_week, 1..=7)
        && any(hour, 0..=23)
        && any(minute, 0..=59)
        && any(second, 0..=59)
        && any(hundredths, 0..=99)
        && (dt.deviation == crate::dlms::datetime::DEVIATION_UNSPECIFIED
            || (-840..=840).contains(&dt.deviation))
}

/// The manufacturer FLAG id of an 8-byte system title, when its first 3 bytes are letters.
fn manufacturer(hex_text: &str) -> Option<String> {
    let bytes = hex::decode(hex_text).ok()?;
    let title = crate::dlms::security::SystemTitle::from_slice(&bytes).ok()?;
    title
        .manufacturer()
        .map(|flag| format!("manufacturer {flag}"))
}

/// Hex that is printable ASCII, shown as a quoted string.
fn printable(hex_text: &str) -> Option<String> {
    let bytes = hex::decode(hex_text).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let readable = bytes.len() >= 2 && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    readable.then(|| format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::apdu::Apdu;
    use serde_json::json;

    fn text_of(hex_text: &str) -> String {
        let apdu = Apdu::from_bytes(&hex::decode(hex_text).unwrap()).unwrap();
        render(&json!({ "apdu": serde_json::to_value(&apdu).unwrap() }))
    }

    #[test]
    fn renders_a_get_request_with_names() {
        // REFERENCE.md section 1: GET-Request-Normal 0.0.43.1.0.255 class 1 attr 2.
        let text = text_of("C001C1000100002B0100FF0200");
        let expected = "\
apdu: get-request
  kind: normal
  invoke: id 1, confirmed, high priority
  attribute:
    class-id: 1 (Data)
    instance: 0-0:43.1.0.255
    attribute: 2 (value)
  access: absent
";
        assert_eq!(text, expected);
    }

    #[test]
    fn renders_results_and_data_access_results() {
        assert!(text_of("C401C1000600001391").contains("data: double-long-unsigned 5009\n"));
        assert!(text_of("C401C10101").contains("data-access-result: hardware-fault\n"));
    }

    #[test]
    fn renders_date_times_typed_and_in_octet_strings() {
        // gurux-dlms 1.0.203 SET of Clock time, 2024-03-15 12:30:00, deviation 0.
        let text = text_of("C101C100080000010000FF0200090C07E8030FFF0C1E0000000000");
        assert!(
            text.contains(
                "value: octet-string 07E8030FFF0C1E0000000000 \
                 (date-time 2024-03-15T12:30:00+00:00, deviation 0 min)"
            ),
            "{text}"
        );
        assert!(text.contains("attribute: 2 (time)"), "{text}");
        let dt = DateTime::from_bytes(&hex::decode("07EA0B1A040D000000FFC480").unwrap()).unwrap();
        assert_eq!(
            date_time_text(&dt),
            "2026-11-26T13:00:00+01:00 Thursday, deviation -60 min, clock status 0x80 \
             [daylight saving active] = 07EA0B1A040D000000FFC480"
        );
    }

    #[test]
    fn renders_capture_objects_and_conformance() {
        // gurux-dlms 1.0.203 readRowsByRange on 1.0.99.1.0.255.
        let text = text_of(
            "C001C100070100630100FF0201010204020412000809060000010000FF0F02120000\
             090C07E8030FFF00000000000000090C07E80310FF000000000000000100",
        );
        assert!(text.contains("selector: 1 (range_descriptor)"), "{text}");
        assert!(
            text.contains(
                "(capture object: Clock (8) 0-0:1.0.0.255 attribute 2 time, data index 0)"
            ),
            "{text}"
        );
        let aarq = text_of("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF");
        assert!(
            aarq.contains(
                "proposed-conformance: block-transfer-with-get-or-read, \
                 block-transfer-with-set-or-write, block-transfer-with-action, \
                 multiple-references, get, set, selective-access, action\n"
            ),
            "{aarq}"
        );
    }

    #[test]
    fn annotates_titles_and_passwords() {
        let text = text_of(
            "6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738\
             BE10040E01000000065F1F0400007E1F04B0",
        );
        assert!(
            text.contains("char-string: 3132333435363738 (\"12345678\")"),
            "{text}"
        );
        let tree = json!({"calling_ap_title": "4D4D4D0000BC614E", "tag": 33});
        assert_eq!(
            render(&tree),
            "calling-ap-title: 4D4D4D0000BC614E (manufacturer MMM)\ntag: 33 (0x21, glo-initiateRequest)\n"
        );
    }

    #[test]
    fn renders_arbitrary_trees_without_panicking() {
        let deep = (0..200).fold(json!(1), |v, _| json!({ "x": [v] }));
        let text = render(&deep);
        assert!(text.lines().count() <= MAX_DEPTH + 1);
        assert_eq!(render(&json!([])), "value: none\n");
        assert_eq!(
            render(&json!({"v": {"type": "structure", "value": []}})),
            "v: structure, 0 elements\n"
        );
    }
}
