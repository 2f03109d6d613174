//! The `cosell` binary: parses the command line and hands over to the library.
use clap::Parser;

/// mimalloc instead of the C library's allocator: a page of opportunities allocates
/// thousands of small strings and values, and glibc's malloc spent a fifth of the
/// server's CPU on them (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cosell::config::Cli::parse();
    cosell::cli::main(cli)
}
