//! A JSON-RPC proxy in front of anvil that misbehaves on demand: hides one log from `eth_getLogs`,
//! answers slowly, fails every other request, is cut off entirely (a partition), or holds
//! transactions back until several arrive, so that they are all signed and estimated on the same
//! state and land one after the other (senders racing each other).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{B256, U256, keccak256};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::Value;

/// How the proxy misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// `(topic1, topic2)` of a log to leave out of `eth_getLogs` answers.
    pub hide: Option<(B256, B256)>,
    /// A log added at the end of every `eth_getLogs` answer that has logs, moved to the block of
    /// the last one (a forged event).
    pub inject: Option<Value>,
    /// Added to every answer.
    pub delay: Duration,
    /// Every other request fails with 502.
    pub fail_half: bool,
    /// Every request fails with 502.
    pub cut: bool,
    /// `eth_sendRawTransaction` requests are held until this many have arrived, then all sent.
    pub gather_sends: usize,
    /// The `stateRoot` of every block in `eth_getBlockBy*` answers, under the block's true hash
    /// (the header a lying RPC would give so that forged storage proves against it).
    pub state_root: Option<B256>,
}

/// The proxy; it stops when dropped.
pub struct RpcProxy {
    /// Its URL, for `--rpc-url`.
    pub url: String,
    faults: Arc<Mutex<Faults>>,
    /// Requests answered with a failure so far.
    pub failed: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    url: String,
    client: reqwest::Client,
    faults: Arc<Mutex<Faults>>,
    count: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    /// Transactions held so far, and the signal that releases them.
    held: Arc<(AtomicU64, tokio::sync::Notify)>,
}

impl RpcProxy {
    /// A proxy to `upstream` on a free loopback port, behaving until told otherwise.
    pub async fn start(upstream: &str) -> Self {
        let faults = Arc::new(Mutex::new(Faults::default()));
        let failed = Arc::new(AtomicU64::new(0));
        let state = Upstream {
            url: upstream.into(),
            client: reqwest::Client::new(),
            faults: Arc::clone(&faults),
            count: Arc::default(),
            failed: Arc::clone(&failed),
            held: Arc::default(),
        };
        let app = axum::Router::new().route("/", post(forward)).with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move { axum::serve(listener, app).await.expect("proxy serves") });
        Self { url, faults, failed, server }
    }

    /// Changes how it misbehaves.
    pub fn set(&self, faults: Faults) {
        *self.faults.lock().expect("lock") = faults;
    }

    /// Leaves out the `RevisionPublished` log of `revision` of `service` from now on.
    pub fn hide_revision(&self, service: &str, revision: u32) {
        let hide = Some((keccak256(service), B256::from(U256::from(revision))));
        self.set(Faults { hide, ..Faults::default() });
    }
}

impl Drop for RpcProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State(up): State<Upstream>, body: Bytes) -> axum::response::Response {
    let faults = up.faults.lock().expect("lock").clone();
    tokio::time::sleep(faults.delay).await;
    let n = up.count.fetch_add(1, Ordering::Relaxed);
    if faults.cut || (faults.fail_half && n % 2 == 1) {
        up.failed.fetch_add(1, Ordering::Relaxed);
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if faults.gather_sends > 1 && request["method"] == "eth_sendRawTransaction" {
        let (count, release) = &*up.held;
        let released = release.notified();
        if count.fetch_add(1, Ordering::SeqCst) + 1 < faults.gather_sends as u64 {
            released.await;
        } else {
            count.store(0, Ordering::SeqCst);
            release.notify_waiters();
        }
    }
    let answer = up.client.post(&up.url).header("content-type", "application/json").body(body).send().await;
    let Ok(answer) = answer else { return StatusCode::BAD_GATEWAY.into_response() };
    let mut answer: Value = serde_json::from_slice(&answer.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
    let pairs: Vec<(&Value, &mut Value)> = match (&request, &mut answer) {
        (Value::Array(requests), Value::Array(answers)) => requests.iter().zip(answers.iter_mut()).collect(),
        (request, answer) => vec![(request, answer)],
    };
    for (request, answer) in pairs {
        let method = request["method"].as_str().unwrap_or_default();
        if let Some(root) = faults.state_root.filter(|_| method.starts_with("eth_getBlockBy"))
            && answer["result"].is_object()
        {
            answer["result"]["stateRoot"] = serde_json::to_value(root).expect("json");
        }
        let Some(logs) = answer["result"].as_array_mut().filter(|_| request["method"] == "eth_getLogs") else {
            continue;
        };
        if let Some((topic1, topic2)) = faults.hide {
            logs.retain(|log| {
                let topic = |i: usize| log["topics"][i].as_str().and_then(|t| t.parse::<B256>().ok());
                !(topic(1) == Some(topic1) && topic(2) == Some(topic2))
            });
        }
        if let (Some(forged), Some(last)) = (&faults.inject, logs.last().cloned()) {
            let mut forged = forged.clone();
            for key in ["blockNumber", "blockHash", "transactionHash", "transactionIndex", "blockTimestamp"] {
                forged[key] = last[key].clone();
            }
            forged["logIndex"] = format!("{:#x}", logs.len() + 100).into();
            logs.push(forged);
        }
    }
    axum::Json(answer).into_response()
}
