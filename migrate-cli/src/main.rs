//! The `migrate` binary: parse, run, report.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    migrate_cli::report(migrate_cli::Cli::parse().run())
}
