//! The head-end side of `bench headend`, in a process of its own so that its resident memory is
//! the head-end's alone: loads the fleet manifest, runs the real [`Driver`] with a real SQLite
//! store over one read cycle with every meter due at once, stops when the store holds every
//! meter's interval, and prints its figures as one JSON line on stdout.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::processes::{cpu_time, hwm_kib, reset_hwm, rss_kib};
use crate::app::meters::{load_profile, raise_open_file_limit};
use crate::headend::evidence::AaaRecord;
use crate::headend::fleet::MeterRef;
use crate::headend::operator_adapter::{
    AdapterError, CellOutlook, Gathered, OperatorAdapter, ResetKind,
};
use crate::headend::orchestrator::Headend;
use crate::headend::policy::Policy;
use crate::meter::manifest::FleetManifest;
use crate::net::headend::access;
use crate::net::headend::reader::ReadTimeouts;
use crate::net::headend::{now, Driver, DriverTimeouts};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;

#[derive(Debug, Clone, Args)]
pub struct CycleArgs {
    /// The fleet manifest `reanimator meters --manifest` wrote.
    #[arg(long)]
    pub manifest: PathBuf,
    /// The SQLite file of the store (a fresh one per cycle).
    #[arg(long)]
    pub store: PathBuf,
    /// Reads in flight.
    #[arg(long)]
    pub concurrency: usize,
    /// Give up after this many seconds.
    #[arg(long)]
    pub seconds: f64,
}

/// What one cycle measured, printed as JSON for the parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CycleReport {
    pub meters: u64,
    /// Readings in the store at the end.
    pub stored: u64,
    /// Every meter has exactly the cycle's interval stored.
    pub complete: bool,
    /// The interval read (Unix milliseconds of its end).
    pub interval_ms: u64,
    /// From starting the driver to the store holding every reading.
    pub cycle_secs: f64,
    /// Reading the manifest and building the head-end.
    pub load_secs: f64,
    /// Resident memory with the fleet loaded, before the cycle.
    pub rss_loaded_kib: u64,
    /// Peak resident memory during the cycle (since the load, where the kernel lets it reset).
    pub rss_peak_kib: u64,
    /// Whether the peak counts from the cycle's start (false: from the process's start).
    pub peak_from_cycle: bool,
    pub rss_end_kib: u64,
    /// CPU time (user and system) the head-end process used during the cycle.
    pub cpu_secs: f64,
    /// Operator calls other than the hourly outlook: none in a healthy cycle.
    pub operator_calls: u64,
    pub outlook_calls: u64,
}

type Fleet = (Vec<MeterRef>, Vec<access::MeterAccess>, u64);

/// The store is asked how many readings it holds every hundredth of the time elapsed (counting
/// 100,000 rows takes milliseconds), within these bounds: the cycle's end is known within 1%.
const POLL_MIN: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_secs(1);

