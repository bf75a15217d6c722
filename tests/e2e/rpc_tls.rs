//! The RPC of a private chain as operators run it: TLS from a private CA, behind a gateway that
//! wants a token. Through the connection settings a user gives (`--rpc-ca-cert`,
//! `--rpc-bearer-token-file`, credentials in the URL), over https and wss, against a real
//! TLS-terminating proxy in front of anvil: what connects, and what the user reads when it does not.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use base64::Engine;
use ledgerops_chain::{ChainError, Client, Connection, ConnectionArgs, ConnectionFile, Endpoint};
use ledgerops_e2e::Chain;
use ledgerops_e2e::tls_proxy::{PrivateCa, TlsProxy};

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.test-token";

/// The endpoint a user's settings give for `url`.
fn endpoint(url: &str, ca: Option<PathBuf>, token_file: Option<PathBuf>) -> Endpoint {
    let args = ConnectionArgs {
        rpc_url: Some(url.into()),
        rpc_ca_cert: ca,
        rpc_bearer_token_file: token_file,
        ..Default::default()
    };
    Connection::resolve(&args, ConnectionFile::default()).expect("valid settings").rpc
}

/// What connecting to the registry through `endpoint` says: `Ok(chain id)` or the error's text.
async fn connect(chain: &Chain, endpoint: &Endpoint) -> Result<u64, String> {
    match Client::connect(endpoint, *chain.registry.address(), None).await {
        Ok(client) => Ok(client.chain_id),
        Err(e @ ChainError::Unreachable { .. }) => Err(e.to_string()),
        Err(other) => panic!("not an unreachable RPC: {other}"),
    }
}

/// anvil with a registry, and a TLS proxy in front of it whose certificate a CA made in `dir`
/// signed, wanting `authorization` (the whole header value) when one is given.
struct Gateway {
    chain: Chain,
    ca: PrivateCa,
    proxy: TlsProxy,
    dir: tempfile::TempDir,
}

async fn gateway(authorization: Option<&str>) -> eyre::Result<Gateway> {
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let ca = PrivateCa::new(dir.path());
    let anvil = ([127, 0, 0, 1], chain.anvil.port()).into();
    let proxy = TlsProxy::start(&ca, anvil, authorization).await;
    Ok(Gateway { chain, ca, proxy, dir })
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_given() -> eyre::Result<()> {
    let Gateway { chain, ca, proxy, dir: _dir } = gateway(None).await?;

    for scheme in ["https", "wss"] {
        let refused = connect(&chain, &endpoint(&proxy.url(scheme), None, None)).await.expect_err("unknown CA");
        assert!(refused.contains(&format!("cannot reach the RPC at {scheme}://localhost:")), "{refused}");
        assert!(refused.contains("invalid peer certificate: UnknownIssuer"), "{refused}");
        assert!(
            refused.contains("not signed by a CA this machine trusts: give its CA with --rpc-ca-cert"),
            "{refused}"
        );

        let trusted = endpoint(&proxy.url(scheme), Some(ca.ca_file.clone()), None);
        assert_eq!(connect(&chain, &trusted).await, Ok(31337), "{scheme} with --rpc-ca-cert");
    }
    Ok(())
}

#[tokio::test]
async fn a_gateway_wanting_a_token_gets_it_on_requests_and_on_the_websocket_handshake() -> eyre::Result<()> {
    let Gateway { chain, ca, proxy, dir } = gateway(Some(&format!("Bearer {TOKEN}"))).await?;
    let token_file = dir.path().join("rpc-token");
    std::fs::write(&token_file, format!("{TOKEN}\n"))?;
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;

    for scheme in ["https", "wss"] {
        let without = endpoint(&proxy.url(scheme), Some(ca.ca_file.clone()), None);
        let refused = connect(&chain, &without).await.expect_err("no token");
        assert!(refused.contains("401"), "{refused}");
        assert!(!refused.contains('\n'), "one line: {refused}");
        assert!(refused.contains("the RPC refused the request as unauthorized"), "{refused}");

        let with = endpoint(&proxy.url(scheme), Some(ca.ca_file.clone()), Some(token_file.clone()));
        assert_eq!(connect(&chain, &with).await, Ok(31337), "{scheme} with --rpc-bearer-token-file");
        assert!(!format!("{with:?} {with}").contains(TOKEN), "the token is never shown");
    }
    Ok(())
}

#[tokio::test]
async fn credentials_in_the_url_are_sent_as_basic_auth_and_never_shown() -> eyre::Result<()> {
    let basic = base64::engine::general_purpose::STANDARD.encode("ci:pa55word");
    let Gateway { chain, ca, proxy, dir: _dir } = gateway(Some(&format!("Basic {basic}"))).await?;
    let port = proxy.addr.port();

    for scheme in ["https", "wss"] {
        let url = format!("{scheme}://ci:pa55word@localhost:{port}/?apikey=s3cret");
        let works = endpoint(&url, Some(ca.ca_file.clone()), None);
        assert_eq!(connect(&chain, &works).await, Ok(31337), "{scheme}: user info as basic auth");
        assert_eq!(works.to_string(), format!("{scheme}://ci:***@localhost:{port}/?apikey=***"));

        // Without the CA the connection fails, and the error shows the URL redacted.
        let refused = connect(&chain, &endpoint(&url, None, None)).await.expect_err("unknown CA");
        assert!(refused.contains(&format!("{scheme}://ci:***@localhost:{port}/?apikey=***")), "{refused}");
        assert!(!refused.contains("pa55word") && !refused.contains("s3cret"), "{refused}");
    }
    // Nothing listens: reqwest's error quotes the URL it was sending to, without its user info.
    let url = format!(
        "http://ci:pa55word@127.0.0.1:{}/v3/0123456789abcdef0123456789abcdef?apikey=s3cret",
        ledgerops_e2e::free_port()
    );
    let refused = connect(&chain, &endpoint(&url, None, None)).await.expect_err("nothing listens");
    assert!(
        !refused.contains("pa55word") && !refused.contains("s3cret") && !refused.contains("0123456789abcdef"),
        "{refused}"
    );
    assert!(refused.contains("/v3/***?apikey=***"), "{refused}");
    Ok(())
}
