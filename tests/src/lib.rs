//! Shared set-up for the end-to-end tests: a real anvil, a deployed registry, funded actors.

pub mod bench;
pub mod docker_proxy;
pub mod hardhat;
mod private_image;
pub mod tls_proxy;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryInstance;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;

/// The anvil to run: `LEDGEROPS_ANVIL`, else the pinned npm copy, else `anvil` on PATH.
pub fn anvil_path() -> PathBuf {
    foundry_tool("anvil", "LEDGEROPS_ANVIL")
}

/// The forge to run: `LEDGEROPS_FORGE`, else the pinned npm copy, else `forge` on PATH.
pub fn forge_path() -> PathBuf {
    foundry_tool("forge", "LEDGEROPS_FORGE")
}

/// The repository's root (forge runs there: foundry.toml, contracts/).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `ledgerops` CLI as `cargo test --workspace` built it, for tests of other crates (only the
/// CLI's own tests get its path from cargo); built here when missing.
pub fn cli_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from);
    let path = target.join("debug/ledgerops");
    if !path.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let built = std::process::Command::new(cargo)
            .args(["build", "-q", "-p", "ledgerops-cli"])
            .status()
            .expect("cargo runs");
        assert!(built.success(), "building the ledgerops CLI failed");
    }
    path
}

/// The digest-pinned reference of a test image `scripts/setup` built and pushed to the local
/// registry: `kind` is `TESTAPP`, `CRASH` or `UNHEALTHY`.
pub fn test_image(kind: &str) -> String {
    images_env(&format!("LEDGEROPS_IMAGE_{kind}"))
}

/// The private registry `scripts/setup` runs (it wants a login): its one image, pinned
/// (`host:port/ledgerops/testapp:private@sha256:...`, content no other registry has), and a Docker
/// config directory holding the login, for `DOCKER_CONFIG`.
pub struct PrivateRegistry {
    /// `host:port`.
    pub host: String,
    /// The image, `repo:tag@sha256:...`.
    pub image: String,
    /// A directory with a `config.json` holding the login.
    pub docker_config: String,
}

/// What `scripts/setup` wrote of its private registry.
pub fn private_registry() -> PrivateRegistry {
    let image = images_env("LEDGEROPS_PRIVATE_IMAGE");
    let host = image.split_once('/').map(|(host, _)| host.to_owned()).expect("host/repository");
    PrivateRegistry { host, image, docker_config: images_env("LEDGEROPS_PRIVATE_DOCKER_CONFIG") }
}

/// Tags `source` (a local image) as `target`, pushes it, and returns the digest the registry
/// gave it (`sha256:...`): a test's own tag, moved where it wants it.
pub fn push_as(source: &str, target: &str) -> String {
    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker").args(args).output().expect("docker runs");
        assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    docker(&["tag", source, target]);
    docker(&["push", "-q", target]);
    let repository = target.rsplit_once(':').map_or(target, |(repo, _)| repo);
    let digests = docker(&["image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", target]);
    let digest =
        digests.lines().find_map(|l| l.strip_prefix(&format!("{repository}@"))).expect("pushed: a repo digest");
    digest.to_owned()
}

/// A value `scripts/setup` wrote to `.ledgerops/images.env`.
fn images_env(key: &str) -> String {
    let path = repo_root().join(".ledgerops/images.env");
    let env = std::fs::read_to_string(&path).expect(".ledgerops/images.env: run scripts/setup first");
    let key = format!("{key}=");
    env.lines().find_map(|l| l.strip_prefix(key.as_str())).map(str::to_owned).expect("the key is in images.env")
}

fn foundry_tool(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return path.into();
    }
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" };
    let pinned = repo_root().join(format!("node_modules/@foundry-rs/{name}-linux-{arch}/bin/{name}"));
    if pinned.exists() { pinned } else { PathBuf::from(name) }
}

/// The Swarm services whose names start with `prefix`, on the engine at unix socket `socket`
/// (the machine's own when `None`).
pub fn swarm_services(socket: Option<&str>, prefix: &str) -> Vec<String> {
    let mut command = std::process::Command::new("docker");
    if let Some(socket) = socket {
        command.args(["-H", &format!("unix://{socket}")]);
    }
    let list = command.args(["service", "ls", "--format", "{{.Name}}"]).stderr(std::process::Stdio::null()).output();
    list.map(|o| {
        String::from_utf8_lossy(&o.stdout).lines().filter(|n| n.starts_with(prefix)).map(str::to_owned).collect()
    })
    .unwrap_or_default()
}

