//! `reanimator demo`: the seed story on the embedded defaults. A thousand meters over a day in
//! virtual time, with the use case's events (a credential changed at 01:58, announced
//! maintenance, a modem without a data session, a power loss, a forecast degradation); prints
//! the outage log in plain language and the scorecard, and writes the embedded store.

use std::io::Write;
use std::path::PathBuf;

use super::sim::{simulate, Options};
use super::{write_out, Failure};
use crate::scenario;

/// Arguments of `reanimator demo`.
#[derive(Debug, Default, clap::Args)]
pub struct DemoArgs {
    /// The SQLite store to write (default: reanimator-demo.db in the system's temporary directory).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Also write a self-contained HTML report with charts to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the scorecard and the outage log as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs the seed story.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let story = scenario::shipped("seed-story").expect("the seed story is shipped");
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("reanimator-demo.db"));
    // A demo starts from a clean store: the same run writes the same rows.
    for suffix in ["", "-wal", "-shm"] {
        let mut path = store.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }
    let options = Options {
        seed: None,
        report: args.report.clone(),
        html: args.html.clone(),
        store: Some(store.clone()),
        brief: false,
    };
    let card = simulate(&story, &options, out)?;
    let verdict = if card.failures().is_empty() {
        "Every true outage was detected and rightly diagnosed, every reading the meters kept is stored, and no reset was wasted."
            .to_string()
    } else {
        format!(
            "The scorecard shows {} problems (see above).",
            card.failures().len()
        )
    };
    let text = format!(
        "\n{verdict}\nThe store is {}; run `reanimator sim SCENARIO` for the other scenarios (scenarios/*.toml).\n",
        store.display()
    );
    write_out(out, text.as_bytes())
}
