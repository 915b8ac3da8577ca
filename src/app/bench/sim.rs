//! `reanimator bench sim`: how fast the simulation runs a day of 10,000 meters and a week of
//! 1,000 (target: each under 60 s), in events per second and wall time; beside it, the bare
//! protocol work measured in the same run: in-memory reads (wrapper frames, association, a
//! one-row load-profile GET, release) between a client session and a meter, with no network,
//! head-end or event queue around them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::cosem::readings::INTERVAL_SECS;
use crate::dlms::codec::Codec;
use crate::dlms::wrapper::WrapperFrame;
use crate::dlms::xdlms::GetDataResult;
use crate::headend::profile_read;
use crate::meter::device::{meter_settings, MeterDevice, MANAGEMENT_CLIENT};
use crate::meter::identity::MeterIdentity;
use crate::meter::profile::{self, Management};
use crate::scenario::{self, Scenario};
use crate::session::{Authentication, ClientConfig, ClientEvent, ClientSession, Response};
use crate::sim::report::thousands;
use crate::time::Timestamp;

/// The target wall time per run.
const TARGET: Duration = Duration::from_secs(60);

/// `reanimator bench sim`.
#[derive(Debug, Clone, Args)]
pub struct SimBenchArgs {
    /// Meters in the one-day run.
    #[arg(long, default_value_t = 10_000)]
    pub day_meters: u32,
    /// Meters in the seven-day run.
    #[arg(long, default_value_t = 1_000)]
    pub week_meters: u32,
    /// Run only `day` or `week`.
    #[arg(long)]
    pub only: Option<String>,
    /// Bare reads for the baseline.
    #[arg(long, default_value_t = 50_000)]
    pub bare_reads: u32,
}

/// The benchmark scenarios, embedded.
const DAY: (&str, &str) = (
    "scenarios/bench/day.toml",
    include_str!("../../../scenarios/bench/day.toml"),
);
const WEEK: (&str, &str) = (
    "scenarios/bench/week.toml",
    include_str!("../../../scenarios/bench/week.toml"),
);

pub fn run(args: &SimBenchArgs) -> Result<(), String> {
    if args.day_meters == 0 || args.week_meters == 0 || args.day_meters > 200_000 {
        return Err("--day-meters must be from 1 to 200000 and --week-meters at least 1".into());
    }
    let runs: Vec<(&str, u32)> = match args.only.as_deref() {
        None => vec![(DAY.0, args.day_meters), (WEEK.0, args.week_meters)],
        Some("day") => vec![(DAY.0, args.day_meters)],
        Some("week") => vec![(WEEK.0, args.week_meters)],
        Some(other) => return Err(format!("--only {other}: use day or week")),
    };
    println!(
        "reanimator bench sim: {} CPUs; target: each run under {} s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        TARGET.as_secs()
    );
    let (bare_n, bare_took) = bare_reads(args.bare_reads.max(1));
    let bare_rate = bare_n as f64 / bare_took.as_secs_f64();
    println!(
        "baseline: {} bare in-memory reads (frames, association, one-row GET, release) in {:.2} s: {:.0} reads/s",
        thousands(bare_n),
        bare_took.as_secs_f64(),
        bare_rate
    );
    let mut over = Vec::new();
    for (file, meters) in runs {
        let text = if file == DAY.0 { DAY.1 } else { WEEK.1 };
        let mut s = Scenario::parse(file, text).map_err(|e| e.to_string())?;
        resize(&mut s, meters);
        let started = Instant::now();
        let sim = crate::sim::in_process(&s, s.seed).map_err(|e| e.to_string())?;
        let built = started.elapsed();
        let out = sim.run(&mut |_| {});
        let took = started.elapsed();
        let reads_rate = out.stats.reads as f64 / took.as_secs_f64();
        println!(
            "{}: {} meters x {}: {:.1} s wall ({:.1} s building the world), {} events ({:.0} events/s), {} reads ({:.0} reads/s, {:.2} of the bare rate), {} outages; {}",
            s.name,
            thousands(meters as u64),
            scenario::clock::format_duration(s.span),
            took.as_secs_f64(),
            built.as_secs_f64(),
            thousands(out.stats.events),
            out.stats.events as f64 / took.as_secs_f64(),
            thousands(out.stats.reads),
            reads_rate,
            reads_rate / bare_rate,
            out.outages.len(),
            if took <= TARGET { "within the target" } else { "OVER the target" }
        );
        if took > TARGET {
            over.push(s.name.clone());
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!("over {} s: {}", TARGET.as_secs(), over.join(", ")))
    }
}

