//! Hardhat's node (2.29.1: London, free gas, chain id 31337), the JSON-RPC implementation other
//! than anvil that the tests run on, so that nothing works only because anvil is lenient. Started
//! through `scripts/hardhat-node`, which installs it on first use.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::{free_port, repo_root};

/// A running Hardhat node; stopped when dropped.
#[derive(Debug)]
pub struct Hardhat {
    script: Child,
    port: u16,
    /// Hardhat's output (npm's too, on first use): shown when it does not start.
    _log: tempfile::NamedTempFile,
}

impl Hardhat {
    /// Starts it on a free loopback port and returns once it answers (the script says so on its
    /// stdout).
    pub fn start() -> Self {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let mut script = Command::new(repo_root().join("scripts/hardhat-node"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("the log file"))
            .spawn()
            .expect("scripts/hardhat-node runs");
        let stdout = script.stdout.take().expect("piped stdout");
        let said = BufReader::new(stdout).lines().next().and_then(Result::ok).unwrap_or_default();
        if !said.starts_with("Hardhat answers on") {
            let _ = script.wait();
            let output = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("scripts/hardhat-node {port} did not start Hardhat:\n{output}");
        }
        Self { script, port, _log: log }
    }

    /// Its HTTP endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its WebSocket endpoint (the same port).
    pub fn ws_endpoint(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

impl Drop for Hardhat {
    fn drop(&mut self) {
        // SIGTERM: the script stops Hardhat on its way out (a SIGKILL would leave Hardhat running).
        let _ = Command::new("kill").args(["-TERM", &self.script.id().to_string()]).status();
        let _ = self.script.wait();
    }
}
