//! The command-line application: one module per command for argument parsing, wiring and exit
//! statuses. Only here are files, standard input and the environment read; the commands turn
//! their arguments into output through the pure library.

pub mod bench;
pub mod config;
pub mod decode;
pub mod demo;
pub mod headend;
pub mod meters;
pub mod names;
pub mod operator;
pub mod outages;
pub mod radius;
pub mod read;
pub mod sim;
mod text;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `reanimator`: a DLMS/COSEM head-end, meter fleet simulator and wake-up orchestrator.
#[derive(Debug, Parser)]
#[command(name = "reanimator", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, one module each under `src/app/`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a fleet of simulated meters on loopback, for head-ends and load tests.
    Meters(meters::MetersArgs),
    /// Read one meter over the TCP wrapper: a value, a profile or the object list.
    Read(read::ReadArgs),
    /// The utility's embedded RADIUS server and its credentials.
    Radius(radius::RadiusArgs),
    /// The simulated mobile operator: exposure API, SIM API and scenario control over HTTP.
    Operator(operator::OperatorArgs),
    /// The head-end: 15-minute read cycles, wake-ups, diagnosis, reanimation, the outage log.
    Headend(headend::HeadendArgs),
    /// The outage log in plain language (or JSON) from the head-end's store.
    Outages(outages::OutagesArgs),
    /// The orchestrator alone, beside another head-end: takes its missing-data signals over HTTP.
    Sidecar(headend::SidecarArgs),
    /// Explain captured wrapper frames or APDUs given as hex, as text or JSON.
    Decode(decode::DecodeArgs),
    /// The seed story: 1,000 simulated meters over a day with the use case's faults, in virtual
    /// time; prints the outage log and the scorecard.
    Demo(demo::DemoArgs),
    /// Run a scenario (scenarios/*.toml) in virtual time and score the head-end against it.
    Sim(sim::SimArgs),
    /// Benchmarks that print their figures next to a baseline measured in the same run.
    Bench(bench::BenchArgs),
}

/// Exit statuses shared by the commands.
pub mod exit {
    /// The command did what was asked.
    pub const OK: i32 = 0;
    /// Anything not covered below (an I/O failure, a bug).
    pub const FAILURE: i32 = 1;
    /// The input (arguments, hex, frame bytes) is invalid; also what clap uses for bad usage.
    pub const INVALID_INPUT: i32 = 2;
    /// No connection to the meter could be made.
    pub const CANNOT_CONNECT: i32 = 3;
    /// The meter refused the association (AARE rejected or authentication failed).
    pub const REFUSED: i32 = 4;
    /// The association worked but the meter refused an access (data-access-result, exception).
    pub const ACCESS_ERROR: i32 = 5;
}

/// Why a command stopped: one line for stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: i32,
    pub message: String,
}

impl Failure {
    pub fn new(status: i32, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(exit::INVALID_INPUT, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(exit::FAILURE, message)
    }
}

/// Runs the command line; a failure is printed as one line on stderr.
pub fn run(cli: Cli) -> ExitCode {
    let stdout = io::stdout();
    let result = match cli.command {
        Command::Meters(args) => return exit_code(meters::run(args)),
        Command::Read(args) => return exit_code(read::run(args)),
        Command::Radius(args) => return exit_code(radius::run(args)),
        Command::Operator(args) => return exit_code(operator::run(args)),
        Command::Bench(args) => return exit_code(bench::run(args)),
        Command::Headend(args) => return exit_code(headend::run(args)),
        Command::Sidecar(args) => return exit_code(headend::run_sidecar(args)),
        Command::Outages(args) => {
            outages::run(&args, &mut stdout.lock()).map_err(|f| ("outages", f))
        }
        Command::Decode(args) => decode::run(&args, &mut stdout.lock()).map_err(|f| ("decode", f)),
        Command::Demo(args) => demo::run(&args, &mut stdout.lock()).map_err(|f| ("demo", f)),
        Command::Sim(args) => sim::run(&args, &mut stdout.lock()).map_err(|f| ("sim", f)),
    };
    match result {
        Ok(()) => exit_code(exit::OK),
        Err((command, failure)) => {
            eprintln!("reanimator {command}: {}", one_line(&failure.message));
            exit_code(failure.status)
        }
    }
}

fn exit_code(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

/// Writes command output; a closed pipe (`| head`) is not an error.
pub(crate) fn write_out(out: &mut dyn Write, bytes: &[u8]) -> Result<(), Failure> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::other(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// The promise to scripts: a failure is exactly one line.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
