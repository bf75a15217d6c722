//! A WebSocket connection with our own TLS settings. alloy's `WsConnect` (2.5) connects with
//! tokio-tungstenite's built-in webpki roots and takes no TLS settings (alloy issue 3790, PR 4149
//! open), so a private CA cannot be trusted through it. This is its `connect` with a TLS
//! connector: the handshake request is still alloy's (the URL's user info as basic auth, or the
//! token), and the connection is still alloy's backend, through its public `WsBackend::from_socket`.

use std::sync::Arc;
use std::time::Duration;

use alloy::pubsub::{ConnectionHandle, PubSubConnect};
use alloy::transports::ws::{WsBackend, WsConnect};
use alloy::transports::{Authorization, TransportErrorKind, TransportResult};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Pings when the connection is idle this long: alloy's default.
const KEEPALIVE: Duration = Duration::from_secs(10);

/// Connection details of a WebSocket endpoint, reconnecting as alloy's own does.
#[derive(Clone)]
pub(crate) struct WsTlsConnect {
    request: WsConnect,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl WsTlsConnect {
    /// `url`, with `auth` instead of the URL's own credentials when given, over `tls` (given for
    /// `wss://`, unused for `ws://`).
    pub(crate) fn new(url: &str, auth: Option<Authorization>, tls: Option<rustls::ClientConfig>) -> Self {
        let request = WsConnect::new(url);
        let request = match auth {
            Some(auth) => request.with_auth(auth),
            None => request,
        };
        Self { request, tls: tls.map(Arc::new) }
    }
}

impl PubSubConnect for WsTlsConnect {
    fn is_local(&self) -> bool {
        self.request.is_local()
    }

    async fn connect(&self) -> TransportResult<ConnectionHandle> {
        let request = self.request.clone().into_client_request().map_err(TransportErrorKind::custom)?;
        let connector = self.tls.clone().map(Connector::Rustls);
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector)
            .await
            .map_err(TransportErrorKind::custom)?;
        let (handle, interface) = ConnectionHandle::new();
        WsBackend::from_socket(socket, interface, KEEPALIVE).spawn();
        Ok(handle)
    }
}
