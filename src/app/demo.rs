//! `reanimator demo`: until the meter simulation exists, says what this build offers.

use std::io::Write;

use clap::CommandFactory;

use super::{Cli, Failure};

/// Public test vector used in the example (REFERENCE.md section 1, wrapped by gurux-dlms 1.0.203).
const EXAMPLE_FRAME: &str = "000100100001000DC001C1000100002B0100FF0200";

/// Prints the commands this build has and how to run the tests.
pub fn run(out: &mut dyn Write) -> Result<(), Failure> {
    super::write_out(out, text().as_bytes())
}

fn text() -> String {
    let cli = Cli::command();
    let commands: String = cli
        .get_subcommands()
        .filter(|c| c.get_name() != "demo")
        .map(|c| {
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            format!("  reanimator {:<10} {about}\n", c.get_name())
        })
        .collect();
    format!(
        "\
reanimator {version}: DLMS/COSEM head-end, meter fleet simulator and wake-up orchestrator.

The meter fleet simulation is not part of this build yet. What it offers:
{commands}
Try:
  reanimator decode {EXAMPLE_FRAME}
  reanimator decode --json {EXAMPLE_FRAME}
  reanimator decode --ek 000102030405060708090A0B0C0D0E0F --ak D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF \\
      --system-title 4D4D4D0000BC614E C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B
  reanimator help decode

Tests:
  cargo test            unit, property, command-line and interoperability tests
  bash .ci/run          what CI runs: builds the Python peers (gurux-dlms, dlms-cosem) in .venv,
                        then cargo fmt --check, clippy and cargo test against those peers
",
        version = env!("CARGO_PKG_VERSION"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_every_other_command() {
        let text = super::text();
        assert!(text.contains("reanimator decode"), "{text}");
        assert!(!text.contains("reanimator demo "), "{text}");
        assert!(text.contains("bash .ci/run"), "{text}");
    }
}
