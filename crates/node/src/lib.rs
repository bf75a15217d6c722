//! `ledgerops-node`, the watcher on every edge node. Its folders are its tasks, each a tokio task
//! of its own, wired together by [`run`]:
//!
//! - [`follow`]: follows the registry's log, checks it against the audit chain and the
//!   registry's proved state, and publishes the verified state.
//! - [`control`]: makes the local Docker Swarm match the desired state of its site, and judges
//!   each rollout (the verdict is [`control::rollouts::Outcome`]).
//! - [`report`]: sends the verdicts on chain: attestations and rollback votes.
//! - [`serve`]: `/healthz`, `/readyz`, `/status` and `/metrics`.
//!
//! They share the local [`store`] (cursor, verified log, proofs, journal). Each keeps working while
//! another's dependency is down: without RPC the last verified state is still enforced; without
//! Docker the chain is still followed.

pub mod adopt;
pub mod config;
pub mod control;
pub mod dev;
pub mod follow;
pub mod journal;
pub mod outage;
pub mod report;
pub mod serve;
pub mod store;
pub mod telemetry;

use std::collections::BTreeSet;
use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use ledgerops_chain::Endpoint;
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::control::{Controller, Settings};
use crate::follow::{Source, SyncError};
use crate::serve::Health;
use crate::serve::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store cannot be opened or belongs to another registry.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Following the chain cannot go on (wrong chain, no registry at the address).
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The development chain could not be set up.
    #[error(transparent)]
    Dev(#[from] dev::DevError),
    /// A task ended unexpectedly.
    #[error("internal error: {0}")]
    Task(String),
}

/// Runs the node until SIGTERM or SIGINT (then finishes the Docker call in flight) or a fatal error.
pub async fn run(mut config: Config) -> Result<(), RunError> {
    let _dev_chain = if config.dev { Some(start_dev(&mut config).await?) } else { None };
    let registry = config.connection.registry.ok_or_else(|| RunError::Task("no registry configured".into()))?;
    let store = Arc::new(Store::open(&config.data_dir)?);
    if let Some((chain_id, stored)) = store.binding()?.filter(|(_, stored)| *stored != registry) {
        let wanted_chain = config.connection.chain_id.unwrap_or(chain_id);
        return Err(StoreError::OtherRegistry { stored, stored_chain: chain_id, wanted: registry, wanted_chain }.into());
    }
    let restored = follow::restore(&store)?;
    let (states_tx, states_rx) = watch::channel(restored.as_ref().map(|f| Arc::clone(&f.state)));
    if let Some(folded) = &restored {
        tracing::info!(
            services = folded.state.services.len(),
            "enforcing the state kept in the store while the chain is read"
        );
    }
    let health = Arc::new(Health::default());
    let trust = trust_mode(&config, store.checkpoint()?.is_some());
    if trust == ONE_RPC {
        tracing::warn!(
            "trusting one RPC: which chain the headers belong to is {}'s word (no --checkpoint, --consensus qbft \
             or --witness-rpc-url); an RPC that serves a fork can have it applied (docs/security.md)",
            ledgerops_chain::redact_url(config.connection.rpc.url())
        );
    } else {
        tracing::info!(%trust, "trust roots");
    }
    health.update(|s| s.trust = trust);
    let metrics = Arc::new(Metrics::default());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let source = Source {
        rpc: config.connection.rpc.clone(),
        registry,
        chain_id: config.connection.chain_id,
        confirmations: config.confirmations,
        witnesses: config.witness_rpc_urls.iter().map(|url| config.connection.witness(url)).collect(),
        rpc_quorum: config.rpc_quorum,
        checkpoint: config.checkpoint,
        consensus: config.consensus,
        poll_interval: config.poll_interval,
    };
    let mut sync = tokio::spawn(follow::run(
        source,
        Arc::clone(&store),
        restored,
        states_tx,
        Arc::clone(&health),
        Arc::clone(&metrics),
    ));
    let reports = config.connection.signer.clone().map(|signer| {
        let (tx, rx) = mpsc::unbounded_channel();
        let sender = report::Sender {
            rpc: config.connection.rpc.clone(),
            registry,
            signer,
            chain_id: config.connection.chain_id,
            max_fee: config.connection.max_fee,
        };
        tokio::spawn(report::run(sender, Arc::clone(&store), Arc::clone(&metrics), rx));
        tx
    });
    if reports.is_none() {
        tracing::warn!("no node key: converged and failed revisions are not reported on chain");
    }
    let settings = Settings {
        docker_socket: config.docker_socket.clone(),
        docker_timeout: config.docker_timeout,
        lease: config.lease.clone(),
        sites: config.sites.iter().filter_map(|s| ledgerops_registry::site_id(s).ok()).collect::<BTreeSet<_>>(),
        node: config.connection.signer.as_ref().map(PrivateKeySigner::address),
        resync: config.resync,
        backoff_cap: config.backoff_cap,
        max_replicas: config.max_replicas,
        allow: config.allow.clone(),
    };
    let controller = Controller::new(settings, Arc::clone(&store), Arc::clone(&health), Arc::clone(&metrics), reports);
    let mut controller = tokio::spawn(controller.run(states_rx, shutdown_rx));
    let mut http = tokio::spawn(serve::serve(config.listen, health, metrics, config.status_token.clone()));

    let outcome = tokio::select! {
        () = terminated() => {
            tracing::info!("shutting down: finishing the Docker call in flight");
            Ok(())
        }
        ended = &mut sync => match ended {
            Ok(Err(e)) => Err(RunError::Sync(e)),
            other => Err(RunError::Task(format!("the chain follower ended: {other:?}"))),
        },
        ended = &mut http => Err(RunError::Task(format!("the endpoints' server ended: {ended:?}"))),
        ended = &mut controller => Err(RunError::Task(format!("the controller ended: {ended:?}"))),
    };
    sync.abort();
    http.abort();
    shutdown_tx.send_replace(true);
    if !controller.is_finished() {
        let _ = controller.await;
    }
    outcome
}

