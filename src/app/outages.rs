//! `reanimator outages`: the outage log from the store, in plain language or JSON.

use std::path::PathBuf;

use clap::Args;

use super::{exit, Failure};
use crate::headend::outage::Outage;
use crate::headend::outage_log;
use crate::headend::policy::Policy;
use crate::store::{OutageFilter, Store};
use crate::time::Timestamp;

/// Prints the outage log.
#[derive(Debug, Args)]
pub struct OutagesArgs {
    /// The head-end's configuration: its store, clock and SLA classes.
    #[arg(long, conflicts_with = "store")]
    pub config: Option<PathBuf>,
    /// The store, if not through `--config`: a SQLite file or a postgres:// URL.
    #[arg(long)]
    pub store: Option<String>,
    /// Only outages still open.
    #[arg(long)]
    pub open: bool,
    /// Only outages that started at or after this time (RFC 3339, e.g. 2026-11-26T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// Only this meter's.
    #[arg(long)]
    pub meter: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &OutagesArgs, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let (location, policy) = match (&args.config, &args.store) {
        (Some(path), _) => {
            let loaded = super::headend::load(path).map_err(Failure::invalid_input)?;
            (loaded.config.store.location, loaded.config.policy)
        }
        (None, Some(store)) => (store.clone(), Policy::default()),
        (None, None) => ("reanimator.db".to_string(), Policy::default()),
    };
    let since = match &args.since {
        Some(t) => Some(Timestamp::parse_rfc3339(t).ok_or_else(|| {
            Failure::invalid_input(format!(
                "--since {t}: not an RFC 3339 time (2026-11-26T00:00:00Z)"
            ))
        })?),
        None => None,
    };
    let filter = OutageFilter {
        open_only: args.open,
        since,
        meter: args.meter.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outages = runtime
        .block_on(async {
            let store = Store::open(&location).await?;
            store.outages(&filter).await
        })
        .map_err(|e| Failure::new(exit::FAILURE, e.to_string()))?;
    let now = crate::net::headend::now();
    let text = if args.json {
        let rows: Vec<_> = outages
            .iter()
            .map(|o| {
                let mut v = serde_json::to_value(o).unwrap_or_default();
                v["sla"] = serde_json::to_value(outage_log::sla_verdict(o, &policy.sla, now))
                    .unwrap_or_default();
                v
            })
            .collect();
        serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
    } else {
        let from = since.unwrap_or(now - std::time::Duration::from_secs(30 * 86_400));
        let mut text = outage_log::render(&outages, &policy.sla, policy.utc_offset_minutes, now);
        text.push_str(&availability(&outages, from, now, &policy));
        text
    };
    super::write_out(out, text.as_bytes())
}

/// Per meter with outages the operator caused: its availability since `from` against the contract.
fn availability(outages: &[Outage], from: Timestamp, now: Timestamp, policy: &Policy) -> String {
    let mut meters: Vec<&str> = outages.iter().map(|o| o.meter.as_str()).collect();
    meters.sort_unstable();
    meters.dedup();
    let target = policy.sla.availability_percent;
    let mut out = String::new();
    for meter in meters {
        let own: Vec<&Outage> = outages.iter().filter(|o| o.meter == meter).collect();
        let a = outage_log::operator_availability(&own, from, now);
        if a < 100.0 {
            let verdict = if a >= target { "met" } else { "MISSED" };
            out.push_str(&format!(
                "{meter}: the operator's availability since {} is {a:.3}% (contract {target}%: {verdict})\n",
                from.local_minute(policy.utc_offset_minutes)
            ));
        }
    }
    out
}
