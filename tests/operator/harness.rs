//! An operator server in process, a recording webhook sink, and the CAMARA schemas.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use reanimator::net::operator_aaa::{AaaBackend, InProcessBackend};
use reanimator::net::operator_http::{self, RunningOperator, ServerOptions, Tenancy};
use reanimator::operator::actions::Actor;
use reanimator::operator::ids::TenantId;
use reanimator::operator::{FleetManifest, InProcessAaa, OperatorConfig};
use serde_json::{json, Value};

pub const UTILITY: &str = "t-utility";
pub const OTHER: &str = "t-other";
pub const SCENARIO: &str = "t-scenario";

/// Six meters in two cells; meter 5 (in cell-0002) belongs to tenant `other`.
pub fn fleet() -> FleetManifest {
    let mut f = FleetManifest::generate(2, 3);
    f.meters[5].tenant = TenantId::new("other").unwrap();
    f
}

pub fn iccid(n: usize) -> String {
    fleet().meters[n].iccid.to_string()
}

pub fn phone(n: usize) -> String {
    fleet().meters[n].msisdn.to_string()
}

pub struct Operator {
    pub base: String,
    pub client: reqwest::Client,
    pub running: RunningOperator,
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.running.stop();
    }
}

/// Starts a server for `fleet` on an ephemeral loopback port with `aaa` as the utility's server.
pub async fn start_custom(
    fleet: &FleetManifest,
    config: OperatorConfig,
    aaa: Arc<dyn AaaBackend>,
) -> Operator {
    let actor = |t: &str, p: &str| Actor {
        tenant: TenantId::new(t).unwrap(),
        principal: p.into(),
    };
    let tenancy = Tenancy::new(
        [
            (UTILITY.to_string(), actor("utility", "headend")),
            (OTHER.to_string(), actor("other", "other-app")),
        ],
        SCENARIO.into(),
    );
    let options = ServerOptions {
        config,
        seed: 7,
        tenancy,
        aaa,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = operator_http::start(listener, fleet, options).unwrap();
    Operator {
        base: format!("http://{}", running.addr),
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        running,
    }
}

/// Starts a server on an ephemeral loopback port with fast modems; waits for the fleet to be up.
pub async fn start_with(config: OperatorConfig) -> Operator {
    let fleet = fleet();
    let aaa = InProcessAaa::new(
        fleet
            .meters
            .iter()
            .map(|m| (m.radius_user(), m.radius_password())),
    );
    let op = start_custom(&fleet, config, Arc::new(InProcessBackend::new(aaa))).await;
    for n in 0..5 {
        op.wait_for(&format!("meter {n} session up"), || async {
            op.get(
                UTILITY,
                &format!("/sim-management/v0/sims/{}/session-info", iccid(n)),
            )
            .await
            .1["state"]
                == "SESSION_UP"
        })
        .await;
    }
    op
}

pub async fn start() -> Operator {
    start_with(OperatorConfig::default().time_scaled(0.01)).await
}

impl Operator {
    pub async fn send(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, HeaderMap) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value, headers)
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let (s, v, _) = self
            .send(reqwest::Method::GET, Some(token), path, None)
            .await;
        (s, v)
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self
            .send(reqwest::Method::POST, Some(token), path, Some(body))
            .await;
        (s, v)
    }

    /// Posts raw bytes as JSON.
    pub async fn post_raw(
        &self,
        token: &str,
        path: &str,
        body: &'static str,
    ) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn inject(&self, fault: Value) -> Value {
        let (s, v) = self
            .post(SCENARIO, "/scenario/v0/inject", fault.clone())
            .await;
        assert_eq!(s, StatusCode::OK, "inject {fault}: {v}");
        v
    }

    /// Polls `check` every 20 ms for at most 10 s.
    pub async fn wait_for<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One POST a sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub content_type: String,
    pub authorization: Option<String>,
    pub body: Value,
}

/// A loopback webhook sink that records what it gets and answers with scripted statuses (204
/// once the script runs out).
#[derive(Clone)]
pub struct SinkServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct SinkState {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

async fn record(
    State(s): State<SinkState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let text = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    s.received.lock().unwrap().push(Received {
        content_type: text("content-type").unwrap_or_default(),
        authorization: text("authorization"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let code = s.script.lock().unwrap().pop_front().unwrap_or(204);
    StatusCode::from_u16(code).unwrap()
}

impl SinkServer {
    pub async fn start(script: &[u16]) -> SinkServer {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = SinkState {
            received: received.clone(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(record))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        SinkServer { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until at least `n` POSTs arrived.
    pub async fn wait(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the sink got {} of {n} notifications: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A validator for the schema at `pointer` (e.g. `/components/schemas/X`) in tests/camara/FILE.json.
pub fn schema(file: &str, pointer: &str) -> jsonschema::Validator {
    let path = format!("{}/tests/camara/{file}.json", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut root = json!({"$ref": format!("#{pointer}")});
    root["components"] = doc["components"].clone();
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{path}{pointer}: {e}"))
}

/// The schema of a shared CAMARA error response, e.g. `Generic401`.
pub fn error_schema(file: &str, response: &str) -> jsonschema::Validator {
    schema(
        file,
        &format!("/components/responses/{response}/content/application~1json/schema"),
    )
}

pub fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the CAMARA schema: {errors:?}\n{instance:#}"
    );
}
