//! Settings are checked at start: a bad one is named, with exit code 2, before anything runs;
//! a registry on another chain stops the node with exit code 1.

use std::process::Command;

use ledgerops_e2e::Chain;

fn node(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
        .args(args)
        .env_remove("LEDGEROPS_REGISTRY")
        .env_remove("LEDGEROPS_SITE")
        .env_remove("LEDGEROPS_PRIVATE_KEY")
        .output()
        .expect("ledgerops-node runs")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_settings_are_named_with_exit_code_2() {
    let registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let witness = ["--registry", registry, "--site", "a", "--witness-rpc-url", "http://127.0.0.1:9"];
    let cases: [(&[&str], &str); 8] = [
        (&["--site", "a"], "no registry address"),
        (&[&witness[..], &["--rpc-quorum", "3"]].concat(), "rpc_quorum 3: between 1 and the 2 endpoint(s)"),
        (&[&witness[..], &["--rpc-quorum", "0"]].concat(), "rpc_quorum 0"),
        (&["--registry", registry, "--site", "a", "--witness-rpc-url", "127.0.0.1:9"], "witness RPC \"127.0.0.1:9\""),
        (&["--registry", registry], "no site"),
        (&["--registry", registry, "--site", "Bad Site"], "site \"Bad Site\""),
        (&["--registry", registry, "--site", "a", "--rpc-url", "localhost:8545"], "not an http(s):// or ws(s):// URL"),
        (&["--registry", registry, "--site", "a", "--private-key", "0x12"], "not 32 bytes of hex"),
    ];
    for (args, named) in cases {
        let out = node(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(named), "{args:?}: {}", stderr(&out));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("node.toml");
    std::fs::write(&file, "registry = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\nresync = \"often\"\n")
        .expect("write");
    let out = node(&["--config", file.to_str().expect("utf-8"), "--site", "a"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("resync = \"often\""), "{}", stderr(&out));
}

#[tokio::test]
async fn a_registry_on_another_chain_stops_the_node() {
    let chain = Chain::start().await.expect("anvil and a registry");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = node(&[
        "--rpc-url",
        &chain.anvil.endpoint(),
        "--registry",
        &chain.registry.address().to_string(),
        "--chain-id",
        "1",
        "--site",
        "a",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("serves chain 31337, not the expected chain 1"), "{}", stderr(&out));
}
