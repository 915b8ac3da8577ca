//! `reanimator bench headend`: one read cycle of the real head-end over a whole fleet on this
//! machine, every meter due at once: cycle time, reads per second and the head-end's resident
//! memory, next to the bare tokio baseline (connect, three round trips, close) in the same run.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;

use super::cycle::CycleReport;
use super::processes::{cpu_time_of_tree, open_file_limit, FleetProcess};
use super::reads::{self, median, Load, ReadRun, ReadSetup};
use super::{bare, block_after, meters_command, pass};
use crate::app::meters::{die_with_parent, load_profile};
use crate::meter::profile::Wakeup;

/// `reanimator bench headend --meters 100000`.
#[derive(Debug, Clone, Args)]
pub struct HeadendBenchArgs {
    /// Meters in the fleet; the head-end reads one interval of each.
    #[arg(long, default_value_t = 10_000)]
    pub meters: u32,
    /// The first meter's address (one address per meter); the bare baseline listens on the
    /// first /16 after the fleet.
    #[arg(long, default_value = "127.90.0.1:4059")]
    pub listen: SocketAddr,
    /// Reads in flight, the head-end's and the baseline's.
    #[arg(long, default_value_t = 256)]
    pub concurrency: u32,
    /// Rounds, each one head-end cycle then the bare baseline; the median of the rounds'
    /// ratios counts, so both sides of a ratio share the same moment's load on the machine.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Time limit of one cycle and of one baseline round, in seconds.
    #[arg(long, default_value_t = 120.0)]
    pub seconds: f64,
    /// An always-listening meter profile (shipped name or .toml file).
    #[arg(long, default_value = "basic")]
    pub profile: String,
    /// The fleet seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The head-end's share of the bare baseline's rate.
const TARGET_RATIO: f64 = 0.50;
/// The bare baseline runs in one process, one listener per address, below the open-file limit.
const MAX_BARE_ADDRESSES: u32 = 16_384;
/// Descriptors a fleet process keeps beside its listeners (`reanimator meters`).
const FLEET_RESERVED_FDS: u64 = 1024;
/// Reading the manifest and opening the store, before a cycle starts (100,000 meters: 1 s).
const LOAD_ALLOWANCE: Duration = Duration::from_secs(10);
/// After an interval boundary, the meters' drifting clocks have all captured the interval.
const AFTER_BOUNDARY: Duration = Duration::from_secs(3);
/// Reads of the baseline's warm-up, at most.
const WARM_UP_READS: u64 = 2_000;

pub fn check_args(args: &HeadendBenchArgs) -> Result<(), String> {
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "--listen {} is not a loopback address",
            args.listen
        ));
    }
    if args.meters == 0 || args.concurrency == 0 || args.concurrency > 4096 || args.rounds == 0 {
        return Err(
            "--meters and --rounds must be at least 1, --concurrency from 1 to 4096".into(),
        );
    }
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err("--seconds must be above 0 and at most 600".into());
    }
    let profile = load_profile(&args.profile)?;
    if profile.wakeup != Wakeup::AlwaysListening {
        return Err(format!(
            "--profile {}: the benchmark reads always-listening meters directly; wake-up meters need an operator",
            args.profile
        ));
    }
    Ok(())
}

pub fn run(args: &HeadendBenchArgs) -> Result<(), String> {
    let period = Duration::from_secs(load_profile(&args.profile)?.capture_period_s.into());
    let dir = TempDir::create()?;
    let manifest = dir.0.join("fleet.json");
    let bare_base = block_after(args.listen, args.meters, "--listen")?;
    let bare_meters = args.meters.min(MAX_BARE_ADDRESSES);
    let setup = ReadSetup::with_load(
        &args.profile,
        args.seed,
        Load {
            meters: bare_meters,
            concurrency: args.concurrency,
            reads: args.meters.into(),
            limit: Duration::from_secs_f64(args.seconds),
            rounds: args.rounds,
        },
    )?;
    let fleet = FleetProcess::start(&fleet_command(args, &manifest))?;
    let bare = FleetProcess::start(&bare::command(&setup.exchange, bare_meters, bare_base))?;
    println!(
        "reanimator bench headend: {} CPUs, open-file limit {}, profile {}, {} meters in {} processes, {} reads in flight",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        open_file_limit(),
        args.profile,
        args.meters,
        fleet.processes(),
        args.concurrency
    );
    println!(
        "each round: one head-end cycle (every meter due at once: connect, AARQ/AARE, GET the interval by range, RLRQ/RLRE, store), then the bare baseline: {} connect + 3 round trips + close over {bare_meters} addresses",
        args.meters
    );
    let sides = Sides {
        dir: &dir.0,
        period,
        fleet_pid: fleet.pid(),
        bare: (bare_base, bare.pid()),
    };
    let result = rounds(args, &setup, &sides);
    let stopped = fleet.stop().and(bare.stop());
    let rounds = result?;
    stopped?;
    print_rounds(&rounds);
    Ok(())
}

