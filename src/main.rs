//! The `turnstile` binary: parses the command line and runs one command.

use clap::Parser;

/// mimalloc instead of the system allocator: decisions allocate many small,
/// short-lived values on several threads, where glibc's malloc spent a third
/// of the server's time. Measured with `bench/http.sh`: 30-40 % more
/// decisions a second, for about 60 MB more resident memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = turnstile::cli::Cli::parse();
    if !matches!(cli.command, turnstile::cli::Command::Serve { .. }) {
        // A command piped into `head` stops quietly when the pipe closes, as
        // Unix tools do, instead of panicking on the failed write. (The
        // server keeps Rust's default: a closed socket is an error to handle.)
        // SAFETY: restoring the default disposition of one signal, before any
        // thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    turnstile::cli::run(cli)
}
