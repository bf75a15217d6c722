//! One RPC endpoint and what it takes to reach it: its URL, the private CA its TLS certificate
//! comes from, and the bearer token it wants. Private chains put their RPC behind a private CA and
//! an authenticating proxy, so a URL alone does not reach them.
//!
//! An endpoint is shown (`Display`, `Debug`) with its URL redacted and never its token.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use alloy::rpc::client::RpcClient;
use alloy::transports::http::reqwest;
use alloy::transports::{Authorization, TransportError, TransportErrorKind};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::client::retry_layer;
use crate::redact::redact_url;
use crate::ws::WsTlsConnect;

/// The CA certificates (PEM, one or more) trusted for `https://` and `wss://` endpoints in
/// addition to the system's roots.
#[derive(Debug, Clone)]
pub struct TrustedCa {
    certs: Arc<[CertificateDer<'static>]>,
}

impl TrustedCa {
    /// Reads the PEM certificates of `path`; a file without one, or with one TLS cannot use as a
    /// root, is refused now rather than at the first connection.
    pub fn load(path: &Path) -> Result<Self, String> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read PEM certificates from {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()));
        }
        let mut check = rustls::RootCertStore::empty();
        for cert in &certs {
            check.add(cert.clone()).map_err(|e| format!("{} is not a usable CA certificate: {e}", path.display()))?;
        }
        Ok(Self { certs: certs.into() })
    }
}

/// The TLS settings of a `wss://` connection: the system's roots and `ca`'s, as reqwest builds
/// them for `https://` (alloy's own WebSocket trusts the built-in webpki roots instead, so the
/// two schemes would trust different CAs).
fn websocket_tls(ca: Option<&TrustedCa>) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let extra = ca.map(|ca| ca.certs.to_vec()).unwrap_or_default();
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous() // rustls's name for "a verifier of your own": this one verifies fully
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// A token sent as `Authorization: Bearer <token>` (a JWT or an opaque token): never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// The token `text` holds, surrounding whitespace and the trailing newline dropped; `None`
    /// when it holds none.
    pub fn new(text: &str) -> Option<Self> {
        let token = text.trim();
        (!token.is_empty()).then(|| Self(token.to_owned()))
    }

    /// The token itself: to withhold it from what is published, never to show it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    fn authorization(&self) -> Authorization {
        Authorization::bearer(&self.0)
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// An RPC endpoint: its URL (credentials in its user info are sent as basic auth), the CA to
/// trust and the token to send. Shown redacted.
#[derive(Clone)]
pub struct Endpoint {
    url: String,
    ca: Option<TrustedCa>,
    token: Option<BearerToken>,
}

impl Endpoint {
    /// The endpoint at `url`, trusting the system's roots and sending no token.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), ca: None, token: None }
    }

    /// Also trusts `ca` for TLS.
    pub fn trusting(mut self, ca: Option<TrustedCa>) -> Self {
        self.ca = ca;
        self
    }

    /// Sends `token` with every request and on the WebSocket handshake.
    pub fn with_token(mut self, token: Option<BearerToken>) -> Self {
        self.token = token;
        self
    }

    /// The URL as given, credentials and all: for connecting, never for showing.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// True for `ws://` and `wss://`, which can push new blocks.
    pub fn is_websocket(&self) -> bool {
        self.url.starts_with("ws://") || self.url.starts_with("wss://")
    }

    /// An RPC client of this endpoint, over HTTP or a WebSocket, each request retried as
    /// [`retry_layer`] says.
    pub(crate) async fn connect(&self) -> Result<RpcClient, TransportError> {
        let builder = RpcClient::builder().layer(retry_layer());
        if self.is_websocket() {
            let secure = self.url.starts_with("wss://");
            let tls =
                secure.then(|| websocket_tls(self.ca.as_ref())).transpose().map_err(TransportErrorKind::custom)?;
            let auth = self.token.as_ref().map(BearerToken::authorization);
            return builder.pubsub(WsTlsConnect::new(&self.url, auth, tls)).await;
        }
        let url = self.url.parse().map_err(TransportErrorKind::custom)?;
        Ok(builder.http_with_client(self.http_client()?, url))
    }

    /// A reqwest client with the token as a default header and the CA among its roots (a custom
    /// client is how alloy's HTTP transport takes either).
    fn http_client(&self) -> Result<reqwest::Client, TransportError> {
        let mut builder = reqwest::Client::builder();
        if let Some(token) = &self.token {
            let mut value = reqwest::header::HeaderValue::from_str(&token.authorization().to_string())
                .map_err(TransportErrorKind::custom)?;
            value.set_sensitive(true);
            builder = builder.default_headers([(reqwest::header::AUTHORIZATION, value)].into_iter().collect());
        }
        if let Some(ca) = &self.ca {
            builder = builder.tls_certs_merge(
                ca.certs
                    .iter()
                    .map(|der| reqwest::Certificate::from_der(der))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(TransportErrorKind::custom)?,
            );
        }
        builder.build().map_err(TransportErrorKind::custom)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.url))
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &redact_url(&self.url))
            .field("ca", &self.ca)
            .field("token", &self.token)
            .finish()
    }
}
