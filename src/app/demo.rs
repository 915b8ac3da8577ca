//! `reanimator demo`: the main job on embedded defaults. Until the head-end and the simulated
//! day exist, it runs the parts that do: a fleet of simulated meters on loopback, read by the
//! DLMS client over real sockets, every reading checked against the deterministic load model.

use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{write_out, Failure};
use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::datetime::DateTime;
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{AttributeDescriptor, CaptureObject, GetDataResult, RangeDescriptor};
use crate::meter::manifest::Addressing;
use crate::meter::profile;
use crate::net::fleet::{bind_listeners, spawn_accept_loops, unix_now, Fleet};
use crate::net::DlmsClient;
use crate::session::{Authentication, ClientConfig, Response};

const METERS: u32 = 200;
const CONCURRENCY: usize = 32;

/// Runs the demo and prints what it found.
pub fn run(out: &mut dyn Write) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::other(e.to_string()))?;
    let report = runtime.block_on(demo())?;
    write_out(out, report.as_bytes())
}

/// One meter's reading of the last complete interval.
struct Reading {
    address: String,
    serial: u64,
    at: i64,
    import_wh: u64,
    expected_wh: u64,
}

async fn demo() -> Result<String, Failure> {
    let profile = profile::shipped("basic").expect("shipped");
    let (fleet, base) = start_fleet(profile)?;
    let started = Instant::now();
    let now = unix_now();
    let mut tasks = tokio::task::JoinSet::new();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    for index in 0..METERS {
        let (fleet, semaphore) = (fleet.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire().await;
            read_last_interval(&fleet, index, now).await
        });
    }
    let mut readings = Vec::new();
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(r) => readings.push(r),
            Err(e) => failures.push(e),
        }
    }
    readings.sort_by_key(|r| r.serial);
    Ok(report(base, &readings, &failures, started.elapsed()))
}

/// Binds the fleet on the first free loopback range of a few tried.
fn start_fleet(profile: profile::Profile) -> Result<(Arc<Fleet>, Ipv4Addr), Failure> {
    let mut last_error = String::new();
    for third in [77u8, 78, 79, 80] {
        let base = Ipv4Addr::new(127, 42, third, 1);
        let fleet = Fleet::new(
            profile.clone(),
            1,
            4,
            Addressing::Addresses { base, port: 4059 },
            0..METERS,
        );
        match bind_listeners(&fleet, |_| {}) {
            Ok(listeners) => {
                let fleet = Arc::new(fleet);
                spawn_accept_loops(&fleet, listeners);
                return Ok((fleet, base));
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(Failure::other(format!(
        "cannot bind the demo fleet on loopback: {last_error}"
    )))
}

/// Associates as the public client and reads the newest profile row by range.
async fn read_last_interval(fleet: &Fleet, index: u32, now: i64) -> Result<Reading, String> {
    let address = fleet
        .addressing
        .address(index)
        .ok_or("no address")?
        .to_string();
    let config = ClientConfig {
        authentication: Authentication::None,
        response_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    };
    let mut client = DlmsClient::connect(&address, 16, 1, config, Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    client.associate().await.map_err(|e| e.to_string())?;
    let device = fleet.device(index).ok_or("no such meter")?;
    let (model, offset) = {
        let d = device.lock().expect("meter lock");
        (d.app.model().clone(), fleet.settings().utc_offset_minutes)
    };
    let at = model.entry_at_or_before(now);
    let stamp = |t| {
        Data::OctetString(DateTime::from_unix(t, offset, fleet.settings().convention).to_bytes())
    };
    let range = RangeDescriptor {
        restricting_object: CaptureObject::new(8, Obis::CLOCK, 2),
        from: stamp(at),
        to: stamp(at),
        selected_values: vec![],
    };
    let response = client
        .get(
            AttributeDescriptor::new(7, Obis::LOAD_PROFILE_1, 2),
            Some(range.into()),
        )
        .await
        .map_err(|e| e.to_string())?;
    client.release().await.ok();
    let import_wh = match response {
        Response::Get(GetDataResult::Data(rows)) => {
            rows.as_elements()
                .and_then(|r| r.first())
                .and_then(|row| row.as_elements()?.get(2)?.as_i128())
                .ok_or("the meter returned no row for the interval")? as u64
        }
        other => return Err(format!("unexpected answer {other:?}")),
    };
    Ok(Reading {
        address,
        serial: model.serial(),
        at,
        import_wh,
        expected_wh: model.energy_at(at).import_wh,
    })
}

fn report(base: Ipv4Addr, readings: &[Reading], failures: &[String], took: Duration) -> String {
    let matching = readings
        .iter()
        .filter(|r| r.import_wh == r.expected_wh)
        .count();
    let mut s = format!(
        "reanimator {}: a fleet of {METERS} simulated meters (profile basic) on {base}.. port 4059,\n\
         each read over the DLMS/COSEM TCP wrapper: associate, GET the last 15-minute load-profile\n\
         row by range, release.\n\n",
        env!("CARGO_PKG_VERSION")
    );
    s.push_str("meter              serial      interval (UTC)        A+ read (Wh)  model (Wh)\n");
    for r in readings.iter().take(8) {
        let ok = if r.import_wh == r.expected_wh {
            "="
        } else {
            "!="
        };
        s.push_str(&format!(
            "{:<18} {:<11} {:<21} {:>12}  {ok} {}\n",
            r.address,
            r.serial,
            iso(r.at),
            r.import_wh,
            r.expected_wh
        ));
    }
    s.push_str(&format!(
        "... and {} more\n\n{} of {METERS} meters read in {:.2} s ({:.0} reads/s, {CONCURRENCY} at a time); {matching} readings equal the\ndeterministic load model; {} failures.\n",
        readings.len().saturating_sub(8),
        readings.len(),
        took.as_secs_f64(),
        readings.len() as f64 / took.as_secs_f64().max(1e-9),
        failures.len()
    ));
    for f in failures.iter().take(3) {
        s.push_str(&format!("  failure: {f}\n"));
    }
    s.push_str(
        "\nThe head-end's read cycles, the operator and the simulated day with its outage log come next\n\
         (issues 5 and 6). Other commands: reanimator meters | read | decode | radius; see README.md.\n",
    );
    s
}

fn iso(t: i64) -> String {
    DateTime::from_unix(t, 0, crate::dlms::datetime::DeviationConvention::LocalToUtc)
        .to_iso(crate::dlms::datetime::DeviationConvention::LocalToUtc)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_meter_is_read_and_matches_the_model() {
        let mut out = Vec::new();
        super::run(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("200 of 200 meters read"), "{text}");
        assert!(text.contains("200 readings equal"), "{text}");
        assert!(text.contains("0 failures"), "{text}");
    }
}
