//! Images as people write them, against real registries (`scripts/setup` runs an open one and a
//! private one that wants a login) and a real anvil: tags pinned at publish time, only a moved tag
//! publishing, `repo:tag@digest` kept as written, and a registry's refusal stopping the command
//! before anything is sent.

mod world;

use alloy::providers::Provider;
use ledgerops_e2e::{private_registry, push_as, test_image};
use serde_json::Value;
use world::{DEPLOYER, World, code, stderr};

/// The open registry, where tests move tags of their own.
const REGISTRY: &str = "127.0.0.1:5000";

impl World {
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }

    fn image_of(&self, service: &str) -> String {
        let status = self.json(DEPLOYER, &["status", service]);
        status["services"][0]["image"].as_str().expect("an image").to_owned()
    }

    /// `ledgerops --json deploy SERVICE --image IMAGE` as the deployer, with `env` set; exit 0.
    fn deploy_with(&self, service: &str, image: &str, env: &[(&str, &std::ffi::OsStr)]) {
        let out = self
            .command(&["--json", "deploy", service, "--image", image])
            .envs(env.iter().copied())
            .env("LEDGEROPS_PRIVATE_KEY", self.key(DEPLOYER))
            .env("LEDGEROPS_REGISTRY", self.chain.registry.address().to_string())
            .output()
            .expect("runs");
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    }

    async fn head(&self) -> u64 {
        self.chain.registry.provider().get_block_number().await.expect("block number")
    }
}

/// The `sha256:...` of a digest-pinned test image.
fn digest_of(image: &str) -> String {
    image.rsplit_once('@').map(|(_, d)| d.to_owned()).expect("pinned")
}

fn actions(doc: &Value) -> Vec<(String, String)> {
    let entries = doc["services"].as_array().expect("services");
    entries
        .iter()
        .map(|e| (e["service"].as_str().unwrap_or("").into(), e["action"].as_str().unwrap_or("").into()))
        .collect()
}

fn row(service: &str, action: &str) -> (String, String) {
    (service.into(), action.into())
}