/// Scales the fleet to `meters`, one cell per 50 meters (at least the cells its faults name).
fn resize(s: &mut Scenario, meters: u32) {
    s.fleet.meters = meters;
    s.fleet.cells = s.fleet.cells.min(meters).max((meters / 50).clamp(1, 9_999));
}

/// Reads through the client and server sessions and the meter's application only.
fn bare_reads(n: u32) -> (u64, Duration) {
    let profile = profile::shipped("basic").expect("shipped");
    let settings = Arc::new(meter_settings(&profile, 1));
    let password = match &profile.security.management {
        Management::Lls { password } => password.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    let base = Instant::now();
    let t0 = 1_795_651_200i64;
    let started = Instant::now();
    let mut done = 0u64;
    for i in 0..n {
        let mut device = MeterDevice::new(i % 1000, u64::from(i % 1000) + 1, settings.clone());
        let identity = MeterIdentity::derive(
            1,
            i % 1000,
            profile.manufacturer,
            &profile.security.fleet_secret,
            10,
        );
        let now = base;
        let mut server =
            device.open_session(&profile, &identity, MANAGEMENT_CLIENT, vec![7; 16], now);
        device.app.set_now(t0 + i64::from(i) * 7);
        let config = ClientConfig {
            authentication: Authentication::Low {
                password: password.clone(),
            },
            ..ClientConfig::default()
        };
        let mut client = ClientSession::new(config).expect("valid");
        let _ = client.associate(now);
        let at = Timestamp::from_secs(
            (device.app.model().entry_at_or_before(t0) - INTERVAL_SECS) as u64,
        );
        'exchange: for _ in 0..16 {
            while let Some(apdu) = client.poll_transmit() {
                let bytes = WrapperFrame::new(1, 1, apdu).to_bytes();
                let frame = WrapperFrame::from_bytes(&bytes).expect("valid");
                server.handle_apdu(now, &frame.apdu, &mut device.app);
                while let Some(answer) = server.poll_transmit() {
                    let bytes = frame.reply(answer).to_bytes();
                    let back = WrapperFrame::from_bytes(&bytes).expect("valid");
                    client.handle_apdu(now, &back.apdu);
                }
            }
            while let Some(event) = client.poll_event() {
                match event {
                    ClientEvent::Associated(_) => {
                        let access = profile_read::range(
                            at,
                            at,
                            profile.utc_offset_minutes,
                            profile.deviation,
                        );
                        let _ = client.get(now, profile_read::buffer(), Some(access));
                    }
                    ClientEvent::Response {
                        response: Response::Get(GetDataResult::Data(_)),
                        ..
                    } => {
                        let _ = client.release(now);
                    }
                    ClientEvent::Released => {
                        done += 1;
                        break 'exchange;
                    }
                    _ => {}
                }
            }
        }
    }
    (done, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_scenarios_parse_and_scale() {
        for (file, text) in [DAY, WEEK] {
            let mut s = Scenario::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
            resize(&mut s, 500);
            assert_eq!(s.fleet.meters, 500);
            s.plan(s.seed).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn bare_reads_complete() {
        assert_eq!(bare_reads(20).0, 20);
    }
}
