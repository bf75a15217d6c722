//! An engine that takes the connection and never answers: every request the node makes is
//! bounded, and the error says which request and what the bound was.

use std::time::Duration;

use ledgerops_swarm::{Error, Swarm};

#[tokio::test]
async fn a_socket_that_never_answers_is_reported_hung_within_the_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("docker.sock");
    // Bound but never accepted: the kernel completes the connection, nobody reads the request.
    let _listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let registry = "1/0x5fbdb2315678afecb367f032d93f642f64180aa3".parse().expect("a registry");
    let error = Swarm::connect_socket(path.to_str().expect("utf-8"), Duration::from_millis(500), registry)
        .await
        .expect_err("nothing answers");
    assert!(matches!(error, Error::Hung { request: "version", .. }), "{error:?}");
    assert!(error.is_transient(), "a hung engine is tried again");
    assert_eq!(
        error.to_string(),
        "Docker did not answer `version` within 0.5s: the engine may be wedged (docs/reliability.md)"
    );
}
