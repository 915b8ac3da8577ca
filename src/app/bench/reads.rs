//! Read transactions under load: the fleet read by the crate's tokio client, and the bare
//! exchange of the same sizes, round trips, close order and addresses.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::bare::frame;
use super::processes::{cpu_time, cpu_time_of_tree};
use super::FleetArgs;
use crate::app::meters::load_profile;
use crate::cosem::LoadModel;
use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::datetime::DateTime;
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{
    AttributeDescriptor, CaptureObject, GetDataResult, RangeDescriptor, SelectiveAccess,
};
use crate::meter::device::{meter_settings, MeterDevice, PUBLIC_CLIENT};
use crate::meter::identity::MeterIdentity;
use crate::meter::profile::Profile;
use crate::net::fleet::unix_now;
use crate::net::DlmsClient;
use crate::session::{ClientConfig, ClientSession, Response};

/// How long one transaction may take before it counts as an error.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The meters' logical device.
const SERVER_SAP: u16 = 1;

/// APDU sizes of one request and its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub request: usize,
    pub response: usize,
}

/// The round trips of one read transaction, as the real client and meter exchange them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub steps: Vec<Step>,
}

impl Exchange {
    /// Runs the transaction between the pure client and meter sessions in memory and records
    /// the size of every APDU: AARQ/AARE, GET by range/response, RLRQ/RLRE.
    pub fn measure(profile: &Profile, seed: u64, access: &SelectiveAccess) -> Result<Self, String> {
        let identity = MeterIdentity::derive(
            seed,
            0,
            profile.manufacturer,
            &profile.security.fleet_secret,
            1,
        );
        let mut device =
            MeterDevice::new(0, identity.serial, Arc::new(meter_settings(profile, seed)));
        device.app.set_now(unix_now());
        let now = Instant::now();
        let mut meter = device.open_session(profile, &identity, PUBLIC_CLIENT, vec![0; 16], now);
        let mut client = ClientSession::new(public_client()).map_err(|e| e.to_string())?;
        let mut steps = Vec::new();
        let mut step = |client: &mut ClientSession| -> Result<(), String> {
            let request = client.poll_transmit().ok_or("the client sent nothing")?;
            meter.handle_apdu(now, &request, &mut device.app);
            let response = meter.poll_transmit().ok_or("the meter did not answer")?;
            client.handle_apdu(now, &response);
            steps.push(Step {
                request: request.len(),
                response: response.len(),
            });
            Ok(())
        };
        let e = |e: crate::session::SessionError| e.to_string();
        client.associate(now).map_err(e)?;
        step(&mut client)?;
        client
            .get(now, profile_buffer(), Some(access.clone()))
            .map_err(e)?;
        step(&mut client)?;
        client.release(now).map_err(e)?;
        step(&mut client)?;
        if !client.is_closed() && client.is_associated() {
            return Err("the in-memory exchange did not release".into());
        }
        Ok(Exchange { steps })
    }

    /// `61/43 48/52 5/5`: request and response APDU bytes per round trip.
    pub fn describe(&self) -> String {
        self.steps
            .iter()
            .map(|s| format!("{}/{}", s.request, s.response))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn public_client() -> ClientConfig {
    ClientConfig {
        response_timeout: TRANSACTION_TIMEOUT,
        ..ClientConfig::default()
    }
}

fn profile_buffer() -> AttributeDescriptor {
    AttributeDescriptor::new(7, Obis::LOAD_PROFILE_1, 2)
}

/// What both sides of the comparison need.
pub struct ReadSetup {
    pub exchange: Exchange,
    /// Selects the one profile entry of an hour ago.
    access: SelectiveAccess,
    meters: u32,
    concurrency: u32,
    reads: u64,
    limit: Duration,
    rounds: u32,
}

/// How much load one side gets per round.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Meters (addresses) the transactions are spread over.
    pub meters: u32,
    /// Transactions in flight.
    pub concurrency: u32,
    /// Transactions per round.
    pub reads: u64,
    /// Time limit per round.
    pub limit: Duration,
    pub rounds: u32,
}

impl ReadSetup {
    pub fn new(args: &FleetArgs) -> Result<Self, String> {
        Self::with_load(
            &args.profile,
            args.seed,
            Load {
                meters: args.read_meters,
                concurrency: args.concurrency,
                reads: args.reads,
                limit: Duration::from_secs_f64(args.seconds),
                rounds: args.rounds,
            },
        )
    }

