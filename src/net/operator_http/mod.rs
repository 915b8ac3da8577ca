//! `reanimator operator` over HTTP: the CAMARA-shaped exposure API, our own network-insight
//! resources, the SIM API and scenario control, in front of the pure [`Network`] model.
//!
//! It lives in `net` because it is a driver: it turns requests into model calls and runs the
//! model on the real clock (a tokio task sleeps until [`Network::poll_timeout`], hands RADIUS
//! requests to an [`AaaBackend`] and deliveries to the webhook workers). All API logic that is
//! not HTTP (state, decisions, records) stays in `operator`.

mod auth;
mod camara;
mod driver;
pub mod error;
mod insights;
mod openapi;
mod scenario;
mod sims;
mod subscriptions;
mod webhooks;

pub use auth::Tenancy;
pub use error::{parse_body, ApiError};
pub use webhooks::{check_sink, retry_delay};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{MethodRouter, Router};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::operator_aaa::AaaBackend;
use crate::operator::{FleetManifest, Network, OperatorConfig};
use subscriptions::Subscriptions;

/// The model and its subscriptions, behind one lock (so no lock order to get wrong).
#[derive(Debug)]
pub struct World {
    pub net: Network,
    pub subs: Subscriptions,
}

/// What every handler shares.
pub struct Shared {
    world: Mutex<World>,
    pub tenancy: Tenancy,
    pub aaa: Arc<dyn AaaBackend>,
    wake: Notify,
    pub http: reqwest::Client,
    /// `http://ADDR`, for self links.
    pub base_url: String,
    /// Where the simulated meters' modems are driven from.
    pub meters: crate::net::operator_meters::MeterLink,
}

impl Shared {
    /// Locks the model and the subscriptions (a poisoned lock is taken over: the model stays
    /// consistent between calls).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the driver that the model has new output or deadlines.
    pub fn kick(&self) {
        self.wake.notify_one();
    }
}

/// The wall clock as the model's time.
pub use super::wall_clock as now;

/// How to start the server.
pub struct ServerOptions {
    pub config: OperatorConfig,
    pub seed: u64,
    pub tenancy: Tenancy,
    pub aaa: Arc<dyn AaaBackend>,
}

/// A running server.
pub struct RunningOperator {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    driver: tokio::task::JoinHandle<()>,
}

impl RunningOperator {
    /// Waits until the HTTP server stops (it runs until the process ends).
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self
            .server
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.driver.abort();
        result
    }

    /// Stops the server and the driver.
    pub fn stop(&self) {
        self.server.abort();
        self.driver.abort();
    }
}

/// Starts the server on `listener` for `fleet`.
pub fn start(
    listener: TcpListener,
    fleet: &FleetManifest,
    options: ServerOptions,
) -> std::io::Result<RunningOperator> {
    let addr = listener.local_addr()?;
    let net = Network::new(options.config, fleet, options.seed, now());
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(std::io::Error::other)?;
    let shared = Arc::new(Shared {
        world: Mutex::new(World {
            net,
            subs: Subscriptions::default(),
        }),
        tenancy: options.tenancy,
        aaa: options.aaa,
        wake: Notify::new(),
        meters: crate::net::operator_meters::MeterLink::new(fleet, http.clone()),
        http,
        base_url: format!("http://{addr}"),
    });
    let driver = tokio::spawn(driver::run(shared.clone()));
    let app = router(shared.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(RunningOperator {
        addr,
        shared,
        server,
        driver,
    })
}

/// One route: path, method, tag, summary, who may call it, and its handler.
pub(crate) struct Route {
    pub path: &'static str,
    pub method: Method,
    pub tag: &'static str,
    pub summary: &'static str,
    pub security: Security,
    pub success: u16,
    pub handler: MethodRouter<Arc<Shared>>,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    None,
    Tenant,
    Scenario,
}

/// Every route; the router and the OpenAPI document are both built from this table.
pub(crate) fn routes() -> Vec<Route> {
    let mut v = camara::routes();
    v.extend(insights::routes());
    v.extend(sims::routes());
    v.extend(scenario::routes());
    v.extend(openapi::routes());
    v
}

fn router(shared: Arc<Shared>) -> Router {
    let mut router: Router<Arc<Shared>> = Router::new();
    let mut by_path: Vec<(&'static str, MethodRouter<Arc<Shared>>)> = Vec::new();
    for r in routes() {
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, m)) => *m = std::mem::take(m).merge(r.handler),
            None => by_path.push((r.path, r.handler)),
        }
    }
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    router
        .fallback(|| async { ApiError::not_found() })
        .layer(axum::middleware::from_fn(correlator))
        .with_state(shared)
}

/// Echoes `x-correlator` as CAMARA asks.
async fn correlator(req: Request, next: Next) -> Response {
    let name = HeaderName::from_static("x-correlator");
    let value: Option<HeaderValue> = req.headers().get(&name).filter(|v| v.len() <= 256).cloned();
    let mut response = next.run(req).await;
    if let Some(v) = value {
        response.headers_mut().insert(name, v);
    }
    response
}
