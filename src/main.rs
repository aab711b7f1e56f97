//! The `turnstile` binary: parses the command line and runs one command.

use clap::Parser;

fn main() -> std::process::ExitCode {
    turnstile::cli::run(turnstile::cli::Cli::parse())
}
