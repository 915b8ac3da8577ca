//! The head-end's operator adapter over HTTP: `reanimator operator`'s exposure, insight and SIM
//! APIs (docs/operator.md), read into [`OperatorRecords`] and assembled by the same pure step as
//! the in-process adapter.
//!
//! Plain HTTP only (the simulator has no TLS). A `429` becomes [`AdapterError::RateLimited`] with
//! the `Retry-After` seconds; a `404` on a SIM's resource becomes [`AdapterError::UnknownSim`].

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::headend::evidence::{
    assemble, assemble_outlook, AaaKind, AaaRecord, CellRecord, CredentialChangeRecord,
    EvidenceParams, ForecastLevel, ForecastRecord, KpiRecord, LogbookFn, OperatorRecords, Reach,
    ReachabilityRecord, SessionPhase, SessionRecord, SimRecord, WindowRecord,
};
use crate::headend::fleet::MeterRef;
use crate::headend::operator_adapter::{
    AdapterError, CellOutlook, Gathered, OperatorAdapter, ResetKind, FORECAST_AHEAD, WAKE_UP_TEXT,
    WAKE_UP_VALIDITY,
};
use crate::operator::geohash;
use crate::time::Timestamp;

/// At most this many AAA records per gather (the API's maximum).
const MAX_AAA_RECORDS: usize = 100;
/// One Predictive Connectivity Data slot.
const HOUR: Duration = Duration::from_secs(3600);
/// The longest window PCD answers.
const MAX_FORECAST: Duration = Duration::from_secs(168 * 3600);

/// Where the utility's credential logbook comes from.
#[derive(Clone, Default)]
pub enum LogbookSource {
    /// No logbook: an AAA reject is reported without the change behind it.
    #[default]
    None,
    /// The simulator's embedded RADIUS server, `GET /scenario/v0/credential-changes` with the
    /// scenario token (used for nothing else).
    Scenario { token: String },
    /// The utility's own logbook (its store), read at each gather.
    Store(LogbookFn),
}

impl std::fmt::Debug for LogbookSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogbookSource::None => f.write_str("None"),
            LogbookSource::Scenario { .. } => f.write_str("Scenario"),
            LogbookSource::Store(_) => f.write_str("Store"),
        }
    }
}

/// How to reach the operator.
#[derive(Clone)]
pub struct HttpOperatorConfig {
    /// `http://HOST:PORT`, e.g. `http://127.0.0.1:7070`.
    pub base_url: String,
    /// The tenant's bearer token.
    pub token: String,
    pub logbook: LogbookSource,
    /// Each cell's coverage geohash (from the fleet manifest), for Predictive Connectivity Data;
    /// a cell not listed gets no forecasts.
    pub cell_geohashes: HashMap<String, String>,
    /// The whole of one request, connection included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub params: EvidenceParams,
}

impl HttpOperatorConfig {
    /// `base_url` and `token` with the defaults: no logbook, no geohashes, 10 s per request,
    /// 2 s to connect, the default evidence parameters.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        HttpOperatorConfig {
            base_url: base_url.into(),
            token: token.into(),
            logbook: LogbookSource::None,
            cell_geohashes: HashMap::new(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            params: EvidenceParams::default(),
        }
    }
}

impl std::fmt::Debug for HttpOperatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOperatorConfig")
            .field("base_url", &self.base_url)
            .field("token", &"(hidden)")
            .field("logbook", &self.logbook)
            .field("cell_geohashes", &self.cell_geohashes.len())
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("params", &self.params)
            .finish()
    }
}

/// [`OperatorAdapter`] over `reanimator operator`'s HTTP API.
pub struct HttpOperator {
    http: reqwest::Client,
    base: String,
    config: HttpOperatorConfig,
}

/// Whether a 404 means the SIM is unknown, or something else is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Sim,
    Other,
}

impl HttpOperator {
    /// Checks the URL and builds the client.
    pub fn new(config: HttpOperatorConfig) -> Result<Self, AdapterError> {
        let url = url::Url::parse(&config.base_url).map_err(|e| {
            AdapterError::Failed(format!("operator URL `{}`: {e}", config.base_url))
        })?;
        if url.scheme() != "http" || url.host().is_none() {
            return Err(AdapterError::Failed(format!(
                "operator URL `{}`: must be http://HOST:PORT (no TLS in this client)",
                config.base_url
            )));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| AdapterError::Failed(format!("HTTP client: {e}")))?;
        Ok(HttpOperator {
            http,
            base: config.base_url.trim_end_matches('/').to_string(),
            config,
        })
    }

    fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path, &self.config.token)
    }

    fn post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.request(Method::POST, path, &self.config.token)
            .json(body)
    }

    /// Sends `req`; maps refusals to [`AdapterError`]s that name `what`.
    async fn send(
        &self,
        req: RequestBuilder,
        what: &str,
        scope: Scope,
    ) -> Result<Response, AdapterError> {
        let resp = req
            .send()
            .await
            .map_err(|e| AdapterError::Failed(format!("{what}: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after_secs = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
            return Err(AdapterError::RateLimited { retry_after_secs });
        }
        if status == StatusCode::NOT_FOUND && scope == Scope::Sim {
            return Err(AdapterError::UnknownSim);
        }
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let code = body["code"].as_str().unwrap_or("");
        let message = body["message"].as_str().unwrap_or("");
        Err(AdapterError::Failed(format!(
            "{what}: HTTP {} {code}: {message}",
            status.as_u16()
        )))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        what: &str,
        scope: Scope,
    ) -> Result<T, AdapterError> {
        self.send(req, what, scope)
            .await?
            .json()
            .await
            .map_err(|e| AdapterError::Failed(format!("{what}: unexpected answer: {e}")))
    }

    /// Everything the operator exposes about `meter`'s SIM, as of `now`.
    pub async fn records(
        &self,
        meter: &MeterRef,
        now: Timestamp,
    ) -> Result<OperatorRecords, AdapterError> {
        let sims = "/sim-management/v0/sims";
        let iccid = &meter.iccid;
        if iccid.is_empty() || !iccid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AdapterError::UnknownSim);
        }
        let device = json!({"device": {"phoneNumber": meter.msisdn}});
        let sim: SimWire = self
            .json(
                self.get(&format!("{sims}/{iccid}")),
                "SIM details",
                Scope::Sim,
            )
            .await?;
        let session: SessionWire = self
            .json(
                self.post("/session-status/v0/retrieve", &device),
                "session status",
                Scope::Sim,
            )
            .await?;
        let status: ConnectivityWire = self
            .json(
                self.get(&format!("{sims}/{iccid}/connectivity-status")),
                "connectivity status",
                Scope::Sim,
            )
            .await?;
        let mut aaa_query = device.clone();
        aaa_query["maxRecords"] = json!(MAX_AAA_RECORDS);
        let aaa: AaaWire = self
            .json(
                self.post("/aaa-records/v0/retrieve", &aaa_query),
                "AAA records",
                Scope::Sim,
            )
            .await?;
        let kpi_from = now - self.config.params.kpi_window;
        let mut kpi_query = device.clone();
        kpi_query["startTime"] = json!(kpi_from.to_rfc3339());
        kpi_query["endTime"] = json!(now.to_rfc3339());
        let kpi: KpiWire = self
            .json(
                self.post("/session-kpis/v0/retrieve", &kpi_query),
                "session KPIs",
                Scope::Sim,
            )
            .await?;
        let maintenance = self
            .windows(&status.cell_id, now, now + Duration::from_secs(1))
            .await?;
        let start = now.floor(HOUR);
        let forecasts = self
            .forecasts(&status.cell_id, start, start + FORECAST_AHEAD)
            .await?;
        let logbook = self.logbook().await?;
        Ok(OperatorRecords {
            session: Some(session.into_record()),
            aaa: aaa
                .records
                .into_iter()
                .map(AaaRecordWire::into_record)
                .collect(),
            logbook,
            sim: Some(SimRecord {
                quota_exhausted: sim
                    .data_limit_bytes
                    .is_some_and(|limit| sim.data_used_bytes >= limit),
                status: sim.status,
                data_barred: sim.data_barred,
                cell: sim.cell_id,
            }),
            maintenance,
            cell: Some(CellRecord {
                id: status.cell_id.clone(),
                serving: status.cell_serving,
            }),
            forecasts,
            reachability: Some(status.into_record()),
            kpi: Some(KpiRecord {
                from: kpi_from,
                until: now,
                attempts: kpi.attempts,
                successes: kpi.successes,
            }),
        })
    }

    /// Announced maintenance windows touching `cell` in `[from, until)`.
    async fn windows(
        &self,
        cell: &str,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<WindowRecord>, AdapterError> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("cellId", cell)
            .append_pair("startTime", &from.to_rfc3339())
            .append_pair("endTime", &until.to_rfc3339())
            .finish();
        let windows: Vec<WindowWire> = self
            .json(
                self.get(&format!("/maintenance-windows/v0/windows?{query}")),
                "maintenance windows",
                Scope::Other,
            )
            .await?;
        Ok(windows
            .into_iter()
            .map(|w| WindowRecord {
                id: w.id,
                cells: w.cells,
                from: w.start,
                until: w.end,
                description: w.description,
            })
            .collect())
    }

    /// The degraded hours Predictive Connectivity Data predicts for `cell` over `[start, end)`.
    async fn forecasts(
        &self,
        cell: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<ForecastRecord>, AdapterError> {
        let Some(hash) = self.config.cell_geohashes.get(cell) else {
            return Ok(Vec::new());
        };
        let Some(polygon) = geohash::cell_boundary(hash) else {
            return Err(AdapterError::Failed(format!(
                "cell {cell}: `{hash}` is not a geohash"
            )));
        };
        let boundary: Vec<Value> = polygon
            .iter()
            .map(|p| json!({"latitude": p.latitude, "longitude": p.longitude}))
            .collect();
        let body = json!({
            "serviceLevel": "C2",
            "area": {"areaType": "POLYGON", "boundary": boundary},
            "startTime": start.to_rfc3339(),
            "endTime": end.to_rfc3339(),
            "precision": hash.len(),
        });
        let pcd: PcdWire = self
            .json(
                self.post("/predictive-connectivity-data/v0.1/retrieve", &body),
                "predictive connectivity",
                Scope::Other,
            )
            .await?;
        Ok(pcd
            .timed_connectivity_data
            .into_iter()
            .filter_map(|slot| {
                let level = slot
                    .cell_connectivity_data
                    .iter()
                    .flat_map(|c| c.layer_connectivities.iter())
                    .filter_map(|code| ForecastLevel::from_wire(code))
                    .min_by_key(|l| *l != ForecastLevel::None)?;
                Some(ForecastRecord {
                    from: slot.start_time,
                    until: slot.end_time,
                    level,
                })
            })
            .collect())
    }

    async fn logbook(&self) -> Result<Vec<CredentialChangeRecord>, AdapterError> {
        match &self.config.logbook {
            LogbookSource::None => Ok(Vec::new()),
            LogbookSource::Store(read) => Ok(read()),
            LogbookSource::Scenario { token } => {
                let req = self.request(Method::GET, "/scenario/v0/credential-changes", token);
                let changes: Vec<LogbookWire> =
                    self.json(req, "credential logbook", Scope::Other).await?;
                Ok(changes
                    .into_iter()
                    .map(|c| CredentialChangeRecord {
                        at: c.time,
                        user: c.user,
                        by: c.by,
                    })
                    .collect())
            }
        }
    }

    async fn reset_sim(
        &self,
        meter: &MeterRef,
        kind: ResetKind,
        reason: &str,
    ) -> Result<String, AdapterError> {
        let body = json!({
            "deleteDataSession": kind == ResetKind::DataSession,
            "cancelLocation": kind == ResetKind::CancelLocation,
            "reason": reason,
        });
        let path = format!("/sim-management/v0/sims/{}/connectivity-reset", meter.iccid);
        let op: OperationWire = self
            .json(self.post(&path, &body), "connectivity reset", Scope::Sim)
            .await?;
        Ok(op.operation_id)
    }

    async fn send_wake_up(&self, meter: &MeterRef) -> Result<(), AdapterError> {
        let body = json!({
            "text": WAKE_UP_TEXT,
            "validitySeconds": WAKE_UP_VALIDITY.as_secs(),
            "reason": "wake-up for a read",
        });
        let path = format!("/sim-management/v0/sims/{}/sms", meter.iccid);
        self.send(self.post(&path, &body), "wake-up SMS", Scope::Sim)
            .await
            .map(drop)
    }

    async fn cells_outlook(
        &self,
        cells: &[String],
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<CellOutlook>, AdapterError> {
        let mut windows = Vec::new();
        let mut forecasts = Vec::new();
        let start = from.floor(HOUR);
        let end = until.min(start + MAX_FORECAST);
        for cell in cells {
            for w in self.windows(cell, from, until).await? {
                windows.push(WindowRecord {
                    cells: vec![cell.clone()],
                    ..w
                });
            }
            if end > start {
                for f in self.forecasts(cell, start, end).await? {
                    forecasts.push((cell.clone(), f));
                }
            }
        }
        Ok(assemble_outlook(&windows, &forecasts, from, until))
    }
}

impl OperatorAdapter for HttpOperator {
    async fn gather(
        &self,
        meter: &MeterRef,
        now: Timestamp,
        earlier_reject: Option<&AaaRecord>,
    ) -> Result<Gathered, AdapterError> {
        let records = self.records(meter, now).await?;
        Ok(assemble(
            meter,
            &records,
            earlier_reject,
            now,
            &self.config.params,
        ))
    }

    fn wake_up(
        &self,
        meter: &MeterRef,
        _now: Timestamp,
    ) -> impl Future<Output = Result<(), AdapterError>> + Send {
        self.send_wake_up(meter)
    }

    fn reset(
        &self,
        meter: &MeterRef,
        kind: ResetKind,
        reason: &str,
        _now: Timestamp,
    ) -> impl Future<Output = Result<String, AdapterError>> + Send {
        self.reset_sim(meter, kind, reason)
    }

    fn outlook(
        &self,
        cells: &[String],
        from: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<CellOutlook>, AdapterError>> + Send {
        self.cells_outlook(cells, from, until)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SimWire {
    status: String,
    #[serde(default)]
    data_barred: bool,
    data_limit_bytes: Option<u64>,
    #[serde(default)]
    data_used_bytes: u64,
    cell_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionWire {
    state: String,
    state_since: Timestamp,
    date_session_started: Option<Timestamp>,
    last_traffic_at: Option<Timestamp>,
    date_session_ended: Option<Timestamp>,
    last_terminate_cause: Option<String>,
    last_setup_failure: Option<String>,
    last_setup_failure_at: Option<Timestamp>,
    #[serde(default)]
    consecutive_setup_failures: u32,
}

impl SessionWire {
    fn into_record(self) -> SessionRecord {
        SessionRecord {
            phase: SessionPhase::from_wire(&self.state),
            since: self.state_since,
            started: self.date_session_started,
            last_traffic: self.last_traffic_at,
            last_setup_failure: self.last_setup_failure.zip(self.last_setup_failure_at),
            last_terminate: self.last_terminate_cause.zip(self.date_session_ended),
            consecutive_failures: self.consecutive_setup_failures,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectivityWire {
    reachability: String,
    since: Timestamp,
    cell_id: String,
    cell_serving: bool,
    last_activity_at: Option<Timestamp>,
    detach_reason: Option<String>,
}

impl ConnectivityWire {
    fn into_record(self) -> ReachabilityRecord {
        ReachabilityRecord {
            reach: match self.reachability.as_str() {
                "DATA" => Reach::Data,
                "SMS" => Reach::SmsOnly,
                _ => Reach::Unreachable,
            },
            since: self.since,
            last_activity: self.last_activity_at,
            detach_reason: self.detach_reason,
        }
    }
}

#[derive(Debug, Deserialize)]
struct AaaWire {
    records: Vec<AaaRecordWire>,
}

#[derive(Debug, Deserialize)]
struct AaaRecordWire {
    time: Timestamp,
    kind: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    line: String,
}

impl AaaRecordWire {
    fn into_record(self) -> AaaRecord {
        AaaRecord {
            at: self.time,
            kind: AaaKind::from_wire(&self.kind),
            user: self.user,
            line: self.line,
        }
    }
}

#[derive(Debug, Deserialize)]
struct KpiWire {
    attempts: u32,
    successes: u32,
}

#[derive(Debug, Deserialize)]
struct WindowWire {
    id: String,
    cells: Vec<String>,
    start: Timestamp,
    end: Timestamp,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PcdWire {
    #[serde(default)]
    timed_connectivity_data: Vec<PcdSlotWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PcdSlotWire {
    start_time: Timestamp,
    end_time: Timestamp,
    #[serde(default)]
    cell_connectivity_data: Vec<PcdCellWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PcdCellWire {
    #[serde(default)]
    layer_connectivities: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct LogbookWire {
    time: Timestamp,
    user: String,
    by: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationWire {
    operation_id: String,
}