pub fn run(args: &CycleArgs) -> Result<(), String> {
    raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(cycle(args))?;
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn cycle(args: &CycleArgs) -> Result<CycleReport, String> {
    let loading = Instant::now();
    let fleet = load_fleet(&args.manifest)?;
    let location = args.store.display().to_string();
    let store = Arc::new(Store::open(&location).await.map_err(|e| e.to_string())?);
    // A second connection counts the readings: in WAL mode it never waits for the writer.
    let counter = Store::open(&location).await.map_err(|e| e.to_string())?;
    let n = fleet.0.len() as u64;
    let adapter = Arc::new(NoOperator::default());
    let (driver, interval, cycle) = driver(fleet, args.concurrency, store.clone(), adapter.clone());
    let load_secs = loading.elapsed().as_secs_f64();
    let me = std::process::id();
    let rss_loaded_kib = rss_kib(me).unwrap_or(0);
    let peak_from_cycle = reset_hwm();

    // Never into the next interval: its window would schedule every meter again.
    let limit = Duration::from_secs_f64(args.seconds).min(
        (interval + cycle)
            .since(now())
            .saturating_sub(Duration::from_secs(1)),
    );
    let (stop_tx, stop) = watch::channel(false);
    let began = Instant::now();
    let cpu_before = cpu_time(me).unwrap_or_default();
    let running = tokio::spawn(driver.run(stop, Some(now() + limit)));
    let stored = wait_for(&counter, n, began + limit).await;
    let cycle_secs = began.elapsed().as_secs_f64();
    let cpu_secs = cpu_time(me).unwrap_or_default().saturating_sub(cpu_before);
    stop_tx.send(true).ok();
    running
        .await
        .map_err(|e| format!("the head-end stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    let stored = stored.map_err(|e| e.to_string())?;
    let latest = store.latest_intervals().await.map_err(|e| e.to_string())?;
    let complete = latest.len() as u64 == n && latest.values().all(|t| *t == interval);
    Ok(CycleReport {
        meters: n,
        stored,
        complete,
        interval_ms: interval.as_millis(),
        cycle_secs,
        load_secs,
        rss_loaded_kib,
        rss_peak_kib: hwm_kib(me).unwrap_or(0),
        peak_from_cycle,
        rss_end_kib: rss_kib(me).unwrap_or(0),
        cpu_secs: cpu_secs.as_secs_f64(),
        operator_calls: adapter.calls.load(Ordering::Relaxed),
        outlook_calls: adapter.outlooks.load(Ordering::Relaxed),
    })
}

/// The head-end over `fleet`, every meter due now; the interval it reads and the cycle length.
fn driver(
    (meters, access, period): Fleet,
    concurrency: usize,
    store: Arc<Store>,
    adapter: Arc<NoOperator>,
) -> (Driver<NoOperator>, Timestamp, Duration) {
    let policy = Policy {
        cycle_secs: period,
        window_secs: period,
        // Every meter due at once: the cycle is as short as the head-end can make it.
        spread: 0.0,
        concurrency,
        ..Policy::default()
    };
    let start = now();
    let interval = start.floor(policy.cycle());
    let driver = Driver {
        headend: Headend::new(policy.clone(), meters, start),
        access: Arc::new(access),
        adapter,
        store,
        inbound: None,
        pushes: None,
        signals: None,
        timeouts: DriverTimeouts {
            read: ReadTimeouts {
                connect: Duration::from_secs(3),
                response: Duration::from_secs(5),
            },
            wake_up: Duration::from_secs(30),
        },
    };
    (driver, interval, policy.cycle())
}

/// The head-end's view of the fleet and its capture period in seconds; the manifest itself is
/// freed before the cycle.
fn load_fleet(path: &std::path::Path) -> Result<Fleet, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the manifest {file}: {e}"))?;
    let manifest: FleetManifest =
        serde_json::from_str(&text).map_err(|e| format!("{file}: not a fleet manifest: {e}"))?;
    drop(text);
    let profile = load_profile(&manifest.profile)?;
    let (meters, access) =
        access::from_manifest(&manifest, &profile).map_err(|e| format!("{file}: {e}"))?;
    let off_loopback = access.iter().zip(&meters).find(|(a, _)| {
        !a.address
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|addr| addr.ip().is_loopback())
    });
    if let Some((a, m)) = off_loopback {
        return Err(format!(
            "{file}: meters[{}].address {} is not a loopback address",
            m.id, a.address
        ));
    }
    drop(manifest);
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
    Ok((meters, access, profile.capture_period_s.into()))
}

/// Polls the store until it holds `n` readings or `deadline` passes; returns the last count.
async fn wait_for(store: &Store, n: u64, deadline: Instant) -> Result<u64, StoreError> {
    let began = Instant::now();
    loop {
        let stored = store.counts().await?.readings;
        if stored >= n || Instant::now() >= deadline {
            return Ok(stored);
        }
        let pause = (began.elapsed() / 100).clamp(POLL_MIN, POLL_MAX);
        tokio::time::sleep(pause).await;
    }
}

/// An operator that a healthy cycle never needs: it announces no maintenance and refuses
/// everything else, counting the calls.
#[derive(Debug, Default)]
pub struct NoOperator {
    pub calls: AtomicU64,
    pub outlooks: AtomicU64,
}

impl NoOperator {
    fn refuse<T>(&self) -> Result<T, AdapterError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Err(AdapterError::Failed("the benchmark has no operator".into()))
    }
}

impl OperatorAdapter for NoOperator {
    async fn gather(
        &self,
        _: &MeterRef,
        _: Timestamp,
        _: Option<&AaaRecord>,
    ) -> Result<Gathered, AdapterError> {
        self.refuse()
    }

    async fn wake_up(&self, _: &MeterRef, _: Timestamp) -> Result<(), AdapterError> {
        self.refuse()
    }

    async fn reset(
        &self,
        _: &MeterRef,
        _: ResetKind,
        _: &str,
        _: Timestamp,
    ) -> Result<String, AdapterError> {
        self.refuse()
    }

    async fn outlook(
        &self,
        _: &[String],
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<CellOutlook>, AdapterError> {
        self.outlooks.fetch_add(1, Ordering::Relaxed);
        Ok(Vec::new())
    }
}
