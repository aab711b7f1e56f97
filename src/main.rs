//! The `turnstile` binary: parses the command line and runs one command.

use clap::Parser;

/// mimalloc instead of the system allocator: decisions allocate many small,
/// short-lived values on several threads, where glibc's malloc spent a third
/// of the server's time. Measured with `bench/http.sh`: 30-40 % more
/// decisions a second, for about 60 MB more resident memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    turnstile::cli::run(turnstile::cli::Cli::parse())
}
