//! `ledgerops`: the command line CI pipelines and operators call (docs/cli.md).

mod args;
mod commands;
mod config;
mod exit;
mod images;
mod ledger;
mod output;
mod plan;
mod spec_args;
mod stack;
mod withheld;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = cli.json;
    match commands::run(cli).await {
        Ok(commands::Outcome::Done) => ExitCode::SUCCESS,
        Ok(commands::Outcome::Changes) => ExitCode::from(exit::CHANGES),
        Ok(commands::Outcome::WouldRevert) => ExitCode::from(exit::USAGE),
        Err(e) => {
            if json {
                println!("{}", e.to_json());
            }
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