/// Where both sides run.
struct Sides<'a> {
    /// Holds the manifest and the stores.
    dir: &'a Path,
    /// The meters' capture period.
    period: Duration,
    fleet_pid: u32,
    /// The bare baseline's first address and process.
    bare: (SocketAddr, u32),
}

/// One round's figures.
struct Round {
    cycle: CycleReport,
    /// CPU time the fleet's processes used during the cycle.
    fleet_cpu: Duration,
    bare: ReadRun,
}

impl Round {
    fn per_second(&self) -> f64 {
        self.cycle.stored as f64 / self.cycle.cycle_secs.max(1e-9)
    }

    fn ratio(&self) -> f64 {
        self.per_second() / self.bare.per_second().max(1e-9)
    }

    /// CPU microseconds per read: (head-end, fleet).
    fn cpu_us_per_read(&self) -> (f64, f64) {
        let n = self.cycle.stored.max(1) as f64;
        (
            self.cycle.cpu_secs * 1e6 / n,
            self.fleet_cpu.as_secs_f64() * 1e6 / n,
        )
    }
}

fn rounds(args: &HeadendBenchArgs, setup: &ReadSetup, sides: &Sides) -> Result<Vec<Round>, String> {
    let bare = sides.bare;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let warm_up = setup.with_reads(WARM_UP_READS.min(args.meters.into()));
    let warm_up = runtime.block_on(reads::bare_round(&warm_up, bare));
    if warm_up.ok == 0 {
        return Err(format!(
            "the bare baseline's warm-up failed: {}",
            warm_up.first_error.unwrap_or_default()
        ));
    }
    let mut rounds: Vec<Round> = Vec::new();
    let limit = Duration::from_secs_f64(args.seconds);
    for round in 1..=args.rounds {
        // Room for twice the last cycle (the hard limit before the first), not more: a cycle
        // cut short by the boundary shows as readings missing.
        let expected = rounds.last().map_or(limit, |r| {
            limit.min(Duration::from_secs_f64(r.cycle.cycle_secs * 2.0))
        });
        wait_for_room(sides.period, expected + LOAD_ALLOWANCE);
        let store = sides.dir.join(format!("round-{round}.db"));
        let fleet_before = cpu_time_of_tree(sides.fleet_pid);
        let cycle = run_cycle(args, &sides.dir.join("fleet.json"), &store)?;
        let fleet_cpu = cpu_time_of_tree(sides.fleet_pid).saturating_sub(fleet_before);
        let bare = runtime.block_on(reads::bare_round(setup, bare));
        rounds.push(Round {
            cycle,
            fleet_cpu,
            bare,
        });
    }
    Ok(rounds)
}

/// Sleeps past the next interval boundary if it would fall within `needed` from now, and past
/// the first seconds after a boundary, so that a cycle reads one interval every meter has.
fn wait_for_room(period: Duration, needed: Duration) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let period_ms = period.as_millis().max(1);
    let into = Duration::from_millis((now.as_millis() % period_ms) as u64);
    let to_next = period.saturating_sub(into);
    let wait = if to_next < needed {
        to_next + AFTER_BOUNDARY
    } else {
        AFTER_BOUNDARY.saturating_sub(into)
    };
    if wait > Duration::ZERO {
        println!(
            "  (waiting {:.0} s for an interval boundary, so none falls inside the cycle)",
            wait.as_secs_f64()
        );
        std::thread::sleep(wait);
    }
}

/// Runs one cycle in a head-end process of its own; a hard limit kills it.
fn run_cycle(
    args: &HeadendBenchArgs,
    manifest: &Path,
    store: &Path,
) -> Result<CycleReport, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.args(["bench", "headend-cycle", "--manifest"])
        .arg(manifest)
        .arg("--store")
        .arg(store)
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--seconds", &args.seconds.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the head-end: {e}"))?;
    let limit = Duration::from_secs_f64(args.seconds) + LOAD_ALLOWANCE * 2;
    let (status, stdout, stderr) = wait_with_output(child, limit)?;
    if !status.success() {
        return Err(format!(
            "the head-end ended with {status}: {}",
            stderr.trim()
        ));
    }
    serde_json::from_str(stdout.trim())
        .map_err(|e| format!("the head-end's report {stdout:?}: {e}; it said {stderr:?}"))
}

/// Waits for `child` at most `limit` (then kills it), collecting stdout and stderr.
fn wait_with_output(
    mut child: Child,
    limit: Duration,
) -> Result<(std::process::ExitStatus, String, String), String> {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_string(&mut text).ok();
            }
            text
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            None => {
                child.kill().ok();
                child.wait().ok();
                return Err(format!(
                    "the head-end did not finish within {} s",
                    limit.as_secs()
                ));
            }
        }
    };
    let text = |h: std::thread::JoinHandle<String>| h.join().unwrap_or_default();
    Ok((status, text(out), text(err)))
}

