//! The `turnstile` binary: parses the command line and runs one command.

use clap::Parser;

/// mimalloc instead of the system allocator: decisions allocate many small,
/// short-lived values on several threads, where glibc's malloc spent a third
/// of the server's time (measured under `bench/http.sh`) and fragmented its
/// arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    turnstile::cli::run(turnstile::cli::Cli::parse())
}
