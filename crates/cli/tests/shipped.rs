//! The CLI as pipelines get it: the `ledgerops/cli` image that `scripts/release` builds (scripts/test
//! runs it first), run as the GitHub Action in `action.yml` runs it: the repository mounted as the
//! working directory, the key and the registry from the environment. It runs as a user of its
//! own, not root, which reads the checkout as any other user of the runner would.

mod world;

use std::process::{Command, Output};

use world::{DEPLOYER, IMAGE, World, code, stderr};

/// `docker run` of the CLI image in `dir`, on the host's network (the chain is on loopback).
fn in_image(w: &World, env: &[(&str, String)], args: &[&str]) -> Output {
    let image = format!("ledgerops/cli:{}", env!("CARGO_PKG_VERSION"));
    let present = Command::new("docker").args(["image", "inspect", &image]).output().expect("docker runs");
    assert!(present.status.success(), "{image} is missing: scripts/release builds it (scripts/test runs it first)");
    let mut run = Command::new("docker");
    run.args(["run", "--rm", "--network", "host", "-v"])
        .arg(format!("{}:/github/workspace", w.dir.path().display()))
        .args(["-w", "/github/workspace"]);
    for (key, value) in env {
        run.args(["-e", &format!("{key}={value}")]);
    }
    run.arg(&image).args(args).output().expect("docker run works")
}

#[tokio::test]
async fn the_cli_image_applies_a_stack_file_from_the_mounted_workspace() {
    let w = World::new().await;
    w.set_up();
    let image = format!("ledgerops/cli:{}", env!("CARGO_PKG_VERSION"));
    let user = Command::new("docker").args(["image", "inspect", "--format", "{{.Config.User}}", &image]).output();
    let user = String::from_utf8_lossy(&user.expect("docker runs").stdout).trim().to_owned();
    assert_eq!(user, "65532:65532", "the image runs as a user of its own, not root");
    let stack = format!("services:\n  web:\n    image: {IMAGE}\n    deploy: {{replicas: 2}}\n");
    std::fs::write(w.dir.path().join("stack.yml"), stack).expect("write");
    // A checkout as runners make it: readable by other users, as the image's is.
    std::fs::set_permissions(w.dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let env = [
        ("LEDGEROPS_RPC_URL", w.chain.anvil.endpoint()),
        ("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string()),
        ("LEDGEROPS_PRIVATE_KEY", w.key(DEPLOYER)),
    ];
    let applied = in_image(&w, &env, &["--json", "apply", "-f", "stack.yml", "--namespace", "prod"]);
    assert_eq!(code(&applied), Some(0), "{}", stderr(&applied));
    let doc: serde_json::Value = serde_json::from_slice(&applied.stdout).expect("one JSON document");
    assert_eq!(doc["services"][0]["service"], "prod/web", "{doc}");
    assert_eq!(
        (doc["services"][0]["action"].as_str(), doc["services"][0]["revision"].as_u64()),
        (Some("create"), Some(1))
    );

    // The same ledger, read by the binary built with the tests.
    let status = w.json(DEPLOYER, &["status", "prod"]);
    let web = &status["services"][0];
    assert_eq!((web["active_revision"].as_u64(), web["replicas"].as_u64()), (Some(1), Some(2)), "{status}");
    // Errors come out of the image with the CLI's exit codes: 2 for a file it cannot read.
    let missing = in_image(&w, &env, &["apply", "-f", "nowhere.yml", "--namespace", "prod"]);
    assert_eq!(code(&missing), Some(2), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("cannot read nowhere.yml"), "{}", stderr(&missing));
}
