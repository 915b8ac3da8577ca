//! `reanimator operator`: the simulated mobile operator over HTTP for a fleet of meters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::exit;
use crate::net::operator_aaa::InProcessBackend;
use crate::net::operator_http::{self, ServerOptions, Tenancy};
use crate::operator::actions::Actor;
use crate::operator::ids::TenantId;
use crate::operator::{FleetManifest, InProcessAaa, OperatorConfig};

/// Serves the operator's exposure API, SIM API and scenario control for a fleet.
#[derive(Debug, Args)]
pub struct OperatorArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// The fleet manifest (JSON; see `src/operator/manifest.rs` or docs/operator.md).
    #[arg(long, conflicts_with = "cells")]
    pub fleet: Option<PathBuf>,
    /// Without a manifest: generate this many cells ...
    #[arg(long)]
    pub cells: Option<usize>,
    /// ... with this many meters each (tenant `utility`).
    #[arg(long, default_value_t = 10)]
    pub meters_per_cell: usize,
    /// A tenant's bearer token, `TENANT[:PRINCIPAL]=SECRET`; repeat for more. Without any, each
    /// tenant of the fleet gets `token-TENANT`.
    #[arg(long = "token", value_name = "TENANT[:PRINCIPAL]=SECRET")]
    pub tokens: Vec<String>,
    /// The bearer token for scenario control (fault injection).
    #[arg(long, default_value = "scenario-token")]
    pub scenario_token: String,
    /// Seed of the network's randomness (same seed, same behaviour).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Multiply every modem and network delay by this (e.g. 0.01 for fast tests); maintenance
    /// windows and rate limits keep real time.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

/// Runs the command until interrupted; returns the exit status.
pub fn run(args: OperatorArgs) -> i32 {
    match prepare(&args) {
        Ok((fleet, options, banner)) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(serve(args.listen, fleet, options, banner))
        }
        Err(message) => {
            eprintln!("reanimator operator: {message}");
            exit::INVALID_INPUT
        }
    }
}

fn prepare(args: &OperatorArgs) -> Result<(FleetManifest, ServerOptions, String), String> {
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "--listen {}: only loopback addresses (127.0.0.0/8, ::1) are allowed",
            args.listen
        ));
    }
    let fleet = match (&args.fleet, args.cells) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--fleet {}: cannot read it: {e}", path.display()))?;
            FleetManifest::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        (None, Some(cells)) => FleetManifest::generate(cells, args.meters_per_cell),
        (None, None) => {
            return Err("give --fleet MANIFEST, or --cells N to generate a fleet".into())
        }
    };
    if !(args.time_scale.is_finite() && args.time_scale >= 0.0) {
        return Err(format!(
            "--time-scale {}: must be a number of 0 or more",
            args.time_scale
        ));
    }
    let tokens = tokens(args, &fleet)?;
    let aaa = InProcessAaa::new(
        fleet
            .meters
            .iter()
            .map(|m| (m.radius_user(), m.radius_password())),
    );
    let backend = Arc::new(InProcessBackend::new(aaa));
    let mut banner = format!(
        "reanimator operator: {} meters in {} cells\n  RADIUS: {}\n  scenario token: {}\n",
        fleet.meters.len(),
        fleet.all_cells().len(),
        crate::net::operator_aaa::AaaBackend::describe(backend.as_ref()),
        args.scenario_token
    );
    for (token, actor) in &tokens {
        banner.push_str(&format!(
            "  tenant {} ({}): token {token}\n",
            actor.tenant, actor.principal
        ));
    }
    let options = ServerOptions {
        config: OperatorConfig::default().time_scaled(args.time_scale),
        seed: args.seed,
        tenancy: Tenancy::new(tokens, args.scenario_token.clone()),
        aaa: backend,
    };
    Ok((fleet, options, banner))
}

/// Parses `--token` values, or makes `token-TENANT` for each tenant of the fleet.
fn tokens(args: &OperatorArgs, fleet: &FleetManifest) -> Result<Vec<(String, Actor)>, String> {
    if args.tokens.is_empty() {
        let mut tenants: Vec<&TenantId> = fleet.meters.iter().map(|m| &m.tenant).collect();
        tenants.sort();
        tenants.dedup();
        return Ok(tenants
            .into_iter()
            .map(|t| {
                (
                    format!("token-{t}"),
                    Actor {
                        tenant: t.clone(),
                        principal: t.to_string(),
                    },
                )
            })
            .collect());
    }
    args.tokens
        .iter()
        .map(|spec| {
            let (who, secret) = spec
                .split_once('=')
                .ok_or_else(|| format!("--token {spec}: expected TENANT[:PRINCIPAL]=SECRET"))?;
            let (tenant, principal) = who.split_once(':').unwrap_or((who, who));
            let tenant = TenantId::new(tenant).map_err(|e| format!("--token {spec}: {e}"))?;
            if secret.is_empty() || principal.is_empty() {
                return Err(format!(
                    "--token {spec}: the principal and the secret must not be empty"
                ));
            }
            Ok((
                secret.to_string(),
                Actor {
                    tenant,
                    principal: principal.to_string(),
                },
            ))
        })
        .collect()
}

async fn serve(
    listen: SocketAddr,
    fleet: FleetManifest,
    options: ServerOptions,
    banner: String,
) -> i32 {
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("reanimator operator: cannot listen on {listen}: {e}");
            return exit::CANNOT_CONNECT;
        }
    };
    let running = match operator_http::start(listener, &fleet, options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reanimator operator: {e}");
            return exit::FAILURE;
        }
    };
    print!("{banner}");
    println!(
        "  listening on http://{} (OpenAPI at /openapi.json)",
        running.addr
    );
    tokio::select! {
        result = running.wait() => match result {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("reanimator operator: {e}");
                exit::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => exit::OK,
    }
}
