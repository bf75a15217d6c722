//! The `ledgerops` binary against a real anvil: every command, the `--json` documents, every
//! documented exit code, and what a user sees on each kind of failure.

mod world;

use std::path::Path;
use std::process::Command;

use alloy::primitives::B256;
use alloy::providers::Provider;
use ledgerops_e2e::tls_proxy::{PrivateCa, TlsProxy};
use serde_json::Value;
use world::{ADMIN, DEPLOYER, IMAGE, NODES, World, code, stderr};

#[tokio::test]
async fn deploy_diff_status_history_rollback_remove_and_audit() {
    let w = World::new().await;
    w.set_up();

    let deploy = [
        "deploy",
        "prod/web",
        "--image",
        IMAGE,
        "--replicas",
        "2",
        "--env",
        "MODE=prod",
        "--port",
        "8080:80",
        "--site",
        "site-a",
    ];
    let first = w.json(DEPLOYER, &deploy);
    assert_eq!(first["revision"], 1);
    assert!(first["gas"].as_u64().expect("gas") > 21_000 && first["tx"].is_string() && first["block"].is_u64());

    // The same spec again: no transaction, same revision.
    let again = w.json(DEPLOYER, &deploy);
    assert_eq!((again["result"].as_str(), again["revision"].as_u64()), (Some("unchanged"), Some(1)));

    // diff: exit 0 without change, 1 with the changed fields listed.
    let mut diff = deploy.to_vec();
    diff[0] = "diff";
    assert_eq!(code(&w.run(DEPLOYER, &diff)), Some(0));
    let mut changed = diff.clone();
    changed.extend(["--env", "NEW=1"]);
    changed[5] = "3";
    let out = w.run(DEPLOYER, &[&["--json"], changed.as_slice()].concat());
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let fields: Vec<_> =
        doc["changes"].as_array().expect("changes").iter().map(|c| c["field"].as_str().expect("field")).collect();
    assert_eq!((doc["action"].as_str(), fields), (Some("update"), vec!["env.NEW", "replicas"]));

    let mut second = deploy.to_vec();
    second[5] = "3";
    assert_eq!(w.json(DEPLOYER, &second)["revision"], 2);

    let status = w.json(DEPLOYER, &["status", "prod/web"]);
    // The same answer over a WebSocket endpoint.
    let ws = w
        .command(&["--json", "status", "prod/web", "--rpc-url", &w.chain.anvil.ws_endpoint()])
        .env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string())
        .output()
        .expect("runs");
    assert_eq!(code(&ws), Some(0), "{}", stderr(&ws));
    assert_eq!(serde_json::from_slice::<Value>(&ws.stdout).expect("json"), status);
    let svc = &status["services"][0];
    assert_eq!(
        (svc["active_revision"].as_u64(), svc["replicas"].as_u64(), svc["eligible_nodes"].as_u64()),
        (Some(2), Some(3), Some(2))
    );
    assert_eq!(svc["sites"][0], "site-a");
    assert_eq!(svc["body"]["env"]["MODE"], "prod");

    let rolled = w.json(DEPLOYER, &["rollback", "prod/web"]);
    assert_eq!((rolled["revision"].as_u64(), rolled["from"].as_u64()), (Some(1), Some(2)));
    w.json(DEPLOYER, &["remove", "prod/web"]);

    let history = w.json(DEPLOYER, &["history", "prod/web"]);
    let changes: Vec<_> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["change"].as_str().expect("change").to_owned())
        .collect();
    assert_eq!(changes, ["published", "published", "rolled back from 2", "removed"]);
    assert_eq!(history["history"][0]["actor"].as_str().map(str::parse), Some(Ok(w.chain.account(DEPLOYER))));

    let verified = w.json(ADMIN, &["audit", "verify"]);
    let seq = w.chain.registry.auditHead().call().await.expect("head").seq;
    assert_eq!((verified["result"].as_str(), verified["seq"].as_u64()), (Some("verified"), Some(seq)));
    let export = w.run(ADMIN, &["audit", "export", "--format", "jsonl"]);
    let lines: Vec<Value> =
        String::from_utf8_lossy(&export.stdout).lines().map(|l| serde_json::from_str(l).expect("jsonl")).collect();
    assert_eq!(lines.len() as u64, seq);
    assert_eq!(lines.last().map(|l| l["event"].clone()), Some(Value::from("ServiceRemoved")));
}

