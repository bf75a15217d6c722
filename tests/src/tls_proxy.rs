//! A private chain's RPC as operators run it: a TLS-terminating proxy in front of anvil, with a
//! certificate from a private CA the test makes, that may also want a bearer token (and answers
//! 401 without it, as an authenticating gateway does). It carries HTTP and WebSocket alike: it
//! checks the head of the first request on each connection, then relays bytes both ways.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA of the test's own and a server certificate it signed for `localhost` and `127.0.0.1`.
pub struct PrivateCa {
    /// The CA's certificate, PEM, written where `--rpc-ca-cert` can read it.
    pub ca_file: PathBuf,
    server: Arc<ServerConfig>,
}

impl PrivateCa {
    /// Makes the CA and the server certificate; writes the CA's to `dir/ca.pem`.
    pub fn new(dir: &Path) -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "ledgerops test private CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA certificate");
        let server_key = KeyPair::generate().expect("server key");
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let server_cert = CertificateParams::new(names)
            .expect("server params")
            .signed_by(&server_key, &ca)
            .expect("server certificate");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write ca.pem");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let chain = vec![server_cert.der().clone(), CertificateDer::from(ca.der().to_vec())];
        let server =
            ServerConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .expect("server TLS config");
        Self { ca_file, server: Arc::new(server) }
    }
}

/// The proxy, running until dropped.
pub struct TlsProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    /// Serves TLS with `ca`'s server certificate on a free port, relaying to `upstream`; when
    /// `authorization` is given (`Bearer <token>`, `Basic <base64>`), a first request without
    /// that `Authorization` header gets a 401.
    pub async fn start(ca: &PrivateCa, upstream: SocketAddr, authorization: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let acceptor = TlsAcceptor::from(Arc::clone(&ca.server));
        let wanted = authorization.map(str::to_owned);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, wanted) = (acceptor.clone(), wanted.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to do.
                    if let Ok(tls) = acceptor.accept(socket).await {
                        relay(tls, upstream, wanted.as_deref()).await;
                    }
                });
            }
        });
        Self { addr, task }
    }

    /// `https://` or `wss://` URL of the proxy, by the name on its certificate.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://localhost:{}", self.addr.port())
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the first request's head, answers 401 when it lacks `wanted`, else relays everything.
async fn relay(mut client: tokio_rustls::server::TlsStream<TcpStream>, upstream: SocketAddr, wanted: Option<&str>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let authorization = loop {
        let Ok(n) = client.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                let value = request.headers.iter().find(|h| h.name.eq_ignore_ascii_case("authorization"));
                break value.map(|h| String::from_utf8_lossy(h.value).into_owned());
            }
            Ok(httparse::Status::Partial) => continue,
            Err(_) => return,
        }
    };
    if let Some(wanted) = wanted
        && authorization.as_deref() != Some(wanted)
    {
        let refusal = "HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\ncontent-length: 13\r\nconnection: close\r\n\r\nunauthorized\n";
        let _ = client.write_all(refusal.as_bytes()).await;
        let _ = client.shutdown().await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    if server.write_all(&head).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
