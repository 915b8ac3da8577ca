//! `reanimator headend` and `reanimator sidecar`: the head-end (reads, escalation, diagnosis,
//! reanimation, outage log) and the orchestrator alone beside another head-end. Both read one
//! configuration file (docs/headend.example.toml), overridable from the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::config;
use super::exit;
use crate::headend::fleet::MeterRef;
use crate::headend::orchestrator::Headend;
use crate::headend::policy::Policy;
use crate::meter::manifest::FleetManifest;
use crate::net::headend::access::{self, MeterAccess};
use crate::net::headend::inbound::Inbound;
use crate::net::headend::reader::ReadTimeouts;
use crate::net::headend::sidecar_http::{self, SidecarState};
use crate::net::headend::{self as driver, Driver, DriverTimeouts};
use crate::net::operator_client::{HttpOperator, HttpOperatorConfig, LogbookSource};
use crate::store::{self, Store};

/// The example configuration, every key with its default.
pub const EXAMPLE: &str = include_str!("../../docs/headend.example.toml");

/// The configuration's tables; `REANIMATOR_<TABLE>_<KEY>` overrides a key of one of them.
const TABLES: [&str; 7] = [
    "meters", "operator", "listen", "store", "timeouts", "policy", "sidecar",
];

/// Runs the head-end: read cycles, wake-ups, escalation, reanimation, the outage log.
#[derive(Debug, Args)]
pub struct HeadendArgs {
    /// The configuration file (see `--example-config`).
    #[arg(long, required_unless_present = "example_config")]
    pub config: Option<PathBuf>,
    /// Print the example configuration (every key, its default and meaning) and exit.
    #[arg(long)]
    pub example_config: bool,
    /// The store, overriding `[store] location`: a SQLite file or postgres://USER@127.0.0.1/DB.
    #[arg(long)]
    pub store: Option<String>,
    /// Stop after this many seconds (for tests and demos); default: until interrupted.
    #[arg(long)]
    pub run_for: Option<f64>,
}

