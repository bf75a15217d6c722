//! Registry credentials for the engine, from the node's own Docker config (never from the chain):
//! a service from a private registry only runs on a Swarm's workers when the manager hands them
//! the credentials with the service (`docker service create --with-registry-auth`). They are read
//! at each use, so a `docker login` on the node takes effect without a restart.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use bollard::auth::DockerCredentials;
use docker_credential::{CredentialRetrievalError as E, DockerCredential};
use ledgerops_spec::{credential_key, registry_of};

/// The credentials the node's Docker config (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`, with its credential helpers) holds for `image`'s registry; none when
/// it holds none. A helper that fails is logged and treated as none: the engine then pulls
/// anonymously, and a refused pull shows in the rollout.
pub fn registry_auth(image: &str) -> Option<DockerCredentials> {
    let registry = registry_of(image);
    match docker_credential::get_credential(credential_key(registry)) {
        Ok(DockerCredential::UsernamePassword(username, password)) => Some(DockerCredentials {
            username: Some(username),
            password: Some(password),
            serveraddress: Some(registry.to_owned()),
            ..DockerCredentials::default()
        }),
        Ok(DockerCredential::IdentityToken(token)) => Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress: Some(registry.to_owned()),
            ..DockerCredentials::default()
        }),
        Err(E::NoCredentialConfigured | E::ConfigNotFound | E::ConfigReadError) => None,
        Err(e) => {
            tracing::warn!(%registry, "cannot read the Docker credentials for this registry: {e}");
            None
        }
    }
}

/// A fingerprint of what [`registry_auth`] returns for `image` now, to notice a new login
/// without keeping the secret itself around.
pub fn auth_fingerprint(image: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    registry_auth(image).map(|c| (c.username, c.password, c.identitytoken)).hash(&mut hasher);
    hasher.finish()
}
