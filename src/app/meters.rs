//! `reanimator meters`: a fleet of simulated meters on loopback, for load tests and head-ends.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use super::exit;
use crate::meter::manifest::Addressing;
use crate::meter::profile::{self, Profile};
use crate::net::fleet::{bind_listeners, serve_wildcard, spawn_accept_loops, Fleet};

/// Runs N simulated meters until interrupted (or for --duration seconds).
#[derive(Debug, Clone, Args)]
pub struct MetersArgs {
    /// A shipped profile (basic, secure, wakeup) or a profile file (.toml).
    #[arg(long, default_value = "basic")]
    pub profile: String,
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// The first meter's address; the others count up from it (all of 127.0.0.0/8 is loopback).
    #[arg(long, default_value = "127.1.0.1:4059")]
    pub listen: SocketAddr,
    /// Give each meter its own port on the --listen address instead of its own address.
    #[arg(long)]
    pub port_range: bool,
    /// One wildcard listener on the --listen port that tells meters apart by the address dialled;
    /// only inside a network namespace whose only interface is loopback (`unshare -n`).
    #[arg(long, conflicts_with = "port_range")]
    pub wildcard: bool,
    /// The fleet seed: identities, keys and readings derive from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many radio cells the meters are spread over (default: one per 100 meters).
    #[arg(long)]
    pub cells: Option<u32>,
    /// Write the fleet manifest (JSON) here.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Serve the control port (wake-ups, modem state) here, e.g. 127.0.0.1:7071.
    #[arg(long)]
    pub control: Option<SocketAddr>,
    /// Stop by itself after this many seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Meters per process; larger fleets are split over child processes (default: from the
    /// open-file limit).
    #[arg(long)]
    pub per_process: Option<u32>,
    /// Internal: run only shard K of N (set by the parent process).
    #[arg(long, hide = true)]
    pub shard: Option<String>,
}

/// Descriptors kept free in each process for connections, the runtime and the control port.
const RESERVED_FDS: u64 = 1024;

pub fn run(args: MetersArgs) -> i32 {
    match start(args) {
        Ok(()) => exit::OK,
        Err(message) => {
            eprintln!("reanimator meters: {message}");
            exit::INVALID_INPUT
        }
    }
}

fn start(args: MetersArgs) -> Result<(), String> {
    let profile = load_profile(&args.profile)?;
    let addressing = addressing(&args)?;
    if args.count == 0 || addressing.address(args.count - 1).is_none() {
        return Err(format!(
            "--count {} does not fit on loopback from {}: choose a lower --listen base or count",
            args.count, args.listen
        ));
    }
    let limit = raise_open_file_limit();
    let cells = args.cells.unwrap_or(args.count.div_ceil(100)).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    if let Some(shard) = &args.shard {
        let range = shard_range(shard, args.count)?;
        return runtime.block_on(serve(
            args.clone(),
            Fleet::new(profile, args.seed, cells, addressing, range),
            None,
        ));
    }
    let per_process = match (args.wildcard, args.per_process) {
        (true, _) => args.count,
        (false, Some(n)) => n.max(1),
        (false, None) => limit.saturating_sub(RESERVED_FDS).clamp(1, u32::MAX as u64) as u32,
    };
    if limit < RESERVED_FDS + 16 && !args.wildcard {
        return Err(format!("the open-file limit is {limit}, too low to run meters beside {RESERVED_FDS} spare descriptors; raise it (ulimit -n) or use --wildcard in a network namespace"));
    }
    let fleet = Fleet::new(
        profile,
        args.seed,
        cells,
        addressing,
        0..args.count.min(per_process),
    );
    let shards = args.count.div_ceil(per_process);
    let mut manifest = fleet.manifest(args.count);
    if let Some(control) = args.control {
        for (i, meter) in manifest.meters.iter_mut().enumerate() {
            meter.control = Some(format!(
                "http://{}",
                shard_control(control, i as u32 / per_process)
            ));
        }
    }
    if let Some(path) = &args.manifest {
        let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
        std::fs::write(path, json)
            .map_err(|e| format!("cannot write the manifest {}: {e}", path.display()))?;
    }
    let children = (1..shards)
        .map(|k| spawn_shard(&args, k, shards))
        .collect::<Result<Vec<_>, _>>()?;
    if shards > 1 {
        eprintln!("{} meters need {shards} processes of at most {per_process} (open-file limit {limit}); started {} child processes", args.count, shards - 1);
    }
    let result = runtime.block_on(serve(args.clone(), fleet, Some(shards)));
    for mut child in children {
        child.kill().ok();
        child.wait().ok();
    }
    result
}

