//! The `ledgerops` binary as a CI pipeline runs it: on one chain, in a scratch directory (no
//! stray `ledgerops.toml`, no `~/.docker`), keeping each transaction it reports sending.

use std::process::{Command, Output};

use alloy::primitives::{Address, B256};
use ledgerops_e2e::cli_path;
use serde_json::Value;

/// The CLI on one chain.
pub(crate) struct Cli {
    rpc: String,
    dir: tempfile::TempDir,
    /// The registry, once deployed.
    pub(crate) registry: Option<Address>,
    /// Every transaction sent so far.
    pub(crate) txs: Vec<B256>,
}

impl Cli {
    /// The CLI on the chain at `rpc` (http).
    pub(crate) fn new(rpc: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self { rpc: rpc.to_owned(), dir, registry: None, txs: Vec::new() }
    }

    /// Runs it as the holder of `key`, with `--max-fee 0`: these chains' gas is free, and the
    /// transactions carry no fee at all.
    fn run(&self, key: &str, args: &[&str]) -> Output {
        let mut command = Command::new(cli_path());
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("LEDGEROPS_RPC_URL", &self.rpc)
            .env("LEDGEROPS_PRIVATE_KEY", key)
            .env("LEDGEROPS_MAX_FEE", "0")
            .env("DOCKER_CONFIG", self.dir.path().join("no-docker-config"))
            .env_remove("LEDGEROPS_REGISTRY")
            .env_remove("LEDGEROPS_CONFIG");
        if let Some(registry) = self.registry {
            command.env("LEDGEROPS_REGISTRY", registry.to_string());
        }
        command.output().expect("ledgerops runs")
    }

    /// `ledgerops --json ARGS` as the holder of `key`, expecting exit `code`; the document, its
    /// transaction kept.
    pub(crate) fn exit_json(&mut self, key: &str, args: &[&str], code: i32) -> Value {
        let out = self.run(key, &[&["--json"], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "ledgerops {args:?}: {stderr}");
        let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        if let Some(tx) = doc["tx"].as_str() {
            self.txs.push(tx.parse().expect("a transaction hash"));
        }
        doc
    }

    /// `ledgerops --json ARGS`, expecting exit 0.
    pub(crate) fn json(&mut self, key: &str, args: &[&str]) -> Value {
        self.exit_json(key, args, 0)
    }

    /// `ledgerops ARGS` as people read it (exit 0 asserted).
    pub(crate) fn text(&self, key: &str, args: &[&str]) -> String {
        let out = self.run(key, args);
        assert!(out.status.success(), "ledgerops {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
