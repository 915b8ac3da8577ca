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
    let shards = args.count.div_ceil(per_process);
    let fleet = Fleet::new(
        profile,
        args.seed,
        cells,
        addressing,
        shard_bounds(0, shards, args.count),
    );
    if let Some(path) = &args.manifest {
        write_manifest(&fleet, &args, shards, path)?;
    }
    let started = Instant::now();
    let mut children = Children(Vec::new());
    for k in 1..shards {
        children.0.push(spawn_shard(&args, k, shards)?);
    }
    if shards > 1 {
        eprintln!("{} meters need {shards} processes of at most {per_process} (open-file limit {limit}); started {} child processes", args.count, shards - 1);
    }
    runtime.block_on(serve(args.clone(), fleet, Some((children, started))))
}

/// Writes the manifest of the whole fleet; it is dropped before the meters start, so even
/// 100,000 entries cost no memory while serving.
fn write_manifest(
    fleet: &Fleet,
    args: &MetersArgs,
    shards: u32,
    path: &std::path::Path,
) -> Result<(), String> {
    let mut manifest = fleet.manifest(args.count);
    if let Some(control) = args.control {
        for (i, meter) in manifest.meters.iter_mut().enumerate() {
            let shard = shard_of(i as u32, shards, args.count);
            meter.control = Some(format!("http://{}", shard_control(control, shard)));
        }
    }
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot write the manifest {}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, &manifest)
        .map_err(|e| e.to_string())
        .and_then(|()| std::io::Write::flush(&mut out).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot write the manifest {}: {e}", path.display()))?;
    drop(manifest);
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
    Ok(())
}

/// The shard processes; killed and reaped when dropped, however the parent stops.
struct Children(Vec<std::process::Child>);

impl Children {
    /// Waits (blocking) until every shard has bound its meters: each says `ready` on its stdout.
    fn wait_ready(pipes: Vec<std::process::ChildStdout>) -> Result<(), String> {
        use std::io::BufRead;
        for (k, out) in pipes.into_iter().enumerate() {
            let mut line = String::new();
            std::io::BufReader::new(out).read_line(&mut line).ok();
            if line.trim() != "ready" {
                return Err(format!(
                    "shard {} of the fleet stopped before binding its meters (see its error above)",
                    k + 1
                ));
            }
        }
        Ok(())
    }

    fn take_pipes(&mut self) -> Vec<std::process::ChildStdout> {
        self.0.iter_mut().filter_map(|c| c.stdout.take()).collect()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            // SIGTERM lets a shard stop as cleanly as the parent did.
            // SAFETY: kill only sends a signal to our own child's pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        }
        for child in &mut self.0 {
            child.wait().ok();
        }
    }
}

/// Runs this process's meters; `parent` holds the shard processes and the start time when this
/// is the process the user started, `None` in a shard.
async fn serve(
    args: MetersArgs,
    fleet: Fleet,
    parent: Option<(Children, Instant)>,
) -> Result<(), String> {
    // Listen for SIGINT/SIGTERM from the start: a stop while binding is a clean stop too.
    let stop = stop_signal(args.duration)?;
    tokio::pin!(stop);
    let fleet = Arc::new(fleet);
    let started = parent.as_ref().map_or_else(Instant::now, |(_, t)| *t);
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
            if n % step == 0 && parent.is_some() {
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
    match parent {
        Some((mut children, _)) => {
            let pipes = children.take_pipes();
            let ready = tokio::task::spawn_blocking(move || Children::wait_ready(pipes));
            tokio::select! {
                ready = ready => ready.map_err(|e| e.to_string())??,
                () = &mut stop => return Ok(()),
            }
            eprintln!(
                "{} meters ready on {} ({:.1} s); Ctrl-C stops",
                args.count,
                args.listen,
                started.elapsed().as_secs_f64()
            );
            stop.await;
            drop(children);
        }
        None => {
            println!("ready");
            stop.await;
        }
    }
    Ok(())
}

pub(crate) fn load_profile(name: &str) -> Result<Profile, String> {
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
        .filter(|(k, n)| k < n)
        .ok_or("--shard takes K/N with K < N")?;
    Ok(shard_bounds(k, n, count))
}

/// The meters shard `k` of `n` runs: equal slices, the last one possibly shorter.
fn shard_bounds(k: u32, n: u32, count: u32) -> std::ops::Range<u32> {
    let per = count.div_ceil(n.max(1));
    (k * per).min(count)..((k + 1) * per).min(count)
}

/// The shard that runs meter `index`.
fn shard_of(index: u32, n: u32, count: u32) -> u32 {
    index / count.div_ceil(n.max(1)).max(1)
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
    cmd.stdout(std::process::Stdio::piped());
    die_with_parent(&mut cmd);
    cmd.spawn()
        .map_err(|e| format!("cannot start shard {k}: {e}"))
}

/// Makes a child process end when this process ends, even when killed with SIGKILL.
pub(crate) fn die_with_parent(cmd: &mut std::process::Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe; they only touch the child itself.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if libc::getppid() != parent {
                libc::_exit(0); // the parent died before the death signal was armed
            }
            Ok(())
        });
    }
}

/// Raises the soft open-file limit to the hard one; returns the limit in force.
pub(crate) fn raise_open_file_limit() -> u64 {
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

/// Resolves on SIGINT, SIGTERM or after `duration` seconds; the handlers are installed at once.
fn stop_signal(duration: Option<f64>) -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;
    Ok(async move {
        let timer = async {
            match duration {
                Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            () = timer => {}
        }
    })
}