fn print_rounds(rounds: &[Round]) {
    println!(
        "{:>5} {:>8} {:>9} {:>6} {:>9} {:>15} {:>22} {:>17} {:>17} {:>6}",
        "round",
        "bare/s",
        "headend/s",
        "ratio",
        "cycle (s)",
        "stored/meters",
        "RSS MiB loaded/peak/end",
        "bare CPU µs c/m",
        "headend CPU µs h/m",
        "errors"
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (i, r) in rounds.iter().enumerate() {
        let (c, b) = (&r.cycle, &r.bare);
        let ((bm, bc), (h, m)) = (b.cpu_us_per_read(), r.cpu_us_per_read());
        println!(
            "{:>5} {:>8.0} {:>9.0} {:>6.2} {:>9.2} {:>15} {:>22} {:>17} {:>17} {:>6}",
            i + 1,
            b.per_second(),
            r.per_second(),
            r.ratio(),
            c.cycle_secs,
            format!("{}/{}", c.stored, c.meters),
            format!(
                "{:.1}/{:.1}/{:.1}",
                mib(c.rss_loaded_kib),
                mib(c.rss_peak_kib),
                mib(c.rss_end_kib)
            ),
            format!("{bc:.0}/{bm:.0}"),
            format!("{h:.0}/{m:.0}"),
            b.errors
        );
    }
    for r in rounds {
        if let Some(e) = &r.bare.first_error {
            println!("  first bare error: {e}");
        }
    }
    let complete = rounds
        .iter()
        .all(|r| r.cycle.complete && r.cycle.stored == r.cycle.meters);
    let calls: u64 = rounds.iter().map(|r| r.cycle.operator_calls).sum();
    println!(
        "  store: {} ({calls} operator calls besides the hourly outlook)",
        if complete {
            "every meter's interval stored in every cycle"
        } else {
            "READINGS MISSING"
        },
    );
    println!("  cycle: from starting the driver to the store holding every reading. RSS: the head-end's own process, VmRSS with the fleet loaded, peak (VmHWM) during the cycle, VmRSS at its end.");
    if rounds.iter().any(|r| !r.cycle.peak_from_cycle) {
        println!("  the kernel refused to reset VmHWM: the peak counts from the process's start");
    }
    println!("  CPU µs per read: bare client/bare meters; head-end process/fleet processes.");
    let cpu_ratio = median(rounds.iter().map(|r| {
        let ((bm, bc), (h, m)) = (r.bare.cpu_us_per_read(), r.cpu_us_per_read());
        (bm + bc) / (h + m).max(1e-9)
    }));
    println!(
        "  median head-end cycle {:.2} s at {:.0} reads/s (loading the fleet {:.2} s before it)",
        median(rounds.iter().map(|r| r.cycle.cycle_secs)),
        median(rounds.iter().map(Round::per_second)),
        median(rounds.iter().map(|r| r.cycle.load_secs)),
    );
    let ratio = median(rounds.iter().map(Round::ratio));
    println!(
        "  median of the rounds' ratios head-end/bare: {ratio:.2} (target >= {TARGET_RATIO:.2}): {}",
        pass(ratio >= TARGET_RATIO && complete)
    );
    // On a machine shared with other work, a side with more threads gets a larger share of it.
    println!(
        "  median of the rounds' CPU per read bare/head-end: {cpu_ratio:.2} (what the rates' ratio would be with each side alone on the CPUs; target >= {TARGET_RATIO:.2}): {}",
        pass(cpu_ratio >= TARGET_RATIO && complete)
    );
}

/// The fleet's `reanimator meters` command line, with its manifest and room in every process
/// for the head-end's connections (meters are read in order, so one process takes them all).
fn fleet_command(args: &HeadendBenchArgs, manifest: &Path) -> Vec<String> {
    let reserved = FLEET_RESERVED_FDS + u64::from(args.concurrency);
    let per_process = open_file_limit().saturating_sub(reserved).max(1);
    let mut command = meters_command(&args.profile, args.seed, args.meters, args.listen, 3600);
    command.extend([
        "--manifest".into(),
        manifest.display().to_string(),
        "--per-process".into(),
        per_process.to_string(),
    ]);
    command
}

/// A directory of its own for the manifest and the stores, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> Result<Self, String> {
        let dir =
            std::env::temp_dir().join(format!("reanimator-bench-headend-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_listens_on_the_first_block_after_the_fleet() {
        let table = [
            ("127.90.0.1:4059", 100_000, "127.92.0.1:4059"),
            ("127.90.0.1:4059", 10, "127.91.0.1:4059"),
            ("127.90.255.200:1", 100, "127.92.255.200:1"),
        ];
        for (base, count, want) in table {
            let got = block_after(base.parse().unwrap(), count, "--listen").unwrap();
            assert_eq!(got, want.parse().unwrap(), "{base} + {count}");
        }
    }

    #[test]
    fn rejects_a_fleet_that_leaves_no_room_for_the_baseline() {
        assert!(block_after("127.255.0.1:4059".parse().unwrap(), 10, "--listen").is_err());
    }
}
