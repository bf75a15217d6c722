//! Pinning images named by tag, as `docker stack deploy --resolve-image` does: the image's
//! registry is asked for the tag's digest (the manifest's, or the multi-platform index's, so each
//! node's engine still picks its platform), and `repo:tag@sha256:...` is what goes on chain. The
//! digest binds; the tag stays for people to read.
//!
//! The registry protocol is [`oci_client`]'s (the OCI distribution client of the ORAS project:
//! token and basic challenges, manifest lists); credentials are read as Docker keeps them, by
//! [`docker_credential`] (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`: `auths` and
//! credential helpers). Nothing here is ever written on chain but the digest.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use clap::ValueEnum;
use ledgerops_spec::{Spec, credential_key, is_pinned, registry_of, validate_image};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::args::SpecFlags;
use crate::exit::CliError;
use crate::spec_args::spec_from_args;
use crate::stack::{self, StackInput};

/// `--resolve-image`: whether an image named by tag is pinned by asking its registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResolveImage {
    /// Ask the registry for the tag's digest and publish `repo:tag@sha256:...`.
    #[default]
    Always,
    /// Never ask: an image without a digest is refused.
    Never,
}

/// Pins images for one command run; asks each registry once per image.
#[derive(Debug, Default)]
pub(crate) struct Resolver {
    mode: ResolveImage,
    /// Registries spoken to over plain HTTP besides loopback ones (Docker's `insecure-registries`).
    insecure: Vec<String>,
    /// Images already pinned in this run (a stack names the same image many times).
    pinned: Mutex<BTreeMap<String, String>>,
}

impl Resolver {
    pub(crate) fn new(mode: ResolveImage, insecure: Vec<String>) -> Self {
        Self { mode, insecure, pinned: Mutex::default() }
    }

    /// `spec` with its image pinned; an image that already has a digest is kept as written.
    pub(crate) async fn pin(&self, spec: &mut Spec) -> Result<(), CliError> {
        spec.image = self.pin_image(&spec.image).await?;
        Ok(())
    }

    /// Pins every service of a file (each distinct image asked once) and checks the result
    /// against the chain's image rule, naming the service at fault.
    pub(crate) async fn pin_all(&self, services: &mut [(String, Spec)]) -> Result<(), CliError> {
        for (name, spec) in services {
            let about = |e: CliError| e.about(format!("services.{name}"));
            self.pin(spec).await.map_err(about)?;
            validate_image(&spec.image).map_err(|e| about(e.into()))?;
        }
        Ok(())
    }

    /// The spec the flags describe, its image pinned.
    pub(crate) async fn spec_from_args(
        &self,
        image: &str,
        sites: &[String],
        flags: &SpecFlags,
    ) -> Result<Spec, CliError> {
        let mut spec = spec_from_args(image, sites, flags)?;
        self.pin(&mut spec).await?;
        Ok(spec)
    }

    /// A compose/stack file read ([`stack::read`]) with every service's image pinned.
    pub(crate) async fn read_stack(&self, input: &StackInput<'_>) -> Result<ledgerops_compose::ComposeFile, CliError> {
        let mut file = stack::read(input)?;
        self.pin_all(&mut file.services).await?;
        Ok(file)
    }

    async fn pin_image(&self, image: &str) -> Result<String, CliError> {
        if is_pinned(image) || self.mode == ResolveImage::Never {
            // The spec rules refuse an unpinned image, naming --resolve-image.
            return Ok(image.to_owned());
        }
        if let Some(pinned) = self.pinned.lock().ok().and_then(|p| p.get(image).cloned()) {
            return Ok(pinned);
        }
        let reference: Reference = image
            .parse()
            .map_err(|e| CliError::Usage(format!("image {image:?} is not a valid image reference: {e}")))?;
        let registry = registry_of(image).to_owned();
        let refused =
            |reason: String| CliError::Registry { registry: registry.clone(), image: image.to_owned(), reason };
        let auth = credentials(&registry).map_err(refused)?;
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(self.plain_http(&registry)),
            ..ClientConfig::default()
        });
        let digest = client
            .fetch_manifest_digest(&reference, &auth)
            .await
            .map_err(|e| refused(explain(&e, &registry, matches!(auth, RegistryAuth::Anonymous))))?;
        let pinned = format!("{image}@{digest}");
        if let Ok(mut cache) = self.pinned.lock() {
            cache.insert(image.to_owned(), pinned.clone());
        }
        Ok(pinned)
    }

    /// The registries (of this one) spoken to over plain HTTP: loopback ones, as Docker does,
    /// and those named by `--insecure-registry`.
    fn plain_http(&self, registry: &str) -> Vec<String> {
        let host = registry.rsplit_once(':').map_or(registry, |(host, _)| host);
        let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback || self.insecure.iter().any(|r| r == registry) { vec![registry.to_owned()] } else { Vec::new() }
    }
}

/// The credentials Docker keeps for `registry`; anonymous when it keeps none (public registries
/// hand out anonymous pull tokens). A credential helper that fails is an error, not anonymity.
fn credentials(registry: &str) -> Result<RegistryAuth, String> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    match docker_credential::get_credential(credential_key(registry)) {
        Ok(DockerCredential::UsernamePassword(user, password)) => Ok(RegistryAuth::Basic(user, password)),
        Ok(DockerCredential::IdentityToken(token)) => Ok(RegistryAuth::Bearer(token)),
        Err(E::NoCredentialConfigured | E::ConfigNotFound | E::ConfigReadError) => Ok(RegistryAuth::Anonymous),
        Err(e) => Err(format!("reading the Docker credentials for it: {e}")),
    }
}

/// The registry's refusal in words a pipeline log can act on.
fn explain(error: &OciDistributionError, registry: &str, anonymous: bool) -> String {
    use OciDistributionError as E;
    match error {
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) if anonymous => format!(
            "unauthorized, and no credentials for {registry} in the Docker config \
             ($DOCKER_CONFIG/config.json or ~/.docker/config.json): run `docker login {registry}`"
        ),
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => {
            format!("unauthorized with the credentials the Docker config holds for {registry}")
        }
        E::RegistryError { envelope, .. } => {
            use oci_client::errors::OciErrorCode as C;
            let said: Vec<String> = envelope.errors.iter().map(|e| e.message.clone()).collect();
            let said = said.join("; ");
            match envelope.errors.first().map(|e| &e.code) {
                Some(C::ManifestUnknown) => format!("has no image under this tag ({said})"),
                Some(C::NameUnknown) => format!("has no such repository ({said})"),
                Some(C::Unauthorized | C::Denied) if anonymous => format!(
                    "denied ({said}), and the Docker config holds no credentials for {registry}: \
                     run `docker login {registry}`"
                ),
                _ => format!("refused: {said}"),
            }
        }
        E::ImageManifestNotFoundError(_) => "no such tag or repository".to_owned(),
        E::RequestError(e) => format!("unreachable: {e}"),
        other => other.to_string(),
    }
}
