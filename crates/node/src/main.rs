//! `ledgerops-node`: parse and check the configuration, start logging, run until told to stop.
//! Exit codes: 0 stopped on a signal, 1 a fatal runtime error, 2 a configuration error.

use std::process::ExitCode;

use clap::Parser;
use ledgerops_node::config::{Cli, Command, Config};
use ledgerops_node::{adopt, journal, run, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Journal(args)) = &cli.command {
        return match journal::print(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(1, &e),
        };
    }
    if let Some(Command::Adopt(args)) = &cli.command {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return fail(1, &e),
        };
        return match runtime.block_on(adopt::run(args)) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => fail(1, &e),
        };
    }
    let config = match Config::resolve(&cli.run) {
        Ok(config) => config,
        Err(e) => return fail(2, &e),
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(1, &e),
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            fail(1, &e)
        }
    }
}

fn fail(code: u8, error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(code)
}
