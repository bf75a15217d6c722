//! The token `/status` and `/metrics` may ask for: they name every service, its errors, the
//! node's RPC and volumes, which a host's other users, or a neighbour on the management network,
//! need not see. Prometheus sends it as `authorization: credentials_file`.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// A bearer token read from a file only its owner may read.
#[derive(Clone)]
pub struct StatusToken(Arc<str>);

impl std::fmt::Debug for StatusToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusToken(***)")
    }
}

impl StatusToken {
    /// Reads the token of `path` (surrounding whitespace dropped); refused when others may read
    /// the file or it holds none.
    pub fn load(path: &Path) -> Result<Self, String> {
        let named = |reason: String| format!("--status-token-file {}: {reason}", path.display());
        ledgerops_chain::private_to_owner(path).map_err(|e| named(e.to_string()))?;
        let text = std::fs::read_to_string(path).map_err(|e| named(e.to_string()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(named("holds no token".into()));
        }
        Ok(Self(token.into()))
    }

    /// True when `header` is `Bearer <this token>`, compared in constant time.
    fn admits(&self, header: Option<&str>) -> bool {
        let given = header.and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default();
        bool::from(given.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// Lets a request through when no token is configured or it carries the token; 401 otherwise.
pub async fn require(State(token): State<Option<StatusToken>>, request: Request, next: Next) -> Response {
    let header = request.headers().get(AUTHORIZATION).and_then(|h| h.to_str().ok());
    match token {
        Some(token) if !token.admits(header) => {
            (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")], "a bearer token is required\n").into_response()
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn admits_only_the_exact_bearer_token_from_a_private_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let open = StatusToken::load(&path).expect_err("others may read it");
        assert!(open.contains("--status-token-file") && open.contains("chmod 600"), "{open}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let token = StatusToken::load(&path).expect("a token");
        assert!(token.admits(Some("Bearer s3cret")));
        for wrong in [None, Some("Bearer s3cre"), Some("Bearer s3cret2"), Some("s3cret"), Some("Basic s3cret")] {
            assert!(!token.admits(wrong), "{wrong:?}");
        }
        assert_eq!(format!("{token:?}"), "StatusToken(***)");
    }
}
