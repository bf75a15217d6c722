//! What the CLI's integration tests share: an anvil with a registry, and the binary run against it.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::process::{Command, Output};

use alloy::hex;
use alloy::primitives::keccak256;
use ledgerops_e2e::Chain;
use serde_json::Value;

pub const ADMIN: usize = 0;
pub const DEPLOYER: usize = 1;
pub const NODES: [usize; 3] = [2, 3, 4]; // two at site-a, one at site-b
pub const IMAGE: &str =
    "127.0.0.1:5000/ledgerops/testapp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A chain with a registry, and a scratch directory to run the CLI in (no stray ledgerops.toml).
pub struct World {
    pub chain: Chain,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn new() -> Self {
        let chain = Chain::start().await.expect("anvil and a registry");
        let dir = tempfile::tempdir().expect("temp dir");
        Self { chain, dir }
    }

    pub fn key(&self, index: usize) -> String {
        hex::encode_prefixed(self.chain.anvil.keys()[index].to_bytes())
    }

    /// Runs `ledgerops args...` as anvil account `signer`.
    pub fn run(&self, signer: usize, args: &[&str]) -> Output {
        self.command(args)
            .env("LEDGEROPS_PRIVATE_KEY", self.key(signer))
            .env("LEDGEROPS_REGISTRY", self.chain.registry.address().to_string())
            .output()
            .expect("ledgerops runs")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledgerops"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("LEDGEROPS_PRIVATE_KEY")
            .env_remove("LEDGEROPS_REGISTRY")
            .env_remove("LEDGEROPS_KEYSTORE")
            .env_remove("LEDGEROPS_CONFIG")
            // No registry credentials but those a test hands over (not the developer's ~/.docker).
            .env("DOCKER_CONFIG", self.dir.path().join("no-docker-config"))
            .env("LEDGEROPS_RPC_URL", self.chain.anvil.endpoint());
        cmd
    }

    /// Runs with `--json`, expects exit 0, returns the document.
    pub fn json(&self, signer: usize, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(signer, &all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("one JSON document")
    }

    /// Namespace `prod`, a deployer, three nodes.
    pub fn set_up(&self) {
        self.json(ADMIN, &["namespace", "create", "prod"]);
        let deployer = self.chain.account(DEPLOYER).to_string();
        self.json(ADMIN, &["deployer", "grant", "prod", &deployer]);
        for (node, site) in NODES.iter().zip(["site-a", "site-a", "site-b"]) {
            self.json(ADMIN, &["node", "add", &self.chain.account(*node).to_string(), "--site", site]);
        }
    }

    pub async fn attest(&self, node: usize, revision: u32, site: &str, status: u8, reason: &str) {
        self.attest_service(node, "prod/web", revision, site, status, reason).await;
    }

    pub async fn attest_service(
        &self,
        node: usize,
        service: &str,
        revision: u32,
        site: &str,
        status: u8,
        reason: &str,
    ) {
        self.chain.attest_as(node, keccak256(service), revision, site, status, reason).await.expect("attested");
    }
}

pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