#[tokio::test]
async fn a_stack_by_tag_is_pinned_and_only_a_moved_tag_publishes() {
    let w = World::new().await;
    w.set_up();
    let (testapp, relay, crash) = (test_image("TESTAPP"), test_image("RELAY"), test_image("CRASH"));
    let (api, worker) = (format!("{REGISTRY}/e2e-tags/api:v1"), format!("{REGISTRY}/e2e-tags/worker:v1"));
    assert_eq!(push_as(&testapp, &api), digest_of(&testapp), "the same manifest has the same digest anywhere");
    push_as(&relay, &worker);
    let file = w.file("stack.yml", &format!("services:\n  api:\n    image: {api}\n  worker:\n    image: {worker}\n"));
    let apply = ["apply", "-f", &file, "--namespace", "prod"];

    // The ledger holds tag@digest: the digest binds, the tag is there to read.
    let applied = w.json(DEPLOYER, &apply);
    assert_eq!(actions(&applied), [row("prod/api", "create"), row("prod/worker", "create")]);
    assert_eq!(w.image_of("prod/api"), format!("{api}@{}", digest_of(&testapp)));
    assert_eq!(w.image_of("prod/worker"), format!("{worker}@{}", digest_of(&relay)));
    let text = w.run(DEPLOYER, &["status", "prod/api"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("e2e-tags/api:v1@sha256:"), "status shows the tag");

    // Nothing pushed: nothing published.
    let head = w.head().await;
    assert_eq!(actions(&w.json(DEPLOYER, &apply)), [row("prod/api", "unchanged"), row("prod/worker", "unchanged")]);
    assert_eq!(w.head().await, head, "no transaction");

    // The api tag moves: diff shows that image change, and apply publishes exactly that service.
    push_as(&crash, &api);
    let diff = w.run(DEPLOYER, &["diff", "-f", &file, "--namespace", "prod"]);
    assert_eq!(code(&diff), Some(1), "{}", stderr(&diff));
    let diff = String::from_utf8_lossy(&diff.stdout);
    assert!(diff.contains("prod/api: update") && diff.contains(&digest_of(&crash)), "{diff}");
    assert!(!diff.contains("prod/worker: update"), "{diff}");
    let moved = w.json(DEPLOYER, &apply);
    assert_eq!(actions(&moved), [row("prod/api", "update"), row("prod/worker", "unchanged")]);
    assert_eq!(w.image_of("prod/api"), format!("{api}@{}", digest_of(&crash)));

    // deploy pins the same way; an image that has its digest is kept as written, registry unasked.
    push_as(&testapp, &api);
    w.json(DEPLOYER, &["deploy", "prod/single", "--image", &api]);
    assert_eq!(w.image_of("prod/single"), format!("{api}@{}", digest_of(&testapp)));
    let unreachable_but_pinned = format!("127.0.0.1:9/nowhere:1.0@{}", digest_of(&testapp));
    w.json(DEPLOYER, &["deploy", "prod/pinned", "--image", &unreachable_but_pinned]);
    assert_eq!(w.image_of("prod/pinned"), unreachable_but_pinned);

    // --resolve-image never: a tag is refused as before, naming the way out.
    let never = w.run(DEPLOYER, &["deploy", "prod/never", "--image", &api, "--resolve-image", "never"]);
    assert_eq!(code(&never), Some(2));
    assert!(stderr(&never).contains("is not pinned by digest") && stderr(&never).contains("--resolve-image"));
}

#[tokio::test]
async fn a_registry_that_refuses_stops_the_command_before_anything_is_sent() {
    let w = World::new().await;
    w.set_up();
    let registry = private_registry();
    let (private, login) = (&registry.host, &registry.docker_config);
    let image = registry.image.rsplit_once('@').map(|(tag, _)| tag.to_owned()).expect("pinned");
    let head = w.head().await;

    // The private registry without a login: exit 2, naming the registry and what to do.
    let refused = w.run(DEPLOYER, &["deploy", "prod/web", "--image", &image]);
    assert_eq!(code(&refused), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(message.contains(&format!("registry {private}")) && message.contains("unauthorized"), "{message}");
    assert!(message.contains(&format!("docker login {private}")), "{message}");

    // A tag the registry does not have, and a registry nobody answers for.
    let unknown =
        w.run(DEPLOYER, &["deploy", "prod/web", "--image", &format!("{REGISTRY}/ledgerops/testapp:no-such-tag")]);
    assert_eq!(code(&unknown), Some(2));
    assert!(stderr(&unknown).contains(&format!("registry {REGISTRY}")), "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("has no image under this tag (manifest unknown)"), "{}", stderr(&unknown));
    let file = w.file("stack.yml", "services:\n  web:\n    image: 127.0.0.1:9/app:1.0\n");
    let nowhere = w.run(DEPLOYER, &["apply", "-f", &file, "--namespace", "prod"]);
    assert_eq!(code(&nowhere), Some(2));
    assert!(stderr(&nowhere).contains("services.web: image \"127.0.0.1:9/app:1.0\": registry 127.0.0.1:9 unreachable"));
    assert_eq!(w.head().await, head, "nothing was sent");

    // With the login in the Docker config, the same command publishes the pinned image.
    w.deploy_with("prod/web", &image, &[("DOCKER_CONFIG", login.as_ref())]);
    assert_eq!(w.image_of("prod/web"), registry.image);
}

/// A credential helper (`credHelpers` in the Docker config), as cloud registries use: the CLI runs
/// `docker-credential-NAME get` and pins the private image with what it answers.
#[tokio::test]
async fn a_credential_helper_in_the_docker_config_is_asked() {
    let w = World::new().await;
    w.set_up();
    let registry = private_registry();
    let image = registry.image.rsplit_once('@').map(|(tag, _)| tag.to_owned()).expect("pinned");
    let login: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/config.json", registry.docker_config)).expect("the login"),
    )
    .expect("json");
    let auth = login["auths"][&registry.host]["auth"].as_str().expect("an auth");
    let bin = w.dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    // The helper answers for the private registry only, from the login setup made.
    let helper = bin.join("docker-credential-ledgerops-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = {host} ] || exit 1\n\
             creds=$(echo {auth} | base64 -d)\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}}' \"$server\" \"${{creds%%:*}}\" \"${{creds#*:}}\"\n",
            host = registry.host
        ),
    )
    .expect("helper written");
    std::process::Command::new("chmod").arg("+x").arg(&helper).status().expect("chmod");
    let config = w.dir.path().join("helper-config");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(
        config.join("config.json"),
        format!("{{\"credHelpers\": {{\"{}\": \"ledgerops-test\"}}}}", registry.host),
    )
    .expect("config written");

    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    w.deploy_with("prod/web", &image, &[("DOCKER_CONFIG", config.as_os_str()), ("PATH", path.as_ref())]);
    assert_eq!(w.image_of("prod/web"), registry.image);
}