/// The configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HeadendConfig {
    pub meters: MetersSection,
    #[serde(default)]
    pub operator: OperatorSection,
    #[serde(default)]
    pub listen: ListenSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub timeouts: TimeoutsSection,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub sidecar: SidecarSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetersSection {
    pub manifest: PathBuf,
    pub profile: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct OperatorSection {
    pub url: String,
    pub token: String,
    pub scenario_token: Option<String>,
    pub timeout_ms: u64,
}

impl Default for OperatorSection {
    fn default() -> Self {
        OperatorSection {
            url: "http://127.0.0.1:7070".into(),
            token: "token-utility".into(),
            scenario_token: None,
            timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ListenSection {
    pub inbound: SocketAddr,
}

impl Default for ListenSection {
    fn default() -> Self {
        ListenSection {
            inbound: "127.0.0.1:4060".parse().expect("a literal address"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct StoreSection {
    pub location: String,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            location: "reanimator.db".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TimeoutsSection {
    pub connect_ms: u64,
    pub response_ms: u64,
    pub wake_up_ms: u64,
}

impl Default for TimeoutsSection {
    fn default() -> Self {
        TimeoutsSection {
            connect_ms: 3000,
            response_ms: 5000,
            wake_up_ms: 30_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct SidecarSection {
    /// Where the other head-end posts its signals.
    pub listen: SocketAddr,
    /// After a reset, read the meter once to see data flowing (needs meter addresses).
    pub probe: bool,
}

impl Default for SidecarSection {
    fn default() -> Self {
        SidecarSection {
            listen: "127.0.0.1:4070".parse().expect("a literal address"),
            probe: false,
        }
    }
}

/// The configuration, checked, and what it points to, loaded.
pub struct Loaded {
    pub config: HeadendConfig,
    pub meters: Vec<MeterRef>,
    pub access: Vec<MeterAccess>,
}

/// Reads the configuration and the manifest it names; errors name the file, key and fix.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let env = std::env::vars().filter(|(k, _)| config::overrides_one_of(k, &TABLES));
    let mut config: HeadendConfig = config::load(path, env)?;
    let file = path.display();
    config
        .policy
        .check()
        .map_err(|(key, fix)| format!("{file}: [policy] {key}: {fix}"))?;
    for (key, addr) in [
        ("[listen] inbound", config.listen.inbound),
        ("[sidecar] listen", config.sidecar.listen),
    ] {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{file}: {key} = {addr}: only loopback addresses (127.0.0.0/8, ::1) are allowed"
            ));
        }
    }
    let base = path.parent().unwrap_or(Path::new("."));
    config.meters.manifest = base.join(&config.meters.manifest);
    config.store.location = store::relative_to(&config.store.location, base);
    let manifest_file = config.meters.manifest.display().to_string();
    let text = std::fs::read_to_string(&config.meters.manifest)
        .map_err(|e| format!("{file}: [meters] manifest: cannot read {manifest_file}: {e}"))?;
    let manifest: FleetManifest = serde_json::from_str(&text)
        .map_err(|e| format!("{manifest_file}: not a fleet manifest: {e}"))?;
    let profile_name = config
        .meters
        .profile
        .clone()
        .unwrap_or(manifest.profile.clone());
    let profile = super::meters::load_profile(&profile_name)
        .map_err(|e| format!("{file}: [meters] profile: {e}"))?;
    let (meters, access) =
        access::from_manifest(&manifest, &profile).map_err(|e| format!("{manifest_file}: {e}"))?;
    Ok(Loaded {
        config,
        meters,
        access,
    })
}

impl HeadendConfig {
    fn operator(&self) -> Result<HttpOperator, String> {
        let o = &self.operator;
        let mut c = HttpOperatorConfig::new(&o.url, &o.token);
        c.request_timeout = Duration::from_millis(o.timeout_ms);
        c.params.utc_offset_minutes = self.policy.utc_offset_minutes;
        if let Some(token) = &o.scenario_token {
            c.logbook = LogbookSource::Scenario {
                token: token.clone(),
            };
        }
        HttpOperator::new(c).map_err(|e| format!("[operator] url: {e}"))
    }

    fn timeouts(&self) -> DriverTimeouts {
        let t = &self.timeouts;
        DriverTimeouts {
            read: ReadTimeouts {
                connect: Duration::from_millis(t.connect_ms),
                response: Duration::from_millis(t.response_ms),
            },
            wake_up: Duration::from_millis(t.wake_up_ms),
        }
    }
}

pub fn run(args: HeadendArgs) -> i32 {
    if args.example_config {
        print!("{EXAMPLE}");
        return exit::OK;
    }
    let path = args.config.expect("clap requires --config");
    match load(&path) {
        Ok(loaded) => block_on(serve(with_store(loaded, args.store), false, args.run_for)),
        Err(message) => {
            eprintln!("reanimator headend: {message}");
            exit::INVALID_INPUT
        }
    }
}

/// Runs the orchestrator alone, taking another head-end's missing-data signals over HTTP.
#[derive(Debug, Args)]
pub struct SidecarArgs {
    /// The configuration file: the head-end's (see `reanimator headend --example-config`),
    /// whose `[sidecar]` table says where to listen.
    #[arg(long)]
    pub config: PathBuf,
    /// The store, overriding `[store] location`.
    #[arg(long)]
    pub store: Option<String>,
    /// Stop after this many seconds; default: until interrupted.
    #[arg(long)]
    pub run_for: Option<f64>,
}

pub fn run_sidecar(args: SidecarArgs) -> i32 {
    match load(&args.config) {
        Ok(loaded) => block_on(serve(with_store(loaded, args.store), true, args.run_for)),
        Err(message) => {
            eprintln!("reanimator sidecar: {message}");
            exit::INVALID_INPUT
        }
    }
}

fn with_store(mut loaded: Loaded, store: Option<String>) -> Loaded {
    if let Some(location) = store {
        loaded.config.store.location = location;
    }
    loaded
}

fn block_on(f: impl std::future::Future<Output = Result<(), String>>) -> i32 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(f) {
        Ok(()) => exit::OK,
        Err(message) => {
            eprintln!("reanimator: {message}");
            exit::FAILURE
        }
    }
}

async fn serve(loaded: Loaded, sidecar: bool, run_for: Option<f64>) -> Result<(), String> {
    let Loaded {
        config,
        meters,
        access,
    } = loaded;
    let store = Store::open(&config.store.location)
        .await
        .map_err(|e| e.to_string())?;
    let store = Arc::new(store);
    let adapter = Arc::new(config.operator()?);
    let now = driver::now();
    let mut headend = if sidecar {
        Headend::sidecar(
            config.policy.clone(),
            meters.clone(),
            now,
            config.sidecar.probe,
        )
    } else {
        Headend::new(config.policy.clone(), meters.clone(), now)
    };
    let open = driver::restore(&mut headend, &store)
        .await
        .map_err(|e| e.to_string())?;
    let (stop_tx, stop) = watch::channel(false);
    let (mut inbound, mut pushes, mut signals) = (None, None, None);
    if sidecar {
        let (tx, rx) = mpsc::unbounded_channel();
        signals = Some(rx);
        let state = Arc::new(SidecarState::new(&meters, store.clone(), tx));
        let listener = tokio::net::TcpListener::bind(config.sidecar.listen)
            .await
            .map_err(|e| format!("[sidecar] listen {}: {e}", config.sidecar.listen))?;
        println!(
            "sidecar: {} meters; signals at http://{}/sidecar/v0/signals",
            meters.len(),
            listener.local_addr().map_err(|e| e.to_string())?
        );
        tokio::spawn(async move { axum::serve(listener, sidecar_http::router(state)).await });
    } else {
        let names = access::by_name(&access);
        let (shared, local, rx) = Inbound::bind(config.listen.inbound, names)
            .await
            .map_err(|e| format!("[listen] inbound {}: {e}", config.listen.inbound))?;
        println!(
            "headend: {} meters, cycle {} s, window {} s; woken meters call {local}; store {}",
            meters.len(),
            config.policy.cycle_secs,
            config.policy.window_secs,
            store.location()
        );
        (inbound, pushes) = (Some(shared), Some(rx));
    }
    if open > 0 {
        println!("resumed {open} open outages from the store");
    }
    let driver = Driver {
        headend,
        access: Arc::new(access),
        adapter,
        store,
        inbound,
        pushes,
        signals,
        timeouts: config.timeouts(),
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        stop_tx.send(true).ok();
    });
    let until = run_for.map(|s| now + Duration::from_secs_f64(s.max(0.0)));
    let outages = driver.run(stop, until).await.map_err(|e| e.to_string())?;
    let open = outages.iter().filter(|o| o.is_open()).count();
    println!("stopped: {} outages seen, {open} open", outages.len());
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    tokio::signal::ctrl_c().await.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_documents_the_defaults() {
        let c: HeadendConfig = config::parse("docs/headend.example.toml", EXAMPLE, []).unwrap();
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.operator.url, OperatorSection::default().url);
        assert_eq!(c.operator.timeout_ms, OperatorSection::default().timeout_ms);
        assert_eq!(c.listen.inbound, ListenSection::default().inbound);
        assert_eq!(c.store.location, StoreSection::default().location);
        assert_eq!(c.timeouts.wake_up_ms, TimeoutsSection::default().wake_up_ms);
        assert_eq!(c.sidecar.listen, SidecarSection::default().listen);
        assert_eq!(c.sidecar.probe, SidecarSection::default().probe);
    }

    #[test]
    fn the_example_configuration_has_every_table() {
        let example: toml::Table = toml::from_str(EXAMPLE).unwrap();
        let mut tables: Vec<&str> = example.keys().map(String::as_str).collect();
        tables.sort();
        let mut want = TABLES.to_vec();
        want.sort();
        assert_eq!(tables, want);
    }

    #[test]
    fn rejects_a_policy_that_cannot_work_naming_the_key() {
        let dir = std::env::temp_dir().join(format!("reanimator-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.toml");
        std::fs::write(
            &path,
            "[meters]\nmanifest = \"f.json\"\n[policy]\ncycle-secs = 7\n",
        )
        .unwrap();
        let e = load(&path).err().unwrap();
        assert!(
            e.contains("h.toml") && e.contains("cycle-secs") && e.contains("divide"),
            "{e}"
        );
    }
}
