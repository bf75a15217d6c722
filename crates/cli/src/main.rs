//! `ledgerops`: the command line CI pipelines and operators call (docs/cli.md).

mod args;
mod commands;
mod config;
mod exit;
mod ledger;
mod output;
mod spec_args;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = cli.json;
    match commands::run(cli).await {
        Ok(commands::Outcome::Done) => ExitCode::SUCCESS,
        Ok(commands::Outcome::Changes) => ExitCode::from(exit::CHANGES),
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({ "error": e.to_string(), "exit_code": e.exit_code() }));
            }
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
