//! The image pinning rule, the same as the contract's `SpecRules.requireValidImage`, so that a bad
//! image is refused before any transaction is sent: `repo[:tag]@sha256:<64 lowercase hex>`. The
//! digest pins the image; a tag beside it is only read by people (`docker stack deploy` writes the
//! same form).

use crate::SpecError;

const DIGEST_MARKER: &str = "@sha256:";
const DIGEST_HEX_LEN: usize = 64;
const MAX_IMAGE_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;
/// The registry Docker assumes for a repository that names none.
pub const DOCKER_HUB: &str = "docker.io";

/// Accepts `repo[:tag]@sha256:<64 lowercase hex>`. `repo` is `a-z0-9._-/` with an optional
/// registry port (a `:` before the first `/`); a `:` after the last `/`, or in a repository with
/// no `/`, starts the tag: 1-128 bytes of `A-Za-z0-9_.-`, not starting with `.` or `-`.
pub fn validate_image(image: &str) -> Result<(), SpecError> {
    let not_pinned = || SpecError::NotPinned(image.to_owned());
    if image.len() <= DIGEST_MARKER.len() + DIGEST_HEX_LEN || image.len() > MAX_IMAGE_LEN {
        return Err(not_pinned());
    }
    // Every allowed character is ASCII; checking first also keeps the split below on a character
    // boundary (a hostile spec read from the chain may hold any UTF-8).
    if !image.is_ascii() {
        return Err(SpecError::BadRepository(image.to_owned()));
    }
    let (reference, digest) = image.split_at(image.len() - DIGEST_MARKER.len() - DIGEST_HEX_LEN);
    let hex = digest.strip_prefix(DIGEST_MARKER).ok_or_else(not_pinned)?;
    if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(not_pinned());
    }
    let (repo, tag) = split_tag(reference);
    let bad = || SpecError::BadRepository(image.to_owned());
    if let Some(tag) = tag {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"_.-".contains(&b);
        if tag.is_empty() || tag.len() > MAX_TAG_LEN || tag.starts_with(['.', '-']) || !tag.bytes().all(allowed) {
            return Err(bad());
        }
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/:".contains(&b);
    if repo.is_empty() || repo.starts_with('/') || repo.ends_with('/') || !repo.bytes().all(allowed) {
        return Err(bad());
    }
    // A `:` left in the repository must be the registry's port: before the first `/`.
    let port_only = match repo.find('/') {
        Some(slash) => !repo[slash..].contains(':'),
        None => !repo.contains(':'),
    };
    if port_only { Ok(()) } else { Err(bad()) }
}

/// True when `image` ends in a sha256 digest (whether or not the rest is valid).
pub fn is_pinned(image: &str) -> bool {
    image.rsplit_once(DIGEST_MARKER).is_some_and(|(_, hex)| hex.len() == DIGEST_HEX_LEN)
}

/// The registry host an image is pulled from, as Docker reads a reference: the first path
/// component when it has a `.` or a `:` or is `localhost`, else Docker Hub. Credentials are
/// looked up by this name.
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => DOCKER_HUB,
    }
}

/// The key Docker's `config.json` files `registry`'s credentials under (`docker login` writes
/// Docker Hub's as its v1 index URL).
pub fn credential_key(registry: &str) -> &str {
    if registry == DOCKER_HUB { "https://index.docker.io/v1/" } else { registry }
}

/// `(repository, tag)`: the tag starts at a `:` after the last `/`, or at any `:` when there is no `/`.
fn split_tag(reference: &str) -> (&str, Option<&str>) {
    let after_slash = reference.rfind('/').map_or(0, |s| s + 1);
    match reference[after_slash..].rfind(':') {
        Some(colon) => (&reference[..after_slash + colon], Some(&reference[after_slash + colon + 1..])),
        None => (reference, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts_digests_with_or_without_a_registry_port_or_a_tag() {
        for repo in [
            "app",
            "team/app",
            "127.0.0.1:5000/ledgerops/testapp",
            "registry.example.com/a/b_c-d.e",
            "nginx:1.27",
            "127.0.0.1:5000/ledgerops/testapp:v2_RC-1.0",
            "reg:5000", // repository "reg", tag "5000", as Docker reads it
        ] {
            assert_eq!(validate_image(&format!("{repo}@sha256:{HEX}")), Ok(()), "{repo}");
        }
        let longest_tag = format!("app:{}@sha256:{HEX}", "t".repeat(MAX_TAG_LEN));
        assert_eq!(validate_image(&longest_tag), Ok(()));
    }

    #[test]
    fn non_ascii_is_refused_without_a_panic() {
        for image in [format!("𐀀app@sha256:{HEX}"), format!("app@sha256:{}é", &HEX[1..]), "𐀀".repeat(30)] {
            assert_eq!(validate_image(&image), Err(SpecError::BadRepository(image.clone())), "{image}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        for bad in ["Team/app", "app:", "app:.x", "app:-x", "app:a+b", "a:1:2", "reg/a:1/b", ":tag", "/app"] {
            let image = format!("{bad}@sha256:{HEX}");
            assert_eq!(validate_image(&image), Err(SpecError::BadRepository(image.clone())), "{bad}");
        }
        let long_tag = format!("app:{}@sha256:{HEX}", "t".repeat(MAX_TAG_LEN + 1));
        assert_eq!(validate_image(&long_tag), Err(SpecError::BadRepository(long_tag.clone())));
        for unpinned in
            ["nginx:1.27", "nginx", &format!("app@sha256:{}", HEX.to_uppercase()), &format!("app@sha512:{HEX}")]
        {
            assert_eq!(validate_image(unpinned), Err(SpecError::NotPinned(unpinned.to_owned())), "{unpinned}");
        }
    }

    #[test]
    fn the_registry_is_the_first_component_when_it_looks_like_a_host() {
        assert_eq!(registry_of("nginx:1.27"), DOCKER_HUB);
        assert_eq!(registry_of("team/app"), DOCKER_HUB);
        assert_eq!(registry_of("127.0.0.1:5001/ledgerops/app:v1"), "127.0.0.1:5001");
        assert_eq!(registry_of("ghcr.io/org/app"), "ghcr.io");
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert!(is_pinned(&format!("app:1@sha256:{HEX}")));
        assert!(!is_pinned("app:1"));
    }
}