    /// The exchange of a fleet of `profile` meters, under `load`.
    pub fn with_load(profile: &str, seed: u64, load: Load) -> Result<Self, String> {
        let profile = load_profile(profile)?;
        // Every meter of a profile captures its entries at the same instants.
        let model = LoadModel::new(seed, 1, profile.utc_offset_minutes);
        let entry = model.entry_at_or_before(unix_now()) - 4 * 900;
        let at = Data::OctetString(
            DateTime::from_unix(entry, profile.utc_offset_minutes, profile.deviation).to_bytes(),
        );
        let access = SelectiveAccess::from(RangeDescriptor {
            restricting_object: CaptureObject::new(8, Obis::CLOCK, 2),
            from: at.clone(),
            to: at,
            selected_values: vec![],
        });
        Ok(ReadSetup {
            exchange: Exchange::measure(&profile, seed, &access)?,
            access,
            meters: load.meters,
            concurrency: load.concurrency,
            reads: load.reads,
            limit: load.limit,
            rounds: load.rounds,
        })
    }

    /// The same exchange and load with another number of transactions.
    pub fn with_reads(&self, reads: u64) -> Self {
        ReadSetup {
            exchange: self.exchange.clone(),
            access: self.access.clone(),
            reads,
            ..*self
        }
    }
}

/// One side's transaction.
enum Side {
    Fleet { access: SelectiveAccess },
    Bare { requests: Vec<(Vec<u8>, usize)> },
}

impl Side {
    async fn once(&self, addr: SocketAddr) -> Result<(), String> {
        match self {
            Side::Fleet { access } => fleet_read(addr, access).await,
            Side::Bare { requests } => bare_read(addr, requests).await.map_err(|e| e.to_string()),
        }
    }
}

/// Connect, associate as the public client, read one profile entry by range, release, close.
async fn fleet_read(addr: SocketAddr, access: &SelectiveAccess) -> Result<(), String> {
    let mut client = DlmsClient::connect(
        &addr.to_string(),
        PUBLIC_CLIENT,
        SERVER_SAP,
        public_client(),
        TRANSACTION_TIMEOUT,
    )
    .await
    .map_err(|e| e.to_string())?;
    client.associate().await.map_err(|e| e.to_string())?;
    match client
        .get(profile_buffer(), Some(access.clone()))
        .await
        .map_err(|e| e.to_string())?
    {
        Response::Get(GetDataResult::Data(Data::Array(rows))) if rows.len() == 1 => {}
        other => return Err(format!("expected one profile entry, got {other:?}")),
    }
    client.release().await.map_err(|e| e.to_string())
}

/// The same round trips with frames of the same sizes and no DLMS inside.
async fn bare_read(addr: SocketAddr, requests: &[(Vec<u8>, usize)]) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    for (request, response_len) in requests {
        stream.write_all(request).await?;
        let mut got = 0;
        while got < *response_len {
            match stream.read(&mut buf).await? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => got += n,
            }
        }
    }
    stream.shutdown().await
}

/// One side's figures for one round.
#[derive(Debug, Clone, Default)]
pub struct ReadRun {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// CPU time the meters' processes used during the round.
    pub server_cpu: Duration,
    /// CPU time this (client) process used during the round.
    pub client_cpu: Duration,
    /// Completed transactions' durations, sorted, in microseconds.
    latencies_us: Vec<u32>,
}

