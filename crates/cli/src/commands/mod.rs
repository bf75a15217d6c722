//! One module per group of commands; [`run`] dispatches.

mod admin;
mod apply;
mod audit;
mod deploy;
mod diff;
mod show;
mod simulate;
mod wait;

use alloy::primitives::Address;
use ledgerops_chain::{Client, Connection, Sent};
use serde_json::json;

use crate::args::{Cli, Command};
use crate::exit::CliError;
use crate::images::Resolver;
use crate::output::Output;

/// How a command that did not fail ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Success (exit 0).
    Done,
    /// `diff` or `plan` found changes (exit 1).
    Changes,
    /// `plan`: a simulated transaction would revert (exit 2, with the plan printed).
    WouldRevert,
}

/// What every command gets: merged settings and where to print.
pub(crate) struct Ctx {
    pub(crate) conn: Connection,
    pub(crate) out: Output,
    /// Pins images named by tag; one per run, so that each image is asked for once.
    pub(crate) images: Resolver,
}

impl Ctx {
    /// Connects to the configured registry.
    pub(crate) async fn client(&self) -> Result<Client, CliError> {
        let client = Client::connect(&self.conn.rpc, self.conn.registry()?, self.conn.signer.clone()).await?;
        Ok(client.expect_chain(self.conn.chain_id)?.with_max_fee(self.conn.max_fee))
    }

    /// Prints a transaction's result: `what` for people, with tx, block and gas.
    pub(crate) fn sent(&self, what: &str, sent: &Sent, extra: serde_json::Value) {
        self.out.emit(&sent_doc(what, sent, extra), || sent_text(what, sent));
    }
}

/// A sent transaction's document: `result`, `tx`, `block`, `gas`, and `extra`'s fields.
pub(crate) fn sent_doc(what: &str, sent: &Sent, extra: serde_json::Value) -> serde_json::Value {
    let mut doc = json!({ "result": what, "tx": sent.tx, "block": sent.block, "gas": sent.gas });
    if let (Some(doc), serde_json::Value::Object(extra)) = (doc.as_object_mut(), extra) {
        doc.extend(extra);
    }
    doc
}

/// A sent transaction for people: what happened, then tx, block and gas.
pub(crate) fn sent_text(what: &str, sent: &Sent) -> String {
    format!("{what}\n  tx {}  block {}  gas {}", sent.tx, sent.block, sent.gas)
}

/// Runs the command the user asked for.
pub(crate) async fn run(cli: Cli) -> Result<Outcome, CliError> {
    let conn = crate::config::connection(&cli.connection, cli.config.as_deref())?;
    let images = Resolver::new(cli.resolve_image, cli.insecure_registry);
    let ctx = Ctx { conn, out: Output { json: cli.json }, images };
    match cli.command {
        Command::Registry(c) => admin::registry(&ctx, c).await,
        Command::Namespace(c) => admin::change(&ctx, admin::Change::Namespace(c)).await,
        Command::Deployer(c) => admin::change(&ctx, admin::Change::Deployer(c)).await,
        Command::Node(c) => admin::change(&ctx, admin::Change::Node(c)).await,
        Command::Quorum(c) => admin::quorum(&ctx, c).await,
        Command::Deploy(a) => deploy::deploy(&ctx, a).await,
        Command::Apply(a) => apply::apply(&ctx, a).await,
        Command::Diff(a) => diff::diff(&ctx, a).await.map_err(|e| match e {
            // diff's contract with CI: 0 no change, 1 changes, 2 any error.
            CliError::Usage(_) | CliError::Spec(_) => e,
            other => CliError::Usage(other.to_string()),
        }),
        Command::Plan(a) => simulate::plan(&ctx, a).await.map_err(|e| match e {
            // plan's contract with CI, as diff's: 0 no change, 1 changes, 2 any error.
            CliError::Usage(_) | CliError::Spec(_) => e,
            other => CliError::Usage(other.to_string()),
        }),
        Command::Rollback(a) => deploy::rollback(&ctx, a).await,
        Command::Remove { service } => deploy::remove(&ctx, &service).await,
        Command::Status { target } => show::status(&ctx, target.as_deref()).await,
        Command::History { service } => show::history(&ctx, &service).await,
        Command::Audit(c) => audit::run(&ctx, c).await,
        Command::Wait(a) => wait::wait(&ctx.client().await?, &ctx, &a).await,
    }
}

/// Short form of an address for tables: 0x7099…79c8.
pub(crate) fn short(address: &Address) -> String {
    let s = address.to_string();
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}
