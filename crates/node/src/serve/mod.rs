//! What the node knows about itself, shared by its tasks, and the HTTP endpoints that show it:
//! `/healthz` (the process serves: restart it if not), `/readyz` (it has a verified desired
//! state and reaches Docker: it is enforcing), `/status` (every managed service) and `/metrics`.
//! The first two say no more than a probe needs; the last two can ask for a token.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde::Serialize;

pub mod metrics;
pub mod token;

use self::metrics::Metrics;
use self::token::StatusToken;

/// The node's status as the endpoints report it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// What the node trusts for which chain the headers are (docs/security.md): `one RPC` (the
    /// RPC's word), or the checkpoint, QBFT seals and witnesses it checks.
    pub trust: String,
    /// The last block read from the chain (the cursor).
    pub chain_block: Option<u64>,
    /// The RPC answered the last request.
    pub rpc_reachable: bool,
    /// The RPC endpoints disagree on the next block (the last attempt's words): nothing from it
    /// is acted on until they agree.
    pub rpc_disagreement: Option<String>,
    /// The RPC's last answer failed a check of the node's trust root (the refusal's words):
    /// nothing from it is acted on until an answer passes.
    pub rpc_untrusted: Option<String>,
    /// A desired state is known (from the store or the chain).
    pub state_loaded: bool,
    /// Docker answered the last request.
    pub docker_reachable: bool,
    /// The engine took the node's last request and did not answer within `--docker-timeout`
    /// (the error's words): it is wedged. The node keeps following the chain and retries.
    pub docker_hung: Option<String>,
    /// Managed services at the last reconcile.
    pub services: usize,
    /// Unix time (ms) of the last completed reconcile.
    pub last_reconcile_ms: Option<u64>,
    /// Another instance holds the Swarm's lease (`--lease`): this one follows the chain and acts
    /// on nothing until the lease is free or expires.
    pub standby: bool,
    /// Who holds the lease as last read (this instance, or the other one), with `--lease`.
    pub lease_holder: Option<String>,
    /// The node's key is not (or no longer) registered and no site is configured: it keeps what
    /// runs and acts on nothing until it is registered again.
    pub unregistered: bool,
    /// Services held at their last verified state because the logs read disagree with the
    /// registry's proved state: `namespace/name` and the evidence.
    pub held: std::collections::BTreeMap<String, String>,
    /// Volumes the node created that no desired service mounts any more: kept (they may hold
    /// data) until an operator removes them.
    pub orphaned_volumes: Vec<String>,
    /// Managed objects on the engine that are not this registry's, left alone: another
    /// registry's, or made before objects carried their registry (`ledgerops-node adopt`).
    pub foreign: Vec<String>,
}

/// One managed service as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// `namespace/name`.
    pub service: String,
    /// The Swarm service name.
    pub swarm_name: String,
    /// The registry's active revision for this node (none: to be removed).
    pub desired_revision: Option<u32>,
    /// The revision the Swarm service carries (none: not created).
    pub observed_revision: Option<u32>,
    /// `Synced` or `OutOfSync` (Argo CD's words).
    pub sync: &'static str,
    /// `Healthy`, `Progressing`, `Degraded` or `Missing`.
    pub health: &'static str,
    /// The last action taken and its result.
    pub last_action: Option<String>,
    /// Why the service is not as desired, when known.
    pub last_error: Option<String>,
}

/// The shared status.
#[derive(Debug, Default)]
pub struct Health {
    status: Mutex<Status>,
    services: Mutex<Vec<ServiceStatus>>,
}

impl Health {
    /// Changes the status.
    pub fn update(&self, change: impl FnOnce(&mut Status)) {
        change(&mut self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// A copy of the status.
    pub fn status(&self) -> Status {
        self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the per-service status.
    pub fn set_services(&self, services: Vec<ServiceStatus>) {
        *self.services.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = services;
    }

    fn services(&self) -> Vec<ServiceStatus> {
        self.services.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// What `/readyz` shows: enough for a probe and an operator to see why the node is not ready,
/// and nothing about the services, their errors or the RPC.
#[derive(Debug, Serialize)]
struct Readiness {
    ready: bool,
    chain_block: Option<u64>,
    rpc_reachable: bool,
    state_loaded: bool,
    docker_reachable: bool,
    docker_hung: bool,
    standby: bool,
    unregistered: bool,
}

/// How long between two tries to bind the endpoints' address, at most.
const BIND_RETRY_CAP: Duration = Duration::from_secs(30);
/// How often a failure to bind is logged again while it lasts.
const BIND_REMINDER: Duration = Duration::from_secs(300);

/// Serves the endpoints on `listen` until the process ends; `/status` and `/metrics` want `token`
/// when one is given.
pub async fn serve(
    listen: SocketAddr,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    token: Option<StatusToken>,
) -> std::io::Result<()> {
    let guarded = Router::new()
        .route("/status", get(status))
        .with_state(Arc::clone(&health))
        .merge(Router::new().route("/metrics", get(export)).with_state(metrics))
        .route_layer(axum::middleware::from_fn_with_state(token.clone(), token::require));
    let app =
        Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(health).merge(guarded);
    let listener = bind(listen).await;
    let guarded = if token.is_some() { " (token required for /status and /metrics)" } else { "" };
    tracing::info!(%listen, "endpoints: /healthz /readyz /status /metrics{guarded}");
    axum::serve(listener, app).await
}

/// Binds `listen`, trying again while it cannot be had (another process holds the port, the
/// address is not the host's yet): the endpoints are for operators and probes, and a local user
/// who takes the port first must not stop the node from reconciling its site. The failure is
/// logged at once and every few minutes while it lasts.
async fn bind(listen: SocketAddr) -> tokio::net::TcpListener {
    let mut wait = Duration::from_secs(1);
    let mut said: Option<tokio::time::Instant> = None;
    loop {
        match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => {
                if said.is_some() {
                    tracing::info!(%listen, "the endpoints' address is free again");
                }
                return listener;
            }
            Err(e) => {
                if said.is_none_or(|at| at.elapsed() >= BIND_REMINDER) {
                    tracing::error!(
                        %listen,
                        error = %e,
                        "cannot serve /healthz, /readyz, /status and /metrics on this address (another process may \
                         hold it); the node goes on reconciling and tries again"
                    );
                    said = Some(tokio::time::Instant::now());
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(BIND_RETRY_CAP);
            }
        }
    }
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    let status = health.status();
    let ready = status.state_loaded && status.docker_reachable && !status.unregistered && !status.standby;
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let readiness = Readiness {
        ready,
        chain_block: status.chain_block,
        rpc_reachable: status.rpc_reachable,
        state_loaded: status.state_loaded,
        docker_reachable: status.docker_reachable,
        docker_hung: status.docker_hung.is_some(),
        standby: status.standby,
        unregistered: status.unregistered,
    };
    (code, Json(readiness))
}

async fn status(State(health): State<Arc<Health>>) -> impl IntoResponse {
    Json(serde_json::json!({ "node": health.status(), "services": health.services() }))
}

async fn export(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.encode())
}
