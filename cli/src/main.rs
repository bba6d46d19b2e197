//! `tasktracker`: the official command-line client.
//!
//! `args` declares the command line, `commands/` runs each command, `api`
//! holds the connection and the credentials, `output` prints every result
//! (table or JSON) and `error` turns failures into messages and exit codes.

mod api;
mod args;
mod commands;
mod config;
mod error;
mod names;
mod output;
mod workflow;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return error::report(&error.into()),
    };
    match runtime.block_on(commands::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error::report(&error),
    }
}