impl ReadRun {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU microseconds per completed read: (meters, client).
    pub fn cpu_us_per_read(&self) -> (f64, f64) {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / self.ok.max(1) as f64;
        (per(self.server_cpu), per(self.client_cpu))
    }

    /// This run's rate as a share of `other`'s.
    pub fn ratio_to(&self, other: &ReadRun) -> f64 {
        self.per_second() / other.per_second().max(1e-9)
    }

    pub fn percentile_ms(&self, q: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * q) as usize).min(n - 1);
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// The median over rounds of fleet/bare, each ratio taken between runs made back to back.
pub fn median_ratio(fleet: &[ReadRun], bare: &[ReadRun]) -> f64 {
    median(fleet.iter().zip(bare).map(|(f, b)| f.ratio_to(b)))
}

/// The upper median (0 when empty).
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// One side under test: its transaction, its meters' addresses and the process serving them.
struct Target {
    side: Side,
    addrs: Vec<SocketAddr>,
    server_pid: u32,
}

/// Rounds alternating the bare baseline and the fleet, after a warm-up of each.
pub async fn compare(
    setup: &ReadSetup,
    (fleet_base, fleet_pid): (SocketAddr, u32),
    (bare_base, bare_pid): (SocketAddr, u32),
) -> Result<(Vec<ReadRun>, Vec<ReadRun>), String> {
    let fleet = Arc::new(Target {
        side: Side::Fleet {
            access: setup.access.clone(),
        },
        addrs: addresses(fleet_base, setup.meters),
        server_pid: fleet_pid,
    });
    let bare = bare_target(setup, bare_base, bare_pid);
    for target in [&bare, &fleet] {
        let run = load(target, setup).await;
        if run.ok == 0 {
            return Err(format!(
                "warm-up failed: {}",
                run.first_error.unwrap_or_default()
            ));
        }
    }
    let (mut fleet_runs, mut bare_runs) = (Vec::new(), Vec::new());
    for _ in 0..setup.rounds {
        bare_runs.push(load(&bare, setup).await);
        fleet_runs.push(load(&fleet, setup).await);
    }
    Ok((fleet_runs, bare_runs))
}

/// The bare exchange against the baseline's meters from `base`, served by process `pid`.
fn bare_target(setup: &ReadSetup, base: SocketAddr, pid: u32) -> Arc<Target> {
    let requests = setup
        .exchange
        .steps
        .iter()
        .map(|s| {
            let request = frame(PUBLIC_CLIENT, SERVER_SAP, s.request as u16);
            (request, s.response + crate::dlms::wrapper::HEADER_LEN)
        })
        .collect();
    Arc::new(Target {
        side: Side::Bare { requests },
        addrs: addresses(base, setup.meters),
        server_pid: pid,
    })
}

/// One round of the bare baseline alone: `setup.reads` transactions against `base`.
pub async fn bare_round(setup: &ReadSetup, (base, pid): (SocketAddr, u32)) -> ReadRun {
    load(&bare_target(setup, base, pid), setup).await
}

fn addresses(base: SocketAddr, count: u32) -> Vec<SocketAddr> {
    let SocketAddr::V4(v4) = base else {
        return vec![base];
    };
    (0..count)
        .map(|i| SocketAddr::from((Ipv4Addr::from(u32::from(*v4.ip()) + i), v4.port())))
        .collect()
}