/// The trust mode of a node that checks nothing beyond its one RPC.
const ONE_RPC: &str = "one RPC";

/// What the node trusts for which chain the headers are, as `/status` says it.
fn trust_mode(config: &Config, kept_checkpoint: bool) -> String {
    let mut roots = Vec::new();
    if config.checkpoint.is_some() || kept_checkpoint {
        roots.push("checkpoint".to_owned());
    }
    if config.consensus == ledgerops_chain::trust::Consensus::Qbft {
        roots.push("QBFT seals".to_owned());
    }
    if !config.witness_rpc_urls.is_empty() {
        let endpoints = config.witness_rpc_urls.len() + 1;
        roots.push(format!("{} of {endpoints} RPCs agree", config.rpc_quorum.unwrap_or(endpoints)));
    }
    if roots.is_empty() { ONE_RPC.to_owned() } else { roots.join(", ") }
}

/// Starts the dev chain and points the configuration at it.
async fn start_dev(config: &mut Config) -> Result<dev::DevChain, RunError> {
    let chain = dev::start(&config.data_dir, config.dev_port).await?;
    config.connection.rpc = Endpoint::new(chain.ws_url.clone());
    config.connection.registry = Some(chain.registry);
    config.connection.signer = Some(chain.node.clone());
    eprintln!(
        "\n  ledgerops dev: anvil {rpc} (state in {dir}), registry {registry}\n  \
         node {node} at site \"{site}\", reconciling the local Docker; namespace \"{ns}\" (deployer: anvil account 0)\n\n  \
         Publish with the CLI (another shell):\n    \
         export LEDGEROPS_RPC_URL={http} LEDGEROPS_REGISTRY={registry}\n    \
         export LEDGEROPS_PRIVATE_KEY={key}  # anvil's public account 0: dev only\n    \
         target/debug/ledgerops deploy {ns}/web --image 127.0.0.1:5000/ledgerops/testapp:test --replicas 2 --port 8080:8080\n    \
         docker service ls; ledgerops-node journal --data-dir {dir}\n",
        rpc = chain.ws_url,
        http = chain.anvil.endpoint(),
        key = alloy::hex::encode_prefixed(chain.admin.to_bytes()),
        dir = config.data_dir.display(),
        registry = chain.registry,
        node = chain.node.address(),
        site = dev::SITE,
        ns = dev::NAMESPACE,
    );
    Ok(chain)
}

/// Resolves on SIGTERM or SIGINT.
async fn terminated() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
