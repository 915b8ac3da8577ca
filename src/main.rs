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
    Read(app::read::ReadArgs),
    Operator(app::operator::OperatorArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Read(args) => app::read::run(args),
        Command::Operator(args) => app::operator::run(args),
    };
    std::process::exit(code);
}