/// Runs `setup.reads` transactions (or fewer, at the time limit) with `setup.concurrency` in flight.
async fn load(target: &Arc<Target>, setup: &ReadSetup) -> ReadRun {
    let reads = setup.reads;
    let cpu = || {
        (
            cpu_time_of_tree(target.server_pid),
            cpu_time(std::process::id()).unwrap_or_default(),
        )
    };
    let (server_before, client_before) = cpu();
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let limit = setup.limit;
    let tasks: Vec<_> = (0..setup.concurrency)
        .map(|_| {
            let (target, issued) = (target.clone(), issued.clone());
            tokio::spawn(async move {
                let mut run = ReadRun::default();
                loop {
                    let n = issued.fetch_add(1, Ordering::Relaxed);
                    if n >= reads || start.elapsed() >= limit {
                        return run;
                    }
                    let addr = target.addrs[(n % target.addrs.len() as u64) as usize];
                    let began = Instant::now();
                    let outcome = tokio::time::timeout(TRANSACTION_TIMEOUT, target.side.once(addr))
                        .await
                        .unwrap_or_else(|_| Err("timed out".into()));
                    match outcome {
                        Ok(()) => {
                            run.ok += 1;
                            run.latencies_us.push(began.elapsed().as_micros() as u32);
                        }
                        Err(e) => {
                            run.errors += 1;
                            run.first_error.get_or_insert(format!("{addr}: {e}"));
                            // Out of ports or descriptors: back off instead of spinning.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut total = ReadRun::default();
    for task in tasks {
        let Ok(run) = task.await else { continue };
        total.ok += run.ok;
        total.errors += run.errors;
        if total.first_error.is_none() {
            total.first_error = run.first_error;
        }
        total.latencies_us.extend(run.latencies_us);
    }
    total.elapsed = start.elapsed();
    let (server_after, client_after) = cpu();
    total.server_cpu = server_after.saturating_sub(server_before);
    total.client_cpu = client_after.saturating_sub(client_before);
    total.latencies_us.sort_unstable();
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::profile::shipped;

    #[test]
    fn the_median_is_the_middle_value() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median(std::iter::empty()), 0.0);
    }

    fn one_entry(profile: &Profile) -> SelectiveAccess {
        let at = Data::OctetString(
            DateTime::from_unix(1_795_647_600, profile.utc_offset_minutes, profile.deviation)
                .to_bytes(),
        );
        SelectiveAccess::from(RangeDescriptor {
            restricting_object: CaptureObject::new(8, Obis::CLOCK, 2),
            from: at.clone(),
            to: at,
            selected_values: vec![],
        })
    }

    #[test]
    fn measures_the_three_round_trips_of_a_read() {
        let profile = shipped("basic").unwrap();
        let exchange = Exchange::measure(&profile, 1, &one_entry(&profile)).unwrap();
        let sizes: Vec<(usize, usize)> = exchange
            .steps
            .iter()
            .map(|s| (s.request, s.response))
            .collect();
        // RLRQ and RLRE are `62 03 80 01 00` and `63 03 80 01 00` (REFERENCE.md section 1).
        assert_eq!(sizes[2], (5, 5));
        assert_eq!(sizes.len(), 3);
        assert!(sizes[0].0 > 20 && sizes[0].1 > 20, "{sizes:?}");
        // One row: clock (12 bytes), status, A+ and A- inside an array of one structure.
        assert!(sizes[1].1 > 30, "{sizes:?}");
    }

    #[test]
    fn frames_carry_the_wrapper_header_and_the_apdu_length() {
        assert_eq!(frame(16, 1, 3), [0, 1, 0, 16, 0, 1, 0, 3, 0, 0, 0].to_vec());
    }

    #[test]
    fn the_median_of_the_rounds_ratios_counts() {
        let run = |ok| ReadRun {
            ok,
            elapsed: Duration::from_secs(1),
            ..ReadRun::default()
        };
        let fleet = [run(80), run(10), run(90)];
        let bare = [run(100), run(100), run(100)];
        assert!((median_ratio(&fleet, &bare) - 0.8).abs() < 1e-9);
        assert_eq!(median_ratio(&[], &[]), 0.0);
    }

    #[test]
    fn percentiles_come_from_the_sorted_latencies() {
        let run = ReadRun {
            latencies_us: (1..=100).map(|ms| ms * 1000).collect(),
            ..ReadRun::default()
        };
        assert_eq!(run.percentile_ms(0.5), 51.0);
        assert_eq!(run.percentile_ms(0.99), 100.0);
        assert_eq!(ReadRun::default().percentile_ms(0.5), 0.0);
    }
}
