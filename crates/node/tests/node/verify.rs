//! An RPC that hides a log: the node's state, checked against the registry's proved storage in
//! revm, catches it, holds that one service at its last verified revision while every other
//! service goes on, says why (metric, `/status`, journal, log), and applies the change once the
//! RPC serves the whole log again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use alloy::primitives::{B256, U256, keccak256};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use ledgerops_e2e::Chain;
use ledgerops_reconcile::observed::labels;
use serde_json::Value;

use crate::harness::{self, Node, SWARM, label, service};

/// A JSON-RPC proxy in front of anvil that can leave one log out of `eth_getLogs` answers.
struct LogDroppingRpc {
    url: String,
    /// `(topic1, topic2)` of the log to leave out.
    drop: Arc<Mutex<Option<(B256, B256)>>>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    url: String,
    client: reqwest::Client,
    drop: Arc<Mutex<Option<(B256, B256)>>>,
}

impl LogDroppingRpc {
    async fn start(upstream: &str) -> Self {
        let drop = Arc::new(Mutex::new(None));
        let state = Upstream { url: upstream.into(), client: reqwest::Client::new(), drop: Arc::clone(&drop) };
        let app = axum::Router::new().route("/", post(forward)).with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move { axum::serve(listener, app).await.expect("proxy serves") });
        Self { url, drop, server }
    }

    /// Leaves out the `RevisionPublished` log of `revision` of `service` from now on.
    fn drop_revision(&self, service: &str, revision: u32) {
        let topic2 = B256::from(U256::from(revision));
        *self.drop.lock().expect("lock") = Some((keccak256(service), topic2));
    }

    fn serve_everything(&self) {
        *self.drop.lock().expect("lock") = None;
    }
}

impl Drop for LogDroppingRpc {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State(up): State<Upstream>, body: Bytes) -> axum::response::Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = up.client.post(&up.url).header("content-type", "application/json").body(body).send().await;
    let Ok(answer) = answer else { return axum::http::StatusCode::BAD_GATEWAY.into_response() };
    let mut answer: Value = serde_json::from_slice(&answer.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
    let target = *up.drop.lock().expect("lock");
    if let Some((topic1, topic2)) = target {
        let pairs: Vec<(&Value, &mut Value)> = match (&request, &mut answer) {
            (Value::Array(requests), Value::Array(answers)) => requests.iter().zip(answers.iter_mut()).collect(),
            (request, answer) => vec![(request, answer)],
        };
        for (request, answer) in pairs {
            if request["method"] == "eth_getLogs"
                && let Some(logs) = answer["result"].as_array_mut()
            {
                logs.retain(|log| {
                    let topic = |i: usize| log["topics"][i].as_str().and_then(|t| t.parse::<B256>().ok());
                    !(topic(1) == Some(topic1) && topic(2) == Some(topic2))
                });
            }
        }
    }
    axum::Json(answer).into_response()
}

#[tokio::test]
async fn a_log_hidden_by_the_rpc_holds_that_service_and_no_other() {
    let _swarm = SWARM.lock().await;
    harness::clean("proved");
    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "proved").await;
    let rpc = LogDroppingRpc::start(&chain.anvil.endpoint()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    harness::publish_spec(&chain, "proved/a", &harness::app(1, "a", None)).await;
    let node = Node::start(&chain, &rpc.url, dir.path());
    node.until("proved_a created", || service("proved_a")).await;

    // The RPC hides revision 2 of proved/a; proved/b is published after it.
    rpc.drop_revision("proved/a", 2);
    harness::publish_spec(&chain, "proved/a", &harness::app(2, "b", None)).await;
    harness::publish_spec(&chain, "proved/b", &harness::app(1, "c", None)).await;
    node.until("proved_b created although the log before it is missing", || service("proved_b")).await;
    let (_, status) = node.get("/status");
    let evidence = node
        .until("/status names the held service", || {
            let (_, status) = node.get("/status");
            status["node"]["held"]["proved/a"].as_str().map(str::to_owned)
        })
        .await;
    assert!(evidence.contains("revision 2 active") && evidence.contains("give revision 1"), "{evidence} {status}");
    let a = service("proved_a").expect("proved_a is still there");
    assert_eq!(label(&a, labels::REVISION).as_deref(), Some("1"), "held at its last verified revision");
    let (_, metrics) = node.get_text("/metrics");
    assert!(metrics.contains("ledgerops_held_services 1"), "{metrics}");
    assert!(node.log().contains("held at its last verified state"), "{}", node.log());
    let journaled = node.journaled("proved_a", "unverified");
    assert_eq!(journaled.len(), 1, "journaled once, however many times the range is re-read: {:?}", node.journal());

    // The RPC serves the whole log again: the held change lands and nothing is held.
    rpc.serve_everything();
    node.until("proved_a at revision 2", || {
        service("proved_a").filter(|s| label(s, labels::REVISION).as_deref() == Some("2"))
    })
    .await;
    node.until("nothing held", || {
        let (_, metrics) = node.get_text("/metrics");
        metrics.contains("ledgerops_held_services 0").then_some(())
    })
    .await;
    drop(node);
    harness::clean("proved");
}
