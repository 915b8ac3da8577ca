//! `reanimator sim SCENARIO`: runs a scenario in virtual time (the real head-end, operator,
//! RADIUS check, meters and DLMS over in-memory links) and prints the outage log and the
//! scorecard; optionally writes them as JSON and HTML, and the records to a store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::collections::BTreeMap;

use super::{write_out, Failure};
use crate::headend::orchestrator::Record;
use crate::headend::outage::Outage;
use crate::headend::reading::StoredReading;
use crate::scenario::{self, Scenario};
use crate::sim::scorecard::{self, Scorecard};
use crate::sim::{html, report, SimOutcome};
use crate::store::{Store, StoreCounts};

/// Arguments of `reanimator sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// A scenario file (TOML), or the name of a shipped scenario (seed-story, radius, ...).
    pub scenario: String,
    /// The seed for the fleet, the fault targets and the links (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the scorecard and the outage log as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write a self-contained HTML report with charts to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the readings and outages to this SQLite store (default: kept in memory).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Print the scorecard only, not the outage log.
    #[arg(long)]
    pub brief: bool,
}

/// Runs `reanimator sim`.
pub fn run(args: &SimArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let scenario = load(&args.scenario)?;
    let options = Options {
        seed: args.seed,
        report: args.report.clone(),
        html: args.html.clone(),
        store: args.store.clone(),
        brief: args.brief,
    };
    simulate(&scenario, &options, out).map(|_| ())
}

/// Reads a scenario from a file, or a shipped one by name.
fn load(arg: &str) -> Result<Scenario, Failure> {
    let path = Path::new(arg);
    if !path.exists() && !arg.ends_with(".toml") {
        return scenario::shipped(arg).ok_or_else(|| {
            Failure::invalid_input(format!(
                "no scenario file `{arg}` and no shipped scenario of that name; shipped: {}",
                scenario::SHIPPED
                    .iter()
                    .map(|(f, _)| f.trim_start_matches("scenarios/").trim_end_matches(".toml"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        });
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::invalid_input(format!("cannot read {arg}: {e}")))?;
    Scenario::parse(arg, &text).map_err(|e| Failure::invalid_input(e.to_string()))
}

/// What to do with a run besides printing it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub seed: Option<u64>,
    pub report: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub store: Option<PathBuf>,
    pub brief: bool,
}

/// Runs a scenario, prints the outage log and the scorecard, writes what `options` asks for.
pub(crate) fn simulate(
    scenario: &Scenario,
    options: &Options,
    out: &mut dyn Write,
) -> Result<Scorecard, Failure> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let started = Instant::now();
    let sim = crate::sim::in_process(scenario, seed)
        .map_err(|e| Failure::invalid_input(e.to_string()))?;
    let mut store = options
        .store
        .as_deref()
        .map(StoreWriter::open)
        .transpose()?;
    let mut failed = None;
    let mut sink = |record: Record| {
        if let (Some(store), None) = (store.as_mut(), &failed) {
            failed = store.take(record).err();
        }
    };
    let outcome = sim.run(&mut sink);
    let took = started.elapsed();
    if let Some(e) = failed {
        return Err(e);
    }
    let stored = match store {
        Some(store) => Some(store.finish()?),
        None => None,
    };
    let card = scorecard::score(&outcome);
    let mut text = String::new();
    text.push_str(&header(&outcome, took));
    if !options.brief {
        text.push_str(&log(&outcome));
        text.push('\n');
    }
    text.push_str(&report::scorecard_text(&card));
    if let Some((location, counts)) = stored {
        text.push_str(&format!(
            "\nStore: {location}: {} readings, {} outages.\n",
            report::thousands(counts.readings),
            counts.outages
        ));
    }
    if let Some(path) = &options.report {
        write_file(path, &report::json(&card, &outcome.outages))?;
        text.push_str(&format!("\nJSON report: {}\n", path.display()));
    }
    if let Some(path) = &options.html {
        let page = html::page(
            &card,
            &outcome.outages,
            &outcome.clock(),
            &outcome.scenario.description,
            outcome.scenario.start(),
            outcome.scenario.end(),
        );
        write_file(path, &page)?;
        text.push_str(&format!("HTML report: {}\n", path.display()));
    }
    write_out(out, text.as_bytes())?;
    Ok(card)
}

fn header(o: &SimOutcome, took: std::time::Duration) -> String {
    let s = &o.scenario;
    format!(
        "reanimator sim: scenario {} ({}), seed {}\n{}\n\nSimulated {} of {} meters in {:.1} s of wall time ({} events, {:.0} events/s).\n\n",
        s.name,
        s.file,
        o.seed,
        wrap(&s.description, 100),
        crate::scenario::clock::format_duration(s.span),
        report::thousands(o.meters.len() as u64),
        took.as_secs_f64(),
        report::thousands(o.stats.events),
        o.stats.events as f64 / took.as_secs_f64().max(1e-9)
    )
}

fn log(o: &SimOutcome) -> String {
    let fleet = &o.plan.fleet;
    let cell_of = |id: &str| {
        fleet
            .meter_index(id)
            .map(|i| {
                fleet.cells[fleet.meters[i as usize].cell as usize]
                    .id
                    .clone()
            })
            .unwrap_or_default()
    };
    report::outage_log(
        &o.outages,
        &o.clock(),
        &o.scenario.policy.sla,
        o.scenario.end(),
        &cell_of,
    )
}

/// Wraps text at `width` columns on spaces.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

/// Writes the run's records to a store: readings in large batches, each outage once (its final
/// version) at the end, since a simulated day is written in one go.
struct StoreWriter {
    runtime: tokio::runtime::Runtime,
    store: Store,
    readings: Vec<StoredReading>,
    outages: BTreeMap<u64, Outage>,
}

const BATCH: usize = 50_000;

impl StoreWriter {
    fn open(path: &Path) -> Result<StoreWriter, Failure> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::other(e.to_string()))?;
        let location = path.to_string_lossy().into_owned();
        let store = runtime
            .block_on(Store::open(&location))
            .map_err(|e| Failure::other(e.to_string()))?;
        Ok(StoreWriter {
            runtime,
            store,
            readings: Vec::new(),
            outages: BTreeMap::new(),
        })
    }

    fn take(&mut self, record: Record) -> Result<(), Failure> {
        match record {
            Record::Readings(r) => {
                self.readings.extend(r);
                if self.readings.len() >= BATCH {
                    self.flush()?;
                }
            }
            Record::Outage(o) => {
                self.outages.insert(o.id, o);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Failure> {
        let rows = std::mem::take(&mut self.readings);
        self.runtime
            .block_on(self.store.save_readings(&rows))
            .map_err(|e| Failure::other(e.to_string()))?;
        Ok(())
    }

    fn finish(mut self) -> Result<(String, StoreCounts), Failure> {
        self.flush()?;
        for o in self.outages.values() {
            self.runtime
                .block_on(self.store.save_outage(o))
                .map_err(|e| Failure::other(e.to_string()))?;
        }
        let counts = self
            .runtime
            .block_on(self.store.counts())
            .map_err(|e| Failure::other(e.to_string()))?;
        Ok((self.store.location().to_string(), counts))
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .map_err(|e| Failure::other(format!("cannot write {}: {e}", path.display())))
}