#[tokio::test]
async fn each_failure_has_its_exit_code_and_a_message_naming_it() {
    let w = World::new().await;
    w.set_up();
    let deploy = ["deploy", "prod/web", "--image", IMAGE, "--site", "site-a"];

    // 2: refused before any transaction.
    let tagged = w.run(DEPLOYER, &["deploy", "prod/web", "--image", "nginx:1.27", "--resolve-image", "never"]);
    assert_eq!(code(&tagged), Some(2));
    assert!(stderr(&tagged).contains("not pinned by digest"), "{}", stderr(&tagged));
    for bad in [["--env", "NOEQUALS"], ["--port", "99999"], ["--memory", "lots"], ["--site", "Site A"]] {
        let out = w.run(DEPLOYER, &[&deploy[..], &bad[..]].concat());
        assert_eq!(code(&out), Some(2), "{bad:?}: {}", stderr(&out));
    }
    let no_registry = w.command(&["status"]).output().expect("runs");
    assert_eq!(code(&no_registry), Some(2));
    assert!(stderr(&no_registry).contains("no registry address"));

    // 3: the registry refuses, with the error, its arguments and a hint.
    let stranger = w.run(9, &deploy);
    assert_eq!(code(&stranger), Some(3));
    assert!(stderr(&stranger).contains("AccessControlUnauthorizedAccount"), "{}", stderr(&stranger));
    w.json(ADMIN, &["namespace", "freeze", "prod"]);
    let frozen = w.run(DEPLOYER, &deploy);
    assert_eq!(code(&frozen), Some(3));
    assert!(
        stderr(&frozen).contains(r#"NamespaceFrozen { namespace: "prod" }"#) && stderr(&frozen).contains("unfreeze")
    );
    w.json(ADMIN, &["namespace", "unfreeze", "prod"]);

    // 4: nothing answers, or no registry there.
    let down = w
        .command(&["status", "--rpc-url", "http://127.0.0.1:9", "--registry", &w.chain.registry.address().to_string()])
        .output()
        .expect("runs");
    assert_eq!(code(&down), Some(4));
    assert!(stderr(&down).contains("cannot reach the RPC at http://127.0.0.1:9"));
    let empty =
        w.command(&["status", "--registry", "0x000000000000000000000000000000000000dEaD"]).output().expect("runs");
    assert_eq!(code(&empty), Some(4));
    assert!(stderr(&empty).contains("no contract at"));
    let wrong_chain = w.run(DEPLOYER, &["status", "--chain-id", "1"]);
    assert_eq!(code(&wrong_chain), Some(4));
    assert!(stderr(&wrong_chain).contains("serves chain 31337, not the expected chain 1"), "{}", stderr(&wrong_chain));

    // 4: the chain asks more per gas than --max-fee (anvil asks about a gwei); nothing is sent.
    let block = w.chain.registry.provider().get_block_number().await.expect("block");
    let dear = w.run(ADMIN, &["namespace", "create", "staging", "--max-fee", "1000wei"]);
    assert_eq!(code(&dear), Some(4), "{}", stderr(&dear));
    assert!(stderr(&dear).contains("above --max-fee 1000 wei: nothing was sent"), "{}", stderr(&dear));
    assert_eq!(w.chain.registry.provider().get_block_number().await.expect("block"), block, "no block mined");
    let bad = w.run(ADMIN, &["namespace", "create", "staging", "--max-fee", "cheap"]);
    assert_eq!(code(&bad), Some(2), "{}", stderr(&bad));

    // 7: the stored head no longer matches the events.
    let provider = w.chain.registry.provider();
    let slot = (w.chain.registry.address().to_string(), ledgerops_e2e::AUDIT_SLOT, B256::repeat_byte(0xab));
    provider.raw_request::<_, bool>("anvil_setStorageAt".into(), slot).await.expect("set storage");
    let audit = w.run(ADMIN, &["audit", "verify"]);
    assert_eq!(code(&audit), Some(7), "{}", stderr(&audit));
}

#[tokio::test]
async fn wait_succeeds_on_convergence_and_fails_on_a_failure_a_rollback_or_the_timeout() {
    let w = World::new().await;
    w.set_up();
    let deploy = ["deploy", "prod/web", "--image", IMAGE, "--site", "site-a"];
    w.json(DEPLOYER, &deploy);

    // 6: nobody reported yet.
    let timeout = w.run(DEPLOYER, &["wait", "prod/web", "--timeout", "2s"]);
    assert_eq!(code(&timeout), Some(6));
    assert!(stderr(&timeout).contains("not converged on every node after 2s"));

    // 0: both site-a nodes converged (site-b's node does not serve it).
    w.attest(NODES[0], 1, "site-a", 1, "").await;
    w.attest(NODES[1], 1, "site-a", 1, "").await;
    let done = w.json(DEPLOYER, &["wait", "prod/web", "--timeout", "10s"]);
    assert_eq!((done["revision"].as_u64(), done["nodes"].as_u64()), (Some(1), Some(2)));

    // 5: a node reports failure on revision 2.
    w.json(DEPLOYER, &[&deploy[..], &["--replicas", "2"]].concat());
    w.attest(NODES[0], 2, "site-a", 2, "task exited with code 3").await;
    let failed = w.run(DEPLOYER, &["wait", "prod/web", "--timeout", "10s"]);
    assert_eq!(code(&failed), Some(5));
    assert!(stderr(&failed).contains("reported failed: task exited with code 3"), "{}", stderr(&failed));

    // 5: revision 3 is rolled back on chain while we wait for it.
    w.json(DEPLOYER, &[&deploy[..], &["--replicas", "3"]].concat());
    w.json(DEPLOYER, &["rollback", "prod/web"]);
    let rolled = w.run(DEPLOYER, &["wait", "prod/web", "--revision", "3", "--timeout", "10s"]);
    assert_eq!(code(&rolled), Some(5));
    assert!(stderr(&rolled).contains("no longer active: rolled back from 3"), "{}", stderr(&rolled));

    // 5, at once: a newer revision superseded the one waited for.
    w.json(DEPLOYER, &[&deploy[..], &["--replicas", "4"]].concat());
    let superseded = w.run(DEPLOYER, &["wait", "prod/web", "--revision", "3", "--timeout", "1m"]);
    assert_eq!(code(&superseded), Some(5));
    assert!(stderr(&superseded).contains("superseded by revision 4"), "{}", stderr(&superseded));
}

/// A rollback that makes a revision active again starts a new activation: what a node said of
/// that revision before (converged, or failed) is not what it runs now, and `wait` waits for the
/// node to report on this activation.
#[tokio::test]
async fn wait_counts_only_what_nodes_reported_since_the_revision_became_active_again() {
    let w = World::new().await;
    w.set_up();
    let deploy = ["deploy", "prod/web", "--image", IMAGE, "--site", "site-b"];
    let (node, site) = (NODES[2], "site-b");
    w.json(DEPLOYER, &deploy);
    w.attest(node, 1, site, 1, "").await;
    w.json(DEPLOYER, &["wait", "prod/web", "--timeout", "10s"]);

    // Revision 2 comes and goes before the node reports on it; revision 1 is active again.
    w.json(DEPLOYER, &[&deploy[..], &["--replicas", "2"]].concat());
    w.json(DEPLOYER, &["rollback", "prod/web"]);
    let stale = w.run(DEPLOYER, &["wait", "prod/web", "--timeout", "2s"]);
    assert_eq!(code(&stale), Some(6), "the converged report predates the rollback: {}", stderr(&stale));
    let status = w.json(DEPLOYER, &["status", "prod/web"]);
    assert_eq!(status["services"][0]["active_revision"], 1);
    // The node can report on the new activation, although its last report was the same.
    w.attest(node, 1, site, 1, "").await;
    let done = w.json(DEPLOYER, &["wait", "prod/web", "--timeout", "10s"]);
    assert_eq!((done["revision"].as_u64(), done["nodes"].as_u64()), (Some(1), Some(1)));

    // Revision 3 fails on the node; it is rolled back, then made active again by hand.
    w.json(DEPLOYER, &[&deploy[..], &["--replicas", "3"]].concat());
    w.attest(node, 3, site, 2, "task exited with code 3").await;
    w.json(DEPLOYER, &["rollback", "prod/web"]);
    // rollback --wait waits as deploy --wait does: for reports on this activation.
    let again = w.run(DEPLOYER, &["--json", "rollback", "prod/web", "--to", "3", "--wait", "--timeout", "2s"]);
    assert_eq!(code(&again), Some(6), "the failure was of the earlier activation: {}", stderr(&again));
    let doc: Value = serde_json::from_slice(&again.stdout).expect("one JSON document");
    assert_eq!((doc["revision"].as_u64(), doc["from"].as_u64()), (Some(3), Some(1)), "what was sent: {doc}");
    w.attest(node, 3, site, 1, "").await;
    let done = w.json(DEPLOYER, &["wait", "prod/web", "--timeout", "10s"]);
    assert_eq!((done["revision"].as_u64(), done["nodes"].as_u64()), (Some(3), Some(1)));
}

#[tokio::test]
async fn registry_deploy_keystore_config_file_and_keys_never_printed() {
    let w = World::new().await;

    // registry deploy prints an address with code behind it.
    let deployed = w.json(ADMIN, &["registry", "deploy"]);
    let address: alloy::primitives::Address = deployed["registry"].as_str().expect("address").parse().expect("valid");
    let provider = w.chain.registry.provider();
    assert!(!provider.get_code_at(address).await.expect("code").is_empty());
    assert_eq!(deployed["admin"].as_str().map(str::parse), Some(Ok(w.chain.account(ADMIN))));

    // A keystore written by cast, named in a config file; a flag still wins over the file.
    let keystores = w.dir.path().join("keys");
    std::fs::create_dir(&keystores).expect("dir");
    let cast = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
    let made = Command::new(&cast)
        .args([
            "wallet",
            "import",
            "ci",
            "--private-key",
            &w.key(ADMIN),
            "--unsafe-password",
            "hunter2",
            "--keystore-dir",
        ])
        .arg(&keystores)
        .output()
        .expect("cast runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    std::fs::write(w.dir.path().join("pw"), "hunter2\n").expect("write");
    // Key files other users can read are refused, naming the fix; once private, they are used.
    let private = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).expect("chmod");
    };
    private(&keystores.join("ci"), 0o600);
    private(&w.dir.path().join("pw"), 0o644);
    let keystore_flags = ["--keystore", "keys/ci", "--password-file", "pw", "status"];
    let exposed = w.command(&keystore_flags).output().expect("runs");
    assert_eq!(code(&exposed), Some(2));
    assert!(stderr(&exposed).contains("pw is open to other users (mode 644): chmod 600"), "{}", stderr(&exposed));
    private(&w.dir.path().join("pw"), 0o600);
    let both = w.command(&keystore_flags).env("LEDGEROPS_PRIVATE_KEY", w.key(ADMIN)).output().expect("runs");
    assert_eq!(code(&both), Some(2), "a raw key and a keystore together: {}", stderr(&both));
    let config = format!(
        "rpc_url = \"http://127.0.0.1:9\"\nregistry = \"{}\"\nkeystore = \"keys/ci\"\npassword_file = \"pw\"\n",
        w.chain.registry.address()
    );
    std::fs::write(w.dir.path().join("ledgerops.toml"), config).expect("write");
    let from_file =
        w.command(&["--json", "--config", "ledgerops.toml", "namespace", "create", "staging"]).output().expect("runs");
    assert_eq!(code(&from_file), Some(0), "LEDGEROPS_RPC_URL overrides the file's: {}", stderr(&from_file));
    let only_file = w
        .command(&["namespace", "create", "qa"])
        .env("LEDGEROPS_CONFIG", "ledgerops.toml")
        .env_remove("LEDGEROPS_RPC_URL")
        .output()
        .expect("runs");
    assert_eq!(code(&only_file), Some(4), "the file's unreachable rpc_url is used: {}", stderr(&only_file));

    // A key is never echoed: not on success, not when it is malformed.
    let key = w.key(ADMIN);
    let ok = w.run(ADMIN, &["namespace", "create", "dev"]);
    let bad = w.command(&["status", "--private-key", "0x1234deadbeef"]).output().expect("runs");
    assert_eq!(code(&bad), Some(2));
    for out in [&ok, &bad, &from_file] {
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out));
        assert!(!all.contains(&key[2..]) && !all.contains("1234deadbeef"), "a key leaked: {all}");
    }
}

