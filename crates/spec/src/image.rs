//! The image pinning rule, the same as the contract's `SpecRules.requireValidImage`, so that a bad
//! image is refused before any transaction is sent.

use crate::SpecError;

const DIGEST_MARKER: &str = "@sha256:";
const DIGEST_HEX_LEN: usize = 64;
const MAX_IMAGE_LEN: usize = 255;

/// Accepts `repo@sha256:<64 lowercase hex>`, where `repo` is `a-z0-9._-/` with an optional
/// registry port (a `:` before the first `/`). A `:` after the first `/`, or in a repository with
/// no `/`, is a tag and is refused.
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
    let (repo, digest) = image.split_at(image.len() - DIGEST_MARKER.len() - DIGEST_HEX_LEN);
    let hex = digest.strip_prefix(DIGEST_MARKER).ok_or_else(not_pinned)?;
    if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(not_pinned());
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/:".contains(&b);
    if repo.starts_with('/') || repo.ends_with('/') || !repo.bytes().all(allowed) {
        return Err(SpecError::BadRepository(image.to_owned()));
    }
    let has_tag = match repo.find('/') {
        Some(slash) => repo[slash..].contains(':'),
        None => repo.contains(':'),
    };
    if has_tag { Err(SpecError::HasTag(image.to_owned())) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts_digests_with_or_without_a_registry_port() {
        for repo in ["app", "team/app", "127.0.0.1:5000/ledgerops/testapp", "registry.example.com/a/b_c-d.e"] {
            assert_eq!(validate_image(&format!("{repo}@sha256:{HEX}")), Ok(()), "{repo}");
        }
    }

    #[test]
    fn non_ascii_is_refused_without_a_panic() {
        for image in [format!("𐀀app@sha256:{HEX}"), format!("app@sha256:{}é", &HEX[1..]), "𐀀".repeat(30)] {
            assert_eq!(validate_image(&image), Err(SpecError::BadRepository(image.clone())), "{image}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let tagged = format!("team/app:1.0@sha256:{HEX}");
        assert_eq!(validate_image(&tagged), Err(SpecError::HasTag(tagged.clone())));
        let bare_tag = format!("app:1.0@sha256:{HEX}");
        assert_eq!(validate_image(&bare_tag), Err(SpecError::HasTag(bare_tag.clone())));
        let upper = format!("Team/app@sha256:{HEX}");
        assert_eq!(validate_image(&upper), Err(SpecError::BadRepository(upper.clone())));
        for unpinned in
            ["nginx:1.27", "nginx", &format!("app@sha256:{}", HEX.to_uppercase()), &format!("app@sha512:{HEX}")]
        {
            assert_eq!(validate_image(unpinned), Err(SpecError::NotPinned(unpinned.to_owned())), "{unpinned}");
        }
    }
}
