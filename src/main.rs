use clap::{Parser, Subcommand};

use reanimator::app;

/// DLMS/COSEM head-end, meter-fleet simulator and wake-up orchestrator.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a fleet of simulated meters on loopback.
    Meters(app::meters::MetersArgs),
    /// Read one meter over the TCP wrapper.
    Read(app::read::ReadArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Meters(args) => app::meters::run(args),
        Command::Read(args) => app::read::run(args),
    };
    std::process::exit(code);
}