/// Removes the Swarm services whose names start with `prefix` from the engine at `socket` (the
/// machine's own when `None`).
pub fn remove_swarm_services(socket: Option<&str>, prefix: &str) {
    for chunk in swarm_services(socket, prefix).chunks(200) {
        let mut command = std::process::Command::new("docker");
        if let Some(socket) = socket {
            command.args(["-H", &format!("unix://{socket}")]);
        }
        let _ = command
            .args(["service", "rm"])
            .args(chunk)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
    }
}

/// What a stack (or a test standing in for one) creates beside its services.
const STACK_OBJECTS: [&str; 4] = ["network", "volume", "config", "secret"];

/// Removes the networks, volumes, configs and secrets whose names start with `prefix` from the
/// engine at `socket` (a stack's leftovers), after its services: a volume is in use until the
/// last container of a removed service has stopped, so that is waited for, up to 30 s.
pub fn remove_stack_objects(socket: Option<&str>, prefix: &str) {
    let docker = |args: &[&str]| {
        let mut command = std::process::Command::new("docker");
        if let Some(socket) = socket {
            command.args(["-H", &format!("unix://{socket}")]);
        }
        let out = command.args(args).stderr(std::process::Stdio::null()).output();
        out.ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let named = |kind: &str| -> Vec<String> {
        let listed = docker(&[kind, "ls", "--format", "{{.Name}}"]).unwrap_or_default();
        listed.lines().filter(|n| n.starts_with(prefix)).map(str::to_owned).collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        for kind in STACK_OBJECTS {
            for name in named(kind) {
                docker(&[kind, "rm", &name]);
            }
        }
        let left: usize = STACK_OBJECTS.iter().map(|kind| named(kind).len()).sum();
        if left == 0 || std::time::Instant::now() > deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// GET `path` on `127.0.0.1:port`: (status code, body); code 0 while nothing listens there.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    http_get_with(port, path, None)
}

/// The same, sending `Authorization: <authorization>` when given.
pub fn http_get_with(port: u16, path: &str, authorization: Option<&str>) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let header = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{header}Connection: close\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (code, body)
}

/// The registry's storage slot of the audit chain's (seq, head): `forge inspect
/// DeploymentRegistry storageLayout`, `_audit`. Tests overwrite it to forge a head.
pub const AUDIT_SLOT: B256 = B256::with_last_byte(4);

/// A running anvil with a registry deployed by its first account (the admin).
pub struct Chain {
    /// Kept alive for the test's duration; anvil stops when it drops.
    pub anvil: AnvilInstance,
    /// The registry, called as the admin.
    pub registry: DeploymentRegistryInstance<DynProvider>,
}

impl Chain {
    /// Starts anvil and deploys a registry.
    pub async fn start() -> eyre::Result<Self> {
        Self::deploy_on(Anvil::at(anvil_path()).try_spawn()?).await
    }

    /// Deploys a registry on a running anvil (one started with its own flags).
    pub async fn deploy_on(anvil: AnvilInstance) -> eyre::Result<Self> {
        let admin = anvil.addresses()[0];
        let provider = Self::provider_for(&anvil, 0);
        let delay = alloy::primitives::aliases::U48::saturating_from(ledgerops_chain::DEFAULT_ADMIN_DELAY_SECS);
        let registry = ledgerops_bindings::DeploymentRegistry::deploy(provider, admin, delay).await?;
        Ok(Self { anvil, registry })
    }

    /// Another registry on the same chain, deployed by anvil's account `admin` (another than the
    /// first registry's, whose nonces its provider keeps), its admin: what a test registry, or a
    /// registry's successor, is beside the first.
    pub async fn deploy_another(&self, admin: usize) -> eyre::Result<DeploymentRegistryInstance<DynProvider>> {
        let delay = alloy::primitives::aliases::U48::saturating_from(ledgerops_chain::DEFAULT_ADMIN_DELAY_SECS);
        let provider = Self::provider_for(&self.anvil, admin);
        Ok(ledgerops_bindings::DeploymentRegistry::deploy(provider, self.account(admin), delay).await?)
    }

    /// The registry at `registry` on a running anvil (one restarted with its saved state).
    pub fn attach(anvil: AnvilInstance, registry: Address) -> Self {
        let registry = DeploymentRegistryInstance::new(registry, Self::provider_for(&anvil, 0));
        Self { anvil, registry }
    }

    /// A provider that signs as anvil's account `index`.
    pub fn provider_for(anvil: &AnvilInstance, index: usize) -> DynProvider {
        let signer: PrivateKeySigner = anvil.keys()[index].clone().into();
        ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(anvil.endpoint_url()).erased()
    }

    /// The registry, called as anvil's account `index`.
    pub fn registry_as(&self, index: usize) -> DeploymentRegistryInstance<DynProvider> {
        DeploymentRegistryInstance::new(*self.registry.address(), Self::provider_for(&self.anvil, index))
    }

    /// Address of anvil's account `index`.
    pub fn account(&self, index: usize) -> Address {
        self.anvil.addresses()[index]
    }

    /// Anvil's account `node`, a node of `site`, reports `status` on the active `revision` of
    /// service `service`, naming the revision's placement as the registry requires.
    pub async fn attest_as(
        &self,
        node: usize,
        service: B256,
        revision: u32,
        site: &str,
        status: u8,
        reason: &str,
    ) -> eyre::Result<()> {
        let published = self
            .registry
            .RevisionPublished_filter()
            .topic1(service)
            .topic2(B256::from(U256::from(revision)))
            .from_block(0)
            .query()
            .await?;
        let (event, _) = published.last().ok_or_else(|| eyre::eyre!("revision {revision} was never published"))?;
        let spec = &event.spec;
        let registry = self.registry_as(node);
        let call = registry.attest(
            service,
            revision,
            keccak256(site),
            spec.sites.clone(),
            ledgerops_spec::workload_hash(spec),
            status,
            reason.into(),
        );
        call.send().await?.get_receipt().await?;
        Ok(())
    }

    /// Creates `namespace` with the admin as its deployer and registers anvil's account `node`
    /// as a node at `site`.
    pub async fn namespace_with_node(&self, namespace: &str, node: usize, site: &str) -> eyre::Result<()> {
        let registry = &self.registry;
        registry.createNamespace(namespace.into()).send().await?.get_receipt().await?;
        registry.grantDeployer(namespace.into(), self.account(0)).send().await?.get_receipt().await?;
        registry.addNode(self.account(node), site.into()).send().await?.get_receipt().await?;
        Ok(())
    }

    /// Publishes each of `specs` as service `svc-{i}` of `namespace` (whose deployer the admin
    /// is), sent with mining paused and then mined in a few large blocks: one block per
    /// transaction would have anvil recompute its state root thousands of times. Returns the
    /// block that holds the last one.
    pub async fn publish_many(
        &self,
        namespace: &str,
        specs: impl IntoIterator<Item = ServiceSpec>,
    ) -> eyre::Result<u64> {
        let provider = self.registry.provider();
        let mut nonce = provider.get_transaction_count(self.account(0)).await?;
        let fee = provider.get_gas_price().await? * 2;
        provider.raw_request::<_, ()>("evm_setAutomine".into(), (false,)).await?;
        provider.raw_request::<_, bool>("evm_setBlockGasLimit".into(), (U256::from(4_000_000_000u64),)).await?;
        let mut last = None;
        for (i, spec) in specs.into_iter().enumerate() {
            let call = self.registry.publish(namespace.into(), format!("svc-{i}"), spec).gas(400_000).nonce(nonce);
            last = Some(*call.max_fee_per_gas(fee).max_priority_fee_per_gas(0).send().await?.tx_hash());
            nonce += 1;
        }
        let mut block = provider.get_block_number().await?;
        while let Some(hash) = last {
            provider.raw_request::<_, String>("evm_mine".into(), ()).await?;
            if let Some(receipt) = provider.get_transaction_receipt(hash).await? {
                eyre::ensure!(receipt.status(), "publishing {namespace}/svc-* reverted");
                block = receipt.block_number.unwrap_or(block);
                break;
            }
        }
        provider.raw_request::<_, ()>("evm_setAutomine".into(), (true,)).await?;
        Ok(block)
    }
}
