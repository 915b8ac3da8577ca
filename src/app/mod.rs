//! The command-line application: arguments, input and output, exit statuses.
//!
//! This is the only part of the crate that reads files, stdin or the environment; each command
//! lives in its own module and turns its arguments into output through the pure library.

pub mod decode;
pub mod demo;
pub mod names;
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
    /// Explain captured wrapper frames or APDUs given as hex, as text or JSON.
    Decode(decode::DecodeArgs),
    /// Show what this build can do and how to run its tests.
    Demo,
}

/// Exit statuses, the same for every command.
pub mod exit {
    /// The command did what was asked.
    pub const OK: u8 = 0;
    /// Anything not covered below (an I/O failure, a bug).
    pub const OTHER: u8 = 1;
    /// The input (arguments, hex, frame bytes) is invalid; also what clap uses for bad usage.
    pub const INVALID_INPUT: u8 = 2;
    /// No connection to the meter could be made.
    pub const CANNOT_CONNECT: u8 = 3;
    /// The meter refused the association (AARE rejected or authentication failed).
    pub const ASSOCIATION_REFUSED: u8 = 4;
    /// The association worked but the meter refused an access (data-access-result, exception).
    pub const ACCESS_ERROR: u8 = 5;
}

/// Why a command stopped: one line for stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: u8,
    pub message: String,
}

impl Failure {
    pub fn new(status: u8, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(exit::INVALID_INPUT, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(exit::OTHER, message)
    }
}

/// Runs the command line; prints a failure as one line on stderr.
pub fn run(cli: Cli) -> ExitCode {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match &cli.command {
        Command::Decode(args) => decode::run(args, &mut out),
        Command::Demo => demo::run(&mut out),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            eprintln!("reanimator: {}", one_line(&failure.message));
            ExitCode::from(failure.status)
        }
    }
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
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
