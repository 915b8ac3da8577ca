//! `reanimator operator`: the simulated mobile operator over HTTP for a fleet of meters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::exit;
use crate::net::operator_aaa::{AaaBackend, InProcessBackend, RadiusBackend};
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
    /// The utility's RADIUS server (e.g. `reanimator radius serve` or FreeRADIUS), loopback;
    /// without it, an embedded in-process check of the manifest's credentials answers.
    #[arg(long, value_name = "ADDR", requires = "secret")]
    pub radius: Option<SocketAddr>,
    /// Where Accounting-Requests go, if not to `--radius`.
    #[arg(long, value_name = "ADDR", requires = "radius")]
    pub radius_acct: Option<SocketAddr>,
    /// The RADIUS shared secret.
    #[arg(long, requires = "radius")]
    pub secret: Option<String>,
}

/// Runs the command until interrupted; returns the exit status.
pub fn run(args: OperatorArgs) -> i32 {
    match prepare(&args) {
        Ok(prepared) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(serve(&args, prepared))
        }
        Err(message) => {
            eprintln!("reanimator operator: {message}");
            exit::INVALID_INPUT
        }
    }
}

/// What the arguments and the manifest give, before anything is bound.
struct Prepared {
    fleet: FleetManifest,
    config: OperatorConfig,
    tenancy: Tenancy,
    tokens: Vec<(String, Actor)>,
}

fn prepare(args: &OperatorArgs) -> Result<Prepared, String> {
    for (flag, addr) in [
        ("--listen", Some(args.listen)),
        ("--radius", args.radius),
        ("--radius-acct", args.radius_acct),
    ] {
        if let Some(addr) = addr.filter(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "{flag} {addr}: only loopback addresses (127.0.0.0/8, ::1) are allowed"
            ));
        }
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
    if args.secret.as_deref() == Some("") {
        return Err("--secret: the RADIUS shared secret must not be empty".into());
    }
    let tokens = tokens(args, &fleet)?;
    Ok(Prepared {
        config: OperatorConfig::default().time_scaled(args.time_scale),
        tenancy: Tenancy::new(tokens.clone(), args.scenario_token.clone()),
        tokens,
        fleet,
    })
}

async fn backend(
    args: &OperatorArgs,
    fleet: &FleetManifest,
) -> Result<Arc<dyn AaaBackend>, String> {
    match (args.radius, &args.secret) {
        (Some(addr), Some(secret)) => RadiusBackend::start(
            addr,
            args.radius_acct,
            crate::radius::ClientConfig::new(secret.as_bytes()),
            args.seed,
        )
        .await
        .map(|b| Arc::new(b) as Arc<dyn AaaBackend>)
        .map_err(|e| format!("--radius {addr}: {e}")),
        _ => {
            let aaa = InProcessAaa::new(
                fleet
                    .meters
                    .iter()
                    .map(|m| (m.radius_user(), m.radius_password())),
            );
            Ok(Arc::new(InProcessBackend::new(aaa)))
        }
    }
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

async fn serve(args: &OperatorArgs, p: Prepared) -> i32 {
    let aaa = match backend(args, &p.fleet).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("reanimator operator: {e}");
            return exit::CANNOT_CONNECT;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("reanimator operator: cannot listen on {}: {e}", args.listen);
            return exit::CANNOT_CONNECT;
        }
    };
    println!(
        "reanimator operator: {} meters in {} cells",
        p.fleet.meters.len(),
        p.fleet.all_cells().len()
    );
    println!("  RADIUS: {}", aaa.describe());
    println!("  scenario token: {}", args.scenario_token);
    for (token, actor) in &p.tokens {
        println!(
            "  tenant {} ({}): token {token}",
            actor.tenant, actor.principal
        );
    }
    let options = ServerOptions {
        config: p.config,
        seed: args.seed,
        tenancy: p.tenancy,
        aaa,
    };
    let running = match operator_http::start(listener, &p.fleet, options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reanimator operator: {e}");
            return exit::FAILURE;
        }
    };
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
