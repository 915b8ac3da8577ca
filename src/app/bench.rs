//! `reanimator bench fleet`: what a fleet of simulated meters costs and how fast it is read;
//! `reanimator bench headend`: how fast the head-end reads and stores a whole fleet's cycle.
//! Each figure is next to its target and, for reads, next to a bare tokio exchange measured in
//! the same run. Every load is bounded in count and in time.

mod bare;
mod cycle;
mod headend;
mod processes;
mod reads;
mod sim;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use clap::{Args, Subcommand};

use super::exit;
use crate::meter::profile;
use processes::{FleetProcess, Kernel};
use reads::{ReadRun, ReadSetup};

/// Benchmarks printing their figures and ratios.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Memory per idle meter, bind time, and read transactions per second against a bare baseline.
    Fleet(FleetArgs),
    /// The simulation's speed: a day of 10,000 meters and a week of 1,000, in virtual time.
    Sim(sim::SimBenchArgs),
    /// One head-end read cycle over a whole fleet: cycle time, reads per second, memory.
    Headend(headend::HeadendBenchArgs),
    /// Internal: the head-end side of `bench headend`, in a process of its own.
    #[command(hide = true)]
    HeadendCycle(cycle::CycleArgs),
    /// Internal: the bare tokio meters of the read baseline (started by `bench fleet`).
    #[command(hide = true)]
    BareMeters(bare::BareArgs),
}

/// `reanimator bench fleet --meters 100000` measures memory at 10,000 and 100,000 meters.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// The largest fleet for the memory figures; it is also measured at a tenth of that.
    #[arg(long, default_value_t = 10_000)]
    pub meters: u32,
    /// The first address of the fleets measured for memory.
    #[arg(long, default_value = "127.80.0.1:4059")]
    pub listen: SocketAddr,
    /// Meters the read transactions are spread over (each on its own address).
    #[arg(long, default_value_t = 1_000)]
    pub read_meters: u32,
    /// The first address of the read fleet; the bare baseline listens on the next /16.
    #[arg(long, default_value = "127.77.0.1:4059")]
    pub read_listen: SocketAddr,
    /// Read transactions in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,
    /// Read transactions per side and round (after a warm-up of that many per side).
    #[arg(long, default_value_t = 5_000)]
    pub reads: u64,
    /// Time limit per side and round, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Rounds, each the bare baseline then the fleet; the median of the rounds' ratios counts,
    /// so both sides of a ratio share the same moment's load on the machine.
    #[arg(long, default_value_t = 8)]
    pub rounds: u32,
    /// The meter profile (shipped name or .toml file).
    #[arg(long, default_value = "basic")]
    pub profile: String,
    /// The fleet seed (identities and readings derive from it).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Leave out (a), memory and bind time.
    #[arg(long)]
    pub skip_memory: bool,
    /// Leave out (b), read transactions.
    #[arg(long)]
    pub skip_reads: bool,
}

/// Memory target: KiB per idle meter beyond the kernel's socket.
const TARGET_KIB_PER_METER: f64 = 4.0;
/// Bind target for 100,000 meters.
const TARGET_BIND_100K: Duration = Duration::from_secs(10);
/// Read target: the fleet's share of the bare baseline.
const TARGET_RATIO: f64 = 0.70;

pub fn run(args: BenchArgs) -> i32 {
    let result = match args.what {
        BenchCommand::Fleet(args) => match check_args(&args) {
            Ok(()) => fleet(&args).map_err(|e| (exit::FAILURE, e)),
            Err(e) => Err((exit::INVALID_INPUT, e)),
        },
        BenchCommand::Sim(args) => sim::run(&args).map_err(|e| (exit::FAILURE, e)),
        BenchCommand::Headend(args) => match headend::check_args(&args) {
            Ok(()) => headend::run(&args).map_err(|e| (exit::FAILURE, e)),
            Err(e) => Err((exit::INVALID_INPUT, e)),
        },
        BenchCommand::HeadendCycle(args) => cycle::run(&args).map_err(|e| (exit::FAILURE, e)),
        BenchCommand::BareMeters(args) => bare::run(&args).map_err(|e| (exit::FAILURE, e)),
    };
    match result {
        Ok(()) => exit::OK,
        Err((status, message)) => {
            eprintln!("reanimator bench: {message}");
            status
        }
    }
}

fn fleet(args: &FleetArgs) -> Result<(), String> {
    println!(
        "reanimator bench fleet: {} CPUs, open-file limit {}, profile {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        processes::open_file_limit(),
        args.profile
    );
    if !args.skip_memory {
        memory(args)?;
    }
    if !args.skip_reads {
        read_transactions(args)?;
    }
    Ok(())
}