#[tokio::test]
async fn admin_commands_change_the_registry_as_they_say() {
    let w = World::new().await;
    w.set_up();
    let registry = &w.chain.registry;

    let quorum = w.json(ADMIN, &["quorum", "set", "66.67"]);
    assert_eq!(quorum["quorum_bps"], 6667);
    assert_eq!(registry.quorumBps().call().await.expect("quorum"), 6667);
    assert_eq!(code(&w.run(ADMIN, &["quorum", "set", "100"])), Some(2), "a quorum of 100% can never be met");

    w.json(ADMIN, &["namespace", "limits", "prod", "--max-replicas", "7", "--max-spec-bytes", "2048"]);
    let info = registry.namespaceInfo("prod".into()).call().await.expect("namespace");
    assert_eq!((info.maxReplicas, info.maxSpecBytes), (7, 2048));

    let node = w.chain.account(NODES[2]).to_string();
    w.json(ADMIN, &["node", "remove", &node]);
    assert_eq!(registry.nodeCount().call().await.expect("count"), 2);
    assert_eq!(code(&w.run(ADMIN, &["node", "remove", &node])), Some(3), "UnknownNode");

    // A revoked deployer is refused by the chain, with the role named.
    let deployer = w.chain.account(DEPLOYER).to_string();
    w.json(ADMIN, &["deployer", "revoke", "prod", &deployer]);
    let refused = w.run(DEPLOYER, &["deploy", "prod/web", "--image", IMAGE]);
    assert_eq!(code(&refused), Some(3));
    assert!(stderr(&refused).contains("AccessControlUnauthorizedAccount"), "{}", stderr(&refused));

    // A config file in the working directory is read only when named (in CI, a pull request could
    // otherwise point the deploy elsewhere); the expected chain id from a named one refuses a
    // wrong chain before anything is sent.
    std::fs::write(w.dir.path().join("ledgerops.toml"), "chain_id = 10\n").expect("write");
    let unnamed = w.run(ADMIN, &["status"]);
    assert_eq!(code(&unnamed), Some(0), "{}", stderr(&unnamed));
    assert!(stderr(&unnamed).contains("warning: ignoring ./ledgerops.toml"), "{}", stderr(&unnamed));
    let wrong = w.run(ADMIN, &["--config", "ledgerops.toml", "namespace", "create", "qa"]);
    assert_eq!(code(&wrong), Some(4));
    assert!(stderr(&wrong).contains("not the expected chain 10"), "{}", stderr(&wrong));
    assert!(!registry.namespaceInfo("qa".into()).call().await.expect("namespace").exists);
}

