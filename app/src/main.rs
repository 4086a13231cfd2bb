//! The `consentry` binary: parses the command line and runs the command. The commands live in `cli`, the demo's
//! story in `demo`; both stay out of the library a host embeds.

mod cli;
mod demo;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The binary's allocator. The engine allocates many small, short-lived strings (every event read from the log
/// is a handful of them): with glibc's allocator a rebuild's client spent about a fifth of its time in malloc
/// and free. (mimalloc's version 2 keeps the least memory between batches.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    cli::Cli::parse().run().await
}
