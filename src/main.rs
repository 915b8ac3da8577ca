use clap::Parser;

fn main() -> std::process::ExitCode {
    reanimator::app::run(reanimator::app::Cli::parse())
}
