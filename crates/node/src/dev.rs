//! `ledgerops-node --dev`: everything on one machine, for trying ledgerops and for its own
//! development. anvil runs with its state in the data dir (kept across restarts), a registry is
//! deployed once (namespace `dev`, anvil's account 0 as admin and deployer), and this node is
//! registered at site `local` with anvil's account 1.

use std::path::{Path, PathBuf};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use ledgerops_chain::{ChainError, Client, Endpoint};

/// The development namespace.
pub const NAMESPACE: &str = "dev";
/// The development node's site.
pub const SITE: &str = "local";

/// Why the development chain could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// anvil did not start.
    #[error("cannot start anvil ({path}): {reason}; set LEDGEROPS_ANVIL or put anvil on PATH")]
    Anvil {
        /// The binary tried.
        path: String,
        /// Why.
        reason: String,
    },
    /// Deploying or setting up the registry failed.
    #[error("setting up the dev registry: {0}")]
    Chain(#[from] ChainError),
    /// The data dir cannot be written.
    #[error("dev data dir {path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A running development chain.
#[derive(Debug)]
pub struct DevChain {
    /// anvil; stops when dropped (its state was saved within the last second).
    pub anvil: AnvilInstance,
    /// Its WebSocket endpoint (the node subscribes to new blocks).
    pub ws_url: String,
    /// The registry.
    pub registry: Address,
    /// The admin and deployer key (anvil's account 0).
    pub admin: PrivateKeySigner,
    /// The node's key (anvil's account 1).
    pub node: PrivateKeySigner,
}

/// Starts anvil in `data_dir` on `port` and makes sure a registry is deployed.
pub async fn start(data_dir: &Path, port: u16) -> Result<DevChain, DevError> {
    let io = |path: &Path, e: std::io::Error| DevError::Io { path: path.display().to_string(), reason: e.to_string() };
    std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
    let anvil_path = std::env::var_os("LEDGEROPS_ANVIL").map_or_else(|| PathBuf::from("anvil"), PathBuf::from);
    let state = data_dir.join("anvil-state.json");
    let anvil = Anvil::at(&anvil_path)
        .port(port)
        .arg("--state")
        .arg(&state)
        .args(["--state-interval", "1"])
        .try_spawn()
        .map_err(|e| DevError::Anvil { path: anvil_path.display().to_string(), reason: e.to_string() })?;
    let admin: PrivateKeySigner = anvil.keys()[0].clone().into();
    let node: PrivateKeySigner = anvil.keys()[1].clone().into();
    let http_url = anvil.endpoint();
    let registry_file = data_dir.join("registry");
    let kept = std::fs::read_to_string(&registry_file).ok().and_then(|text| text.trim().parse::<Address>().ok());
    let registry = match kept {
        Some(address) if Client::connect(&Endpoint::new(&http_url), address, None).await.is_ok() => address,
        _ => {
            let address = deploy(&http_url, admin.clone(), node.address()).await?;
            std::fs::write(&registry_file, format!("{address}\n")).map_err(|e| io(&registry_file, e))?;
            address
        }
    };
    Ok(DevChain { ws_url: anvil.ws_endpoint(), anvil, registry, admin, node })
}

async fn deploy(url: &str, admin: PrivateKeySigner, node: Address) -> Result<Address, ChainError> {
    let admin_address = admin.address();
    let delay = ledgerops_chain::DEFAULT_ADMIN_DELAY_SECS;
    let (client, _) = Client::deploy(&Endpoint::new(url), admin, admin_address, delay, None, None).await?;
    let registry = &client.registry;
    client.send(registry.createNamespace(NAMESPACE.into())).await?;
    client.send(registry.grantDeployer(NAMESPACE.into(), admin_address)).await?;
    client.send(registry.addNode(node, SITE.into())).await?;
    tracing::info!(registry = %registry.address(), "deployed a dev registry");
    Ok(*registry.address())
}
