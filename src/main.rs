//! The `cosell` binary: parses the command line and hands over to the library.
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cosell::config::Cli::parse();
    cosell::cli::main(cli)
}
