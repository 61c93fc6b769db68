//! The `amsync` binary: parses the command line, installs the TLS crypto
//! provider, runs the command through the library ([`amsync::run`]; each
//! command starts logging as its configuration says) and turns its error
//! into an exit code: 0 ok, 1 failure, 2 usage or configuration error.

use clap::Parser;

// mimalloc: a refresh allocates many small short-lived buffers (HTTP
// bodies, parsed records, SQL parameters); the system allocator spent about
// a tenth of the CPU of a load in malloc and free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = amsync::args::Cli::parse();
    // One TLS crypto provider (ring), installed before anything builds a client.
    amsync_ams::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(amsync::run(cli.command, cli.verbose)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(e.code)
        }
    }
}
