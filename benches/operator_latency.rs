//! Latency of `reanimator operator` under a fixed request rate, open loop.
//!
//! Starts the operator in process on loopback with a generated fleet (or targets a running one:
//! `OPERATOR_URL=http://127.0.0.1:7070 OPERATOR_TOKEN=token-utility`), sends a mix of exposure
//! and SIM API reads at a fixed rate for a fixed time, and reports p50, p99 and max, measured
//! from each request's scheduled send time (so a stalled server cannot hide queueing). Beside
//! it, the same load against a bare axum endpoint on the same runtime is the baseline.
//!
//! `cargo bench --bench operator_latency` (defaults: 500 requests/s for 10 s; override with
//! `RATE` and `SECONDS`). Target: p99 under 50 ms at 500 requests/s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use reanimator::net::operator_aaa::InProcessBackend;
use reanimator::net::operator_http::{self, ServerOptions, Tenancy};
use reanimator::operator::actions::Actor;
use reanimator::operator::ids::TenantId;
use reanimator::operator::{FleetManifest, InProcessAaa, OperatorConfig};
use serde_json::json;
use tokio::sync::Mutex;

const TARGET_P99: Duration = Duration::from_millis(50);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Load {
    rate: u64,
    seconds: u64,
}

/// One request of the mix, by sequence number.
fn request(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    fleet: &FleetManifest,
    n: u64,
) -> reqwest::RequestBuilder {
    let m = &fleet.meters[(n as usize * 7919) % fleet.meters.len()];
    let sim = format!("{base}/sim-management/v0/sims/{}", m.iccid);
    let device = json!({"device": {"phoneNumber": m.msisdn}});
    let r = match n % 6 {
        0 => client
            .post(format!("{base}/device-reachability-status/v1/retrieve"))
            .json(&device),
        1 => client.get(format!("{sim}/session-info")),
        2 => client
            .post(format!("{base}/aaa-records/v0/retrieve"))
            .json(&device),
        3 => client.get(format!("{sim}/connectivity-status")),
        4 => client
            .post(format!("{base}/session-status/v0/retrieve"))
            .json(&device),
        _ => client.get(sim),
    };
    r.bearer_auth(token)
}

/// Sends `load` open loop; returns the latency histogram (µs) and the failures.
async fn drive(
    load: &Load,
    make: impl Fn(u64) -> reqwest::RequestBuilder,
) -> (Histogram<u64>, u64) {
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds"),
    ));
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = load.rate * load.seconds;
    let interval = Duration::from_secs_f64(1.0 / load.rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let req = make(n);
        let (hist, failures) = (hist.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let ok = match req.timeout(Duration::from_secs(5)).send().await {
                Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                Err(_) => false,
            };
            let micros = due.elapsed().as_micros() as u64;
            hist.lock().await.saturating_record(micros.max(1));
            if !ok {
                failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let hist = Arc::try_unwrap(hist).expect("all tasks done").into_inner();
    (hist, failures.load(std::sync::atomic::Ordering::Relaxed))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn report(name: &str, load: &Load, hist: &Histogram<u64>, failures: u64) {
    println!(
        "{name:<26} {} req at {}/s: p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  failures {failures}",
        hist.len(),
        load.rate,
        ms(hist.value_at_quantile(0.5)),
        ms(hist.value_at_quantile(0.99)),
        ms(hist.max())
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let load = Load {
        rate: env_or("RATE", 500).clamp(1, 5000),
        seconds: env_or("SECONDS", 10).clamp(1, 120),
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
    let fleet = FleetManifest::generate(100, 100);

    // Baseline: a bare endpoint on the same runtime and client.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bare = format!("http://{}/", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { axum::Json(json!({"ok": true})) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (base, token, _server) = match std::env::var("OPERATOR_URL") {
        Ok(url) => (
            url,
            env_or("OPERATOR_TOKEN", "token-utility".to_string()),
            None,
        ),
        Err(_) => {
            let aaa = InProcessAaa::new(
                fleet
                    .meters
                    .iter()
                    .map(|m| (m.radius_user(), m.radius_password())),
            );
            let actor = Actor {
                tenant: TenantId::new("utility").expect("valid"),
                principal: "bench".into(),
            };
            let options = ServerOptions {
                config: OperatorConfig::default().time_scaled(0.05),
                seed: 1,
                tenancy: Tenancy::new(
                    [("bench-token".to_string(), actor)],
                    "bench-scenario".into(),
                ),
                aaa: Arc::new(InProcessBackend::new(aaa)),
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let running = operator_http::start(listener, &fleet, options).expect("server");
            tokio::time::sleep(Duration::from_secs(2)).await; // the fleet attaches
            (
                format!("http://{}", running.addr),
                "bench-token".to_string(),
                Some(running),
            )
        }
    };
    println!(
        "operator at {base}, {} SIMs, open loop for {} s",
        fleet.meters.len(),
        load.seconds
    );

    let (baseline, bf) = drive(&load, |_| client.get(&bare)).await;
    report("baseline (bare endpoint)", &load, &baseline, bf);
    let (hist, failures) = drive(&load, |n| request(&client, &base, &token, &fleet, n)).await;
    report("operator API mix", &load, &hist, failures);
    let p99 = Duration::from_micros(hist.value_at_quantile(0.99));
    println!(
        "p99 {:.2} ms is {:.1}x the baseline's; target p99 < {} ms: {}",
        ms(p99.as_micros() as u64),
        hist.value_at_quantile(0.99) as f64 / baseline.value_at_quantile(0.99).max(1) as f64,
        TARGET_P99.as_millis(),
        if p99 < TARGET_P99 && failures == 0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
