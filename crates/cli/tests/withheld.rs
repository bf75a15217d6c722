//! Nothing of the pipeline reaches the ledger unless handed over, against a real anvil: the
//! security review's exploits (the host's `/` through a volume's options, the deployer's key
//! interpolated from the environment, a file beside the checkout published as a config) and the
//! other routes to the same leaks are each refused before anything is sent, naming the fix and
//! never the secret.

mod world;

use std::path::Path;
use std::process::Command;

use alloy::providers::Provider;
use world::{DEPLOYER, IMAGE, World, code, stderr};

/// The deployer's keystore password in the tests: long enough to be looked for inside fields.
const PASSWORD: &str = "correct-horse-battery";

/// `w.dir/repo` (the checkout, where stack files live) and, beside it, the deployer's keystore
/// and its password, written as the Actions example used to write them: the password is what a
/// stack file must not reach.
fn checkout(w: &World) -> std::path::PathBuf {
    let repo = w.dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let cast = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
    let made = Command::new(&cast)
        .args(["wallet", "import", "deployer", "--private-key", &w.key(DEPLOYER), "--unsafe-password", PASSWORD])
        .arg("--keystore-dir")
        .arg(w.dir.path())
        .output()
        .expect("cast runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    for (file, text) in [("deployer", None), ("deployer.pw", Some(format!("{PASSWORD}\n")))] {
        let path = w.dir.path().join(file);
        if let Some(text) = text {
            std::fs::write(&path, text).expect("write");
        }
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    }
    repo
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[tokio::test]
async fn nothing_of_the_pipeline_reaches_the_ledger_unless_handed_over() {
    let w = World::new().await;
    w.set_up();
    let repo = checkout(&w);
    let start = w.chain.registry.provider().get_block_number().await.expect("block");
    let key = w.key(DEPLOYER);
    // As a pipeline signs: with the keystore and its password file, or with the raw key in the
    // environment (what a stack file could reach for).
    let keystore = w.dir.path().join("deployer").display().to_string();
    let password = w.dir.path().join("deployer.pw").display().to_string();
    let apply = |file: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["apply", "-f", file, "--namespace", "prod"];
        if !env.iter().any(|(name, _)| *name == "LEDGEROPS_PRIVATE_KEY") {
            args.extend(["--keystore", keystore.as_str(), "--password-file", password.as_str()]);
        }
        args.extend(extra);
        let mut command = w.command(&args);
        command.env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string()).envs(env.iter().copied());
        command.output().expect("runs")
    };
    let refused = |out: &std::process::Output, words: &str| {
        assert_eq!(code(out), Some(2), "{}", stderr(out));
        assert!(stderr(out).contains(words), "{words:?} in:\n{}", stderr(out));
        for secret in [key.as_str(), &key[2..], PASSWORD] {
            assert!(!stderr(out).contains(secret), "a secret in the error:\n{}", stderr(out));
        }
    };

    // 1. The host's / through a volume's driver options: a bind of / (which holds the socket).
    let hostroot = format!(
        "services:\n  web:\n    image: {IMAGE}\n    volumes: [hostroot:/host]\n\
         volumes:\n  hostroot:\n    driver_opts: {{type: none, o: bind, device: /}}\n"
    );
    let out = apply(&write(&repo, "hostroot.yml", &hostroot), &[], &[]);
    refused(&out, "mounts[0].driver_opts.device needs permission bind, which the namespace's policy does not allow");

    // 2. The deployer's key from the environment: LEDGEROPS_* is never substituted, however asked.
    let leak =
        format!("services:\n  web:\n    image: {IMAGE}\n    environment: {{K: \"${{LEDGEROPS_PRIVATE_KEY}}\"}}\n");
    let leak = write(&repo, "leak.yml", &leak);
    let key_env = [("LEDGEROPS_PRIVATE_KEY", key.as_str())];
    refused(&apply(&leak, &[], &key_env), "LEDGEROPS_* variables are ledgerops' own settings");
    refused(&apply(&leak, &["--var", "LEDGEROPS_PRIVATE_KEY"], &key_env), "never handed to a stack file");
    // Another variable holding it, handed over knowingly, or the key written out: the last look.
    let copy = format!("services:\n  web:\n    image: {IMAGE}\n    environment: {{K: \"${{DEPLOY_KEY}}\"}}\n");
    let copy = write(&repo, "copy.yml", &copy);
    let out = apply(&copy, &["--var", "DEPLOY_KEY"], &[("DEPLOY_KEY", &key[2..])]);
    refused(&out, "prod/web: env.K holds the signer's private key: published, it would be on the ledger for good");
    let mut deploy =
        w.command(&["deploy", "prod/web", "--image", IMAGE, "--env", &format!("K={}", key.to_uppercase())]);
    let out =
        deploy.env("LEDGEROPS_PRIVATE_KEY", &key).env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string());
    refused(&out.output().expect("runs"), "env.K holds the signer's private key");
    let token = format!("services:\n  web:\n    image: {IMAGE}\n    command: [run, --token, t0ken-for-the-rpc]\n");
    let out = apply(&write(&repo, "token.yml", &token), &[], &[("LEDGEROPS_RPC_BEARER_TOKEN", "t0ken-for-the-rpc")]);
    refused(&out, "args[2] holds the RPC's bearer token");
    // A variable the environment sets and the deployer did not hand over: refused, saying how.
    let tagged = write(&repo, "tagged.yml", "services:\n  web:\n    image: ${APP_IMAGE}\n");
    refused(&apply(&tagged, &[], &[("APP_IMAGE", IMAGE)]), "pass --var APP_IMAGE to hand it over");

    // 3. A file from beside the checkout, by `..`, by a symlink, as an env_file or by its absolute
    // path; and the password copied into the checkout, caught by the last look.
    std::os::unix::fs::symlink(w.dir.path().join("deployer.pw"), repo.join("pw")).expect("symlink");
    for (name, file) in [("dotdot", "../deployer.pw"), ("link", "pw"), ("absolute", password.as_str())] {
        let config =
            format!("services:\n  web:\n    image: {IMAGE}\n    configs: [c]\nconfigs:\n  c: {{file: {file}}}\n");
        let out = apply(&write(&repo, &format!("{name}.yml"), &config), &[], &[]);
        refused(&out, "configs.c.file: ");
        assert!(stderr(&out).contains("--project-dir"), "{}", stderr(&out));
    }
    let env_file = format!("services:\n  web:\n    image: {IMAGE}\n    env_file: ../deployer.pw\n");
    refused(&apply(&write(&repo, "env-file.yml", &env_file), &[], &[]), "services.web.env_file[0]: ");
    std::fs::write(repo.join("copied.txt"), format!("{PASSWORD}\n")).expect("write");
    let copied =
        format!("services:\n  web:\n    image: {IMAGE}\n    configs: [c]\nconfigs:\n  c: {{file: copied.txt}}\n");
    refused(&apply(&write(&repo, "copied.yml", &copied), &[], &[]), "configs[0].content holds the keystore's password");
    // An env_file line that cannot be read is named by its number, not shown.
    std::fs::write(repo.join("app.env"), format!("MODE=prod\n{key}\n")).expect("write");
    let bad_line = format!("services:\n  web:\n    image: {IMAGE}\n    env_file: app.env\n");
    refused(&apply(&write(&repo, "bad-line.yml", &bad_line), &[], &[]), "app.env, line 2: a variable without `=`");

    let head = w.chain.registry.provider().get_block_number().await.expect("block");
    assert_eq!(head, start, "nothing was sent");

    // Handed over on purpose, a variable and a file inside the project directory are published.
    std::fs::create_dir_all(w.dir.path().join("shared")).expect("mkdir");
    std::fs::write(w.dir.path().join("shared/app.toml"), "mode = \"prod\"\n").expect("write");
    let wider =
        "services:\n  web:\n    image: ${APP_IMAGE}\n    configs: [c]\nconfigs:\n  c: {file: ../shared/app.toml}\n";
    let wider = write(&repo, "wider.yml", wider);
    let project = w.dir.path().display().to_string();
    let out = apply(&wider, &["--var", "APP_IMAGE", "--project-dir", &project], &[("APP_IMAGE", IMAGE)]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let status = w.json(DEPLOYER, &["status", "prod/web"]);
    assert_eq!(status["services"][0]["image"], IMAGE);
    assert_eq!(status["services"][0]["body"]["configs"][0]["content"], "mode = \"prod\"\n");
}
