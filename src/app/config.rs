//! Configuration files: TOML, overridable key by key from the environment, with errors that
//! name the file, the key and the fix.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::one_line;

/// The environment variables' prefix: `REANIMATOR_<TABLE>_<KEY>`.
pub const ENV_PREFIX: &str = "REANIMATOR_";

/// Reads `path`, applies the overrides in `env` (name, value) and deserializes.
pub fn load<T: DeserializeOwned>(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {file}: {e}"))?;
    parse(&file.to_string(), &text, env)
}

/// The same from text; `file` names it in errors.
pub fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, String> {
    let mut value: toml::Table =
        toml::from_str(text).map_err(|e| format!("{file}: {}", one_line(&e.to_string())))?;
    for (name, raw) in env {
        apply_override(&mut value, &name, &raw)?;
    }
    // Through text again, so a type error quotes the key's line.
    let merged = toml::to_string(&value).map_err(|e| format!("{file}: {e}"))?;
    toml::from_str(&merged).map_err(|e| {
        format!(
            "{file} (or its REANIMATOR_* overrides): {}",
            one_line(&e.to_string())
        )
    })
}

/// Whether the variable `name` overrides a key of one of `tables` (`REANIMATOR_STORE_LOCATION`
/// of `store`). Other `REANIMATOR_*` variables, such as the tests' `REANIMATOR_PG_URL`, are not
/// the file's business and must not make it invalid.
pub fn overrides_one_of(name: &str, tables: &[&str]) -> bool {
    name.strip_prefix(ENV_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .is_some_and(|(table, _)| tables.iter().any(|t| t.eq_ignore_ascii_case(table)))
}

/// `REANIMATOR_POLICY_CYCLE_SECS=60` sets `[policy] cycle-secs = 60`; the first word after the
/// prefix is the table, the rest the key with dashes.
fn apply_override(root: &mut toml::Table, name: &str, raw: &str) -> Result<(), String> {
    let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
        return Ok(());
    };
    let Some((table, key)) = rest.split_once('_') else {
        return Ok(());
    };
    let (table, key) = (
        table.to_ascii_lowercase(),
        key.to_ascii_lowercase().replace('_', "-"),
    );
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let entry = root
        .entry(table.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(t) => {
            t.insert(key, value);
            Ok(())
        }
        _ => Err(format!(
            "{name}: `{table}` is not a table in the configuration"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Sample {
        operator: Operator,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Operator {
        url: String,
        timeout_ms: u64,
    }

    const TEXT: &str = "[operator]\nurl = \"http://127.0.0.1:7070\"\ntimeout-ms = 5000\n";

    #[test]
    fn environment_overrides_keys_with_their_type() {
        let env = [
            (
                "REANIMATOR_OPERATOR_TIMEOUT_MS".to_string(),
                "250".to_string(),
            ),
            (
                "REANIMATOR_OPERATOR_URL".to_string(),
                "http://127.0.0.2:1".to_string(),
            ),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let s: Sample = parse("h.toml", TEXT, env).unwrap();
        assert_eq!(s.operator.timeout_ms, 250);
        assert_eq!(s.operator.url, "http://127.0.0.2:1");
    }

    #[test]
    fn only_variables_naming_a_table_are_overrides() {
        let tables = ["operator", "store"];
        let table = [
            ("REANIMATOR_OPERATOR_URL", true),
            ("REANIMATOR_STORE_LOCATION", true),
            ("REANIMATOR_PG_URL", false),
            ("REANIMATOR_PYTHON", false),
            ("OPERATOR_URL", false),
        ];
        for (name, want) in table {
            assert_eq!(overrides_one_of(name, &tables), want, "{name}");
        }
    }

    #[test]
    fn rejects_unknown_keys_naming_the_file_and_the_key() {
        let e = parse::<Sample>("h.toml", &format!("{TEXT}tiemout = 1\n"), []).unwrap_err();
        assert!(e.contains("h.toml") && e.contains("tiemout"), "{e}");
        let env = [(
            "REANIMATOR_OPERATOR_TIMEOUT_MS".to_string(),
            "soon".to_string(),
        )];
        let e = parse::<Sample>("h.toml", TEXT, env).unwrap_err();
        assert!(e.contains("h.toml") && e.contains("REANIMATOR_"), "{e}");
    }
}
