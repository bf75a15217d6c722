//! A unix-socket proxy in front of a Docker engine that a test can cut and restore (to take Docker
//! away from one node without stopping the engine others share), that can hold every request
//! naming one object unanswered (as an engine stuck on that object would), and that counts the API
//! requests passing through it (to compare how many calls a node and the `docker` CLI make for one
//! change).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// What passed through: counts by kind, and each request with the moment its line arrived.
#[derive(Debug, Default)]
struct Tally {
    counts: Requests,
    seen: Vec<(Instant, String)>,
}

/// Requests by `METHOD /path` (API version, query and object ids dropped), e.g.
/// `POST /services/{id}/update`.
pub type Requests = BTreeMap<String, u64>;

/// The proxy; it serves until cut or dropped.
pub struct DockerProxy {
    /// The socket to give the client.
    pub path: PathBuf,
    upstream: PathBuf,
    tally: Arc<Mutex<Tally>>,
    stalled: Arc<Mutex<Option<Vec<u8>>>>,
    serving: Option<tokio::task::JoinHandle<()>>,
}

impl DockerProxy {
    /// Listens at `path`, forwarding to /var/run/docker.sock.
    pub fn start(path: &Path) -> Self {
        Self::start_to(path, Path::new("/var/run/docker.sock"))
    }

    /// Listens at `path`, forwarding to the engine at `upstream`.
    pub fn start_to(path: &Path, upstream: &Path) -> Self {
        let mut proxy = Self {
            path: path.to_path_buf(),
            upstream: upstream.to_path_buf(),
            tally: Arc::default(),
            stalled: Arc::default(),
            serving: None,
        };
        proxy.restore();
        proxy
    }

    /// Closes the socket and every open connection.
    pub fn cut(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }

    /// Serves again.
    pub fn restore(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).expect("bind the proxy socket");
        let upstream = self.upstream.clone();
        let (tally, stalled) = (Arc::clone(&self.tally), Arc::clone(&self.stalled));
        self.serving = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, tally, stalled) = (upstream.clone(), Arc::clone(&tally), Arc::clone(&stalled));
                connections.spawn(async move {
                    if let Ok(docker) = UnixStream::connect(&upstream).await {
                        forward(client, docker, &tally, &stalled).await;
                    }
                });
            }
        }));
    }

    /// From now on, a request whose bytes contain `text` (a service's name in its spec) is neither
    /// passed on nor answered: its connection stays open until the client gives up.
    pub fn stall(&self, text: &str) {
        *self.stalled.lock().expect("not poisoned") = Some(text.as_bytes().to_vec());
    }

    /// Passes every request on again.
    pub fn unstall(&self) {
        *self.stalled.lock().expect("not poisoned") = None;
    }

    /// The requests counted so far.
    pub fn requests(&self) -> Requests {
        self.tally.lock().expect("not poisoned").counts.clone()
    }

    /// The moments requests of kind `key` (as in [`Requests`]) arrived, oldest first.
    pub fn arrivals(&self, key: &str) -> Vec<Instant> {
        let tally = self.tally.lock().expect("not poisoned");
        tally.seen.iter().filter(|(_, k)| k == key).map(|(at, _)| *at).collect()
    }

    /// How many requests passed so far.
    pub fn request_count(&self) -> u64 {
        self.requests().values().sum()
    }

    /// Forgets the requests counted so far.
    pub fn reset(&self) {
        *self.tally.lock().expect("not poisoned") = Tally::default();
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies both ways until either side closes, counting the request lines the client sends; from
/// a chunk holding the stalled text on, reads the client's bytes and drops them.
async fn forward(client: UnixStream, docker: UnixStream, tally: &Mutex<Tally>, stalled: &Mutex<Option<Vec<u8>>>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_docker, mut to_docker) = docker.into_split();
    let up = async {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut line = Vec::new();
        while let Ok(n) = from_client.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            count_lines(&chunk[..n], &mut line, tally);
            if holds(&chunk[..n], stalled) {
                while from_client.read(&mut chunk).await.is_ok_and(|n| n > 0) {}
                break;
            }
            if to_docker.write_all(&chunk[..n]).await.is_err() {
                break;
            }
        }
        let _ = to_docker.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut from_docker, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    tokio::join!(up, down);
}

/// True when `bytes` contain the stalled text.
fn holds(bytes: &[u8], stalled: &Mutex<Option<Vec<u8>>>) -> bool {
    let stalled = stalled.lock().expect("not poisoned");
    stalled.as_ref().is_some_and(|text| bytes.windows(text.len()).any(|w| w == text.as_slice()))
}

/// Feeds `bytes` into the current `line`; each completed line that is an HTTP request line is
/// counted. Bodies are JSON and never end a line with ` HTTP/1.1`.
fn count_lines(bytes: &[u8], line: &mut Vec<u8>, tally: &Mutex<Tally>) {
    for &byte in bytes {
        if byte != b'\n' {
            if line.len() < 1024 {
                line.push(byte);
            }
            continue;
        }
        if let Some(key) = request_key(line) {
            let mut tally = tally.lock().expect("not poisoned");
            *tally.counts.entry(key.clone()).or_default() += 1;
            tally.seen.push((Instant::now(), key));
        }
        line.clear();
    }
}

/// `POST /v1.47/services/create?x=y HTTP/1.1\r` -> `POST /services/create`.
fn request_key(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?.strip_suffix('\r')?.strip_suffix(" HTTP/1.1")?;
    let (method, target) = text.split_once(' ')?;
    if !["GET", "POST", "PUT", "DELETE", "HEAD"].contains(&method) {
        return None;
    }
    let path = target.split('?').next()?;
    let path = match path.strip_prefix("/v").and_then(|p| p.split_once('/')) {
        Some((version, rest)) if version.chars().all(|c| c.is_ascii_digit() || c == '.') => format!("/{rest}"),
        _ => path.to_owned(),
    };
    let segments: Vec<&str> = path.split('/').map(|s| if is_object_id(s) { "{id}" } else { s }).collect();
    Some(format!("{method} {}", segments.join("/")))
}

/// Swarm's object ids (25 of `[a-z0-9]`) and engine ids (64 hex digits), told from names by
/// their length and a digit.
fn is_object_id(segment: &str) -> bool {
    let alnum = segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    alnum && (segment.len() == 25 || segment.len() == 64) && segment.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_counted_by_method_and_path_across_chunks() {
        let tally = Mutex::default();
        let mut line = Vec::new();
        let traffic = b"GET /v1.47/services?filters=x HTTP/1.1\r\nHost: d\r\n\r\nPOST /v1.47/services/kju15u9wirwt5bcu6qh96cv4m/upd";
        count_lines(traffic, &mut line, &tally);
        count_lines(
            b"ate?version=3 HTTP/1.1\r\n\r\n{\"a\":\"GET / HTTP/1.1\"}\nGET /_ping HTTP/1.1\r\n",
            &mut line,
            &tally,
        );
        let counted = tally.into_inner().expect("not poisoned").counts;
        let expected: Requests =
            [("GET /services".into(), 1), ("POST /services/{id}/update".into(), 1), ("GET /_ping".into(), 1)].into();
        assert_eq!(counted, expected);
    }
}
