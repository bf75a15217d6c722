//! A private image no engine has seen: the private registry's test image with a config of its
//! own (a label with a fresh value), pushed through the registry API. Its layers are the ones
//! already there, so nothing is built; its digest is new, so an engine can only run it by
//! pulling. Swarm's executor runs an image it has under the same digest without pulling, and
//! taking an image out of an engine (`docker rmi`) hangs when another test left a container the
//! engine cannot remove (issue 20): a fresh digest needs neither.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::PrivateRegistry;

impl PrivateRegistry {
    /// Pushes the private test image again under `tag` with a config no other image has, and
    /// returns it pinned: `host/ledgerops/testapp:TAG@sha256:...`.
    pub async fn push_fresh_image(&self, tag: &str) -> eyre::Result<String> {
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(vec![self.host.clone()]),
            ..ClientConfig::default()
        });
        let auth = self.login()?;
        let base: Reference = self.image.parse()?;
        let (mut manifest, _, config) = client.pull_manifest_and_config(&base, &auth).await?;
        let mut config: serde_json::Value = serde_json::from_str(&config)?;
        let nonce = format!("{:?}", std::time::SystemTime::now());
        config["config"]["Labels"]["ledgerops.fresh"] = nonce.into();
        let config = serde_json::to_vec(&config)?;
        let digest = format!("sha256:{}", alloy::hex::encode(Sha256::digest(&config)));
        let target: Reference = format!("{}/ledgerops/testapp:{tag}", self.host).parse()?;
        client.store_auth_if_needed(target.resolve_registry(), &auth).await;
        client.push_blob(&target, config.clone(), &digest).await?;
        manifest.config.digest = digest;
        manifest.config.size = i64::try_from(config.len())?;
        let manifest = OciManifest::Image(manifest);
        client.push_manifest(&target, &manifest).await?;
        let pushed = client.fetch_manifest_digest(&target, &auth).await?;
        Ok(format!("{target}@{pushed}"))
    }

    /// The login `scripts/setup` wrote for the registry.
    fn login(&self) -> eyre::Result<RegistryAuth> {
        let text = std::fs::read_to_string(format!("{}/config.json", self.docker_config))?;
        let config: serde_json::Value = serde_json::from_str(&text)?;
        let encoded = config["auths"][&self.host]["auth"].as_str().ok_or_else(|| eyre::eyre!("no login"))?;
        let decoded = String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)?)?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| eyre::eyre!("a login is user:password"))?;
        Ok(RegistryAuth::Basic(user.to_owned(), password.to_owned()))
    }
}