async fn serve(args: MetersArgs, fleet: Fleet, shards: Option<u32>) -> Result<(), String> {
    let fleet = Arc::new(fleet);
    let started = Instant::now();
    let total = fleet.range.len() as u32;
    if args.wildcard {
        check_loopback_only_namespace()?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((
            Ipv4Addr::UNSPECIFIED,
            args.listen.port(),
        )))
        .await
        .map_err(|e| format!("binding the wildcard listener: {e}"))?;
        tokio::spawn(serve_wildcard(fleet.clone(), listener));
    } else {
        let step = (total / 10).max(1);
        let listeners = bind_listeners(&fleet, |n| {
            if n % step == 0 && shards.is_some() {
                eprintln!(
                    "bound {n}/{total} meters ({:.1} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        })
        .map_err(|e| format!("{e} (is another fleet running on these addresses?)"))?;
        spawn_accept_loops(&fleet, listeners);
    }
    if let Some(addr) = args.control {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("binding the control port {addr}: {e}"))?;
        tokio::spawn(async move {
            axum::serve(listener, crate::net::fleet_control::router(fleet.clone())).await
        });
    }
    if shards.is_some() {
        eprintln!(
            "{} meters ready on {} ({:.1} s); Ctrl-C stops",
            args.count,
            args.listen,
            started.elapsed().as_secs_f64()
        );
    }
    wait_for_stop(args.duration).await;
    Ok(())
}

fn load_profile(name: &str) -> Result<Profile, String> {
    if let Some(p) = profile::shipped(name) {
        return Ok(p);
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        format!("{name}: {e}; name a shipped profile (basic, secure, wakeup) or a .toml file")
    })?;
    Profile::parse(name, &text).map_err(|e| e.to_string())
}

fn addressing(args: &MetersArgs) -> Result<Addressing, String> {
    let SocketAddr::V4(v4) = args.listen else {
        return Err("--listen must be an IPv4 loopback address".into());
    };
    if !v4.ip().is_loopback() {
        return Err(format!(
            "--listen {} is not a loopback address; meters only listen on 127.0.0.0/8",
            args.listen
        ));
    }
    Ok(match args.port_range {
        true => Addressing::Ports {
            ip: *v4.ip(),
            base_port: v4.port(),
        },
        false => Addressing::Addresses {
            base: *v4.ip(),
            port: v4.port(),
        },
    })
}

fn shard_range(text: &str, count: u32) -> Result<std::ops::Range<u32>, String> {
    let (k, n) = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse::<u32>().ok()?, n.parse::<u32>().ok()?)))
        .ok_or("--shard takes K/N")?;
    let per = count.div_ceil(n.max(1));
    Ok(k * per..((k + 1) * per).min(count))
}

/// Shard k serves the control port on the next port up.
fn shard_control(base: SocketAddr, shard: u32) -> SocketAddr {
    SocketAddr::new(base.ip(), base.port() + shard as u16)
}

fn spawn_shard(args: &MetersArgs, k: u32, n: u32) -> Result<std::process::Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("meters").args([
        "--profile",
        &args.profile,
        "--count",
        &args.count.to_string(),
        "--listen",
        &args.listen.to_string(),
    ]);
    cmd.args([
        "--seed",
        &args.seed.to_string(),
        "--shard",
        &format!("{k}/{n}"),
    ]);
    if let Some(c) = args.cells {
        cmd.args(["--cells", &c.to_string()]);
    }
    if let Some(c) = args.control {
        cmd.args(["--control", &shard_control(c, k).to_string()]);
    }
    if let Some(d) = args.duration {
        cmd.args(["--duration", &d.to_string()]);
    }
    if args.port_range {
        cmd.arg("--port-range");
    }
    cmd.spawn()
        .map_err(|e| format!("cannot start shard {k}: {e}"))
}

/// Raises the soft open-file limit to the hard one; returns the limit in force.
fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            limit = raised;
        }
    }
    limit.rlim_cur
}

/// Refuses a wildcard listener unless the only network interface is loopback.
fn check_loopback_only_namespace() -> Result<(), String> {
    let names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names != ["lo"] {
        return Err(format!("--wildcard would listen on {names:?}; run it in a namespace with only loopback: unshare -n sh -c 'ip link set lo up && reanimator meters --wildcard ...'"));
    }
    Ok(())
}

async fn wait_for_stop(duration: Option<f64>) {
    let timer = async {
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
            None => std::future::pending().await,
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = timer => {}
    }
}