/// A private chain's RPC behind TLS from a private CA and a gateway that wants a token: what a CI
/// job sees without the CA, without the token, with both, and with credentials in its URL.
#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_and_a_bearer_token_reach_an_rpc_behind_a_tls_gateway() {
    let w = World::new().await;
    let ca = PrivateCa::new(w.dir.path());
    let anvil = std::net::SocketAddr::from(([127, 0, 0, 1], w.chain.anvil.port()));
    let proxy = TlsProxy::start(&ca, anvil, Some("Bearer ci-t0ken")).await;
    let ca_file = ca.ca_file.to_str().expect("utf-8 path");
    let status = |url: &str, extra: &[&str], token: Option<&str>| {
        let mut command = w.command(&[&["status", "--rpc-url", url], extra].concat());
        command.env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string());
        match token {
            Some(token) => command.env("LEDGEROPS_RPC_BEARER_TOKEN", token),
            None => command.env_remove("LEDGEROPS_RPC_BEARER_TOKEN"),
        };
        command.output().expect("ledgerops runs")
    };

    let unknown_ca = status(&proxy.url("https"), &[], Some("ci-t0ken"));
    assert_eq!(code(&unknown_ca), Some(4), "{}", stderr(&unknown_ca));
    assert!(stderr(&unknown_ca).contains("give its CA with --rpc-ca-cert"), "{}", stderr(&unknown_ca));

    let no_token = status(&proxy.url("wss"), &["--rpc-ca-cert", ca_file], None);
    assert_eq!(code(&no_token), Some(4), "{}", stderr(&no_token));
    assert!(stderr(&no_token).contains("401 Unauthorized (the RPC refused the request as unauthorized"));

    for scheme in ["https", "wss"] {
        let works = status(&proxy.url(scheme), &["--rpc-ca-cert", ca_file], Some("ci-t0ken"));
        assert_eq!(code(&works), Some(0), "{scheme}: {}", stderr(&works));
    }

    let missing = status(&proxy.url("https"), &["--rpc-ca-cert", "no-such-ca.pem"], None);
    assert_eq!(code(&missing), Some(2), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("--rpc-ca-cert: cannot read PEM certificates from no-such-ca.pem"));

    let secret_url = format!("https://ci:pa55word@localhost:{}/?apikey=s3cret", proxy.addr.port());
    let redacted = status(&secret_url, &[], None);
    assert_eq!(code(&redacted), Some(4), "{}", stderr(&redacted));
    let shown = stderr(&redacted);
    assert!(shown.contains(&format!("https://ci:***@localhost:{}/?apikey=***", proxy.addr.port())), "{shown}");
    assert!(!shown.contains("pa55word") && !shown.contains("s3cret"), "{shown}");
}
