//! The name a unit enum variant has on the wire (its serde name), for text columns and lines.

use serde::Serialize;

/// `value`'s serde name; empty for a value that does not serialize to a string.
pub(crate) fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