fn check_args(args: &FleetArgs) -> Result<(), String> {
    let meter_profile =
        profile::shipped(&args.profile).is_some() || args.profile.ends_with(".toml");
    if !meter_profile {
        return Err(format!(
            "--profile {}: name a shipped profile (basic, secure, wakeup) or a .toml file",
            args.profile
        ));
    }
    for (name, addr) in [
        ("--listen", args.listen),
        ("--read-listen", args.read_listen),
    ] {
        if !addr.ip().is_loopback() {
            return Err(format!("{name} {addr} is not a loopback address"));
        }
    }
    // The bare baseline holds one listener per meter in one process, below the open-file limit.
    if args.meters == 0 || args.read_meters == 0 || args.read_meters > 16_384 {
        return Err("--meters must be at least 1 and --read-meters from 1 to 16384".into());
    }
    if args.concurrency == 0 || args.concurrency > 1024 || args.rounds == 0 {
        return Err("--concurrency must be from 1 to 1024 and --rounds at least 1".into());
    }
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err("--seconds must be above 0 and at most 600".into());
    }
    Ok(())
}

/// (a) Resident memory per idle meter and the time to bind, at a tenth of --meters and at --meters.
fn memory(args: &FleetArgs) -> Result<(), String> {
    let baseline = FleetProcess::start(&fleet_command(args, 1, args.listen))?;
    let base_kib = baseline.rss_kib();
    baseline.stop()?;
    println!(
        "\n(a) memory per idle meter and bind time (baseline: one meter, {base_kib} KiB resident)"
    );
    println!(
        "{:>8} {:>9} {:>10} {:>11} {:>12} {:>14} {:>13}",
        "meters",
        "processes",
        "bind (s)",
        "RSS (KiB)",
        "baseline×p",
        "KiB/meter net",
        "kernel KiB/m"
    );
    let mut sizes = vec![args.meters / 10, args.meters];
    sizes.retain(|&n| n > 0);
    sizes.dedup();
    let mut verdicts = Vec::new();
    for n in sizes {
        let kernel_before = Kernel::read();
        let fleet = FleetProcess::start(&fleet_command(args, n, args.listen))?;
        // Let the runtime settle: accept loops have polled their listeners once.
        std::thread::sleep(Duration::from_millis(500));
        let (rss, processes) = (fleet.rss_kib(), fleet.processes());
        let kernel = Kernel::read().since(&kernel_before);
        let bind = fleet.ready_after();
        fleet.stop()?;
        let net = rss.saturating_sub(base_kib * processes as u64) as f64 / n as f64;
        println!(
            "{n:>8} {processes:>9} {:>10.2} {rss:>11} {:>12} {net:>14.2} {:>13}",
            bind.as_secs_f64(),
            base_kib * processes as u64,
            kernel.map_or("n/a".into(), |k| format!("{:.2}", k as f64 / n as f64)),
        );
        verdicts.push(format!(
            "{n} meters: {net:.2} KiB per idle meter (target <= {TARGET_KIB_PER_METER} KiB): {}",
            pass(net <= TARGET_KIB_PER_METER)
        ));
        if n >= 100_000 {
            let scaled = bind.mul_f64(100_000.0 / n as f64);
            verdicts.push(format!(
                "{n} meters bound in {:.2} s (target 100,000 in < {} s): {}",
                bind.as_secs_f64(),
                TARGET_BIND_100K.as_secs(),
                pass(scaled < TARGET_BIND_100K)
            ));
        }
    }
    println!("RSS sums the fleet's parent and shard processes; net subtracts the one-meter baseline per process.");
    println!(
        "Kernel KiB/m: the system-wide change in slab memory (socket structures), for scale only."
    );
    for v in verdicts {
        println!("  {v}");
    }
    Ok(())
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

/// The `reanimator meters` command line of a fleet of `count` meters from `listen`.
fn fleet_command(args: &FleetArgs, count: u32, listen: SocketAddr) -> Vec<String> {
    meters_command(&args.profile, args.seed, count, listen, 900)
}

/// `reanimator meters` with `count` meters of `profile` from `listen`, living at most
/// `duration_s` seconds whatever happens to the benchmark.
fn meters_command(
    profile: &str,
    seed: u64,
    count: u32,
    listen: SocketAddr,
    duration_s: u32,
) -> Vec<String> {
    [
        "meters",
        "--profile",
        profile,
        "--seed",
        &seed.to_string(),
        "--count",
        &count.to_string(),
        "--listen",
        &listen.to_string(),
        "--duration",
        &duration_s.to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// (b) Complete read transactions per second: the fleet next to the bare tokio exchange.
fn read_transactions(args: &FleetArgs) -> Result<(), String> {
    let setup = ReadSetup::new(args)?;
    let fleet_base = args.read_listen;
    let bare_base = block_after(args.read_listen, args.read_meters, "--read-listen")?;
    let fleet = FleetProcess::start(&fleet_command(args, args.read_meters, fleet_base))?;
    let bare = FleetProcess::start(&bare::command(&setup.exchange, args.read_meters, bare_base))?;
    println!(
        "\n(b) read transactions: connect, AARQ/AARE, GET one profile interval by range, RLRQ/RLRE, close"
    );
    println!(
        "    {} in flight over {} meters, client closes first; APDU bytes request/response: {}",
        args.concurrency,
        args.read_meters,
        setup.exchange.describe()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(reads::compare(
        &setup,
        (fleet_base, fleet.pid()),
        (bare_base, bare.pid()),
    ));
    fleet.stop()?;
    bare.stop()?;
    let (fleet_runs, bare_runs) = result?;
    print_reads(&fleet_runs, &bare_runs);
    Ok(())
}

fn print_reads(fleet: &[ReadRun], bare: &[ReadRun]) {
    println!(
        "{:>5} {:>8} {:>8} {:>6} {:>15} {:>15} {:>15} {:>15} {:>6}",
        "round",
        "bare/s",
        "fleet/s",
        "ratio",
        "bare p50/p99ms",
        "fleet p50/p99ms",
        "bare CPU µs s/c",
        "fleet CPU µs s/c",
        "errors"
    );
    for (i, (f, b)) in fleet.iter().zip(bare).enumerate() {
        let ((fs, fc), (bs, bc)) = (f.cpu_us_per_read(), b.cpu_us_per_read());
        println!(
            "{:>5} {:>8.0} {:>8.0} {:>6.2} {:>15} {:>15} {:>15} {:>15} {:>6}",
            i + 1,
            b.per_second(),
            f.per_second(),
            f.ratio_to(b),
            format!("{:.1}/{:.1}", b.percentile_ms(0.50), b.percentile_ms(0.99)),
            format!("{:.1}/{:.1}", f.percentile_ms(0.50), f.percentile_ms(0.99)),
            format!("{bs:.0}/{bc:.0}"),
            format!("{fs:.0}/{fc:.0}"),
            f.errors + b.errors
        );
    }
    for r in fleet.iter().chain(bare) {
        if let Some(e) = &r.first_error {
            println!("  first error: {e}");
        }
    }
    let total = |runs: &[ReadRun]| {
        let ok: u64 = runs.iter().map(|r| r.ok).sum();
        let secs: f64 = runs.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        (ok, ok as f64 / secs.max(1e-9))
    };
    let ((fleet_ok, f), (bare_ok, b)) = (total(fleet), total(bare));
    println!("  CPU µs s/c: CPU time per read of the meters' process (s) and of this client (c).");
    println!(
        "  all rounds: fleet {fleet_ok} reads at {f:.0}/s, bare {bare_ok} reads at {b:.0}/s ({:.2})",
        f / b.max(1e-9)
    );
    let ratio = reads::median_ratio(fleet, bare);
    println!(
        "  median of the rounds' ratios fleet/bare: {ratio:.2} (target >= {TARGET_RATIO:.2}): {}",
        pass(ratio >= TARGET_RATIO)
    );
}

/// The bare baseline's first address: `base` moved to the first /16 after `count` addresses
/// from it (127.90.0.1 and 100,000 -> 127.92.0.1), named `flag` in errors.
fn block_after(base: SocketAddr, count: u32, flag: &str) -> Result<SocketAddr, String> {
    let SocketAddr::V4(v4) = base else {
        return Err(format!("{flag} must be IPv4"));
    };
    let last = u32::from(*v4.ip()).checked_add(count);
    let ip = last
        .and_then(|l| (l >> 16).checked_add(1))
        .map(|block| Ipv4Addr::from((block << 16) | (u32::from(*v4.ip()) & 0xFFFF)))
        .filter(|ip| ip.is_loopback())
        .ok_or(format!(
            "{flag} leaves no room on loopback for the bare baseline after the fleet"
        ))?;
    Ok(SocketAddr::V4(SocketAddrV4::new(ip, v4.port())))
}
