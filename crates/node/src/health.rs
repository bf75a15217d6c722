//! What the node knows about itself, shared by its tasks, and the HTTP endpoints that show it:
//! `/healthz` (the process serves: restart it if not) and `/readyz` (it has a verified desired
//! state and reaches Docker: it is enforcing).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde::Serialize;

/// The node's status as the endpoints report it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The last block read from the chain (the cursor).
    pub chain_block: Option<u64>,
    /// The RPC answered the last request.
    pub rpc_reachable: bool,
    /// A desired state is known (from the store or the chain).
    pub state_loaded: bool,
    /// Docker answered the last request.
    pub docker_reachable: bool,
    /// Managed services at the last reconcile.
    pub services: usize,
    /// Unix time (ms) of the last completed reconcile.
    pub last_reconcile_ms: Option<u64>,
}

/// The shared status.
#[derive(Debug, Default)]
pub struct Health(Mutex<Status>);

impl Health {
    /// Changes the status.
    pub fn update(&self, change: impl FnOnce(&mut Status)) {
        change(&mut self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// A copy of the status.
    pub fn status(&self) -> Status {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// Serves the endpoints on `listen` until the process ends.
pub async fn serve(listen: SocketAddr, health: Arc<Health>) -> std::io::Result<()> {
    let app = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(health);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "health endpoints: /healthz /readyz");
    axum::serve(listener, app).await
}

async fn healthz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    Json(health.status())
}

async fn readyz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    let status = health.status();
    let code =
        if status.state_loaded && status.docker_reachable { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(status))
}
