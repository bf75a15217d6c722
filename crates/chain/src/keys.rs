//! The signing key, from a hex private key or an encrypted keystore (as cast and geth write them).
//! Errors never carry the key or the password. Both binaries load it here, so both refuse the
//! same things: a raw key and a keystore given together (which one signs would be a guess), and
//! a keystore or password file other users can read.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use alloy::signers::local::PrivateKeySigner;

/// Why no signer could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The private key is not 32 bytes of hex.
    #[error("the private key is not 32 bytes of hex (its value is not shown)")]
    BadPrivateKey,
    /// A keystore was given without a password file.
    #[error("--keystore needs --password-file (or password_file in the config)")]
    NoPasswordFile,
    /// The password file cannot be read.
    #[error("cannot read password file {path}: {reason}")]
    PasswordFile {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A raw key and a keystore were both given (flags, environment or config file).
    #[error("both a private key and a keystore were given: give one (a raw key wins nowhere silently)")]
    BothKeys,
    /// A key file is readable or writable by other users.
    #[error("{path} is open to other users (mode {mode:o}): chmod 600 {path}")]
    Exposed {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The keystore cannot be read or decrypted.
    #[error("cannot open keystore {path}: {reason}")]
    Keystore {
        /// The file.
        path: String,
        /// Why (a wrong password reads as a MAC mismatch).
        reason: String,
    },
}

/// The signer from `private_key`, else from `keystore` decrypted with the first line of
/// `password_file`; `None` when neither is given.
pub fn load_signer(
    private_key: Option<&str>,
    keystore: Option<&Path>,
    password_file: Option<&Path>,
) -> Result<Option<PrivateKeySigner>, KeyError> {
    if private_key.is_some() && keystore.is_some() {
        return Err(KeyError::BothKeys);
    }
    if let Some(key) = private_key {
        return key.trim().parse().map(Some).map_err(|_| KeyError::BadPrivateKey);
    }
    let Some(keystore) = keystore else { return Ok(None) };
    let password_file = password_file.ok_or(KeyError::NoPasswordFile)?;
    private_to_owner(keystore)?;
    private_to_owner(password_file)?;
    let password = std::fs::read_to_string(password_file)
        .map_err(|e| KeyError::PasswordFile { path: password_file.display().to_string(), reason: e.to_string() })?;
    PrivateKeySigner::decrypt_keystore(keystore, password.trim_end_matches(['\n', '\r']))
        .map(Some)
        .map_err(|e| KeyError::Keystore { path: keystore.display().to_string(), reason: e.to_string() })
}

/// Refuses a key file that group or others may read or write (as ssh does for private keys).
pub fn private_to_owner(path: &Path) -> Result<(), KeyError> {
    let Ok(meta) = std::fs::metadata(path) else { return Ok(()) }; // reading it names the problem
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed { path: path.display().to_string(), mode });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_raw_key_and_a_keystore_together_and_open_key_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (keystore, password) = (dir.path().join("key.json"), dir.path().join("pw"));
        std::fs::write(&keystore, "{}").expect("write");
        std::fs::write(&password, "pw").expect("write");
        let key = "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let both = load_signer(Some(key), Some(&keystore), Some(&password));
        assert!(matches!(both, Err(KeyError::BothKeys)), "{both:?}");

        for path in [&keystore, &password] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let open = load_signer(None, Some(&keystore), Some(&password)).expect_err("refused");
        assert!(open.to_string().contains("mode 644): chmod 600"), "{open}");
        std::fs::set_permissions(&keystore, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let open = load_signer(None, Some(&keystore), Some(&password)).expect_err("refused");
        assert!(open.to_string().starts_with(&password.display().to_string()), "{open}");
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        let closed = load_signer(None, Some(&keystore), Some(&password)).expect_err("not a keystore");
        assert!(matches!(closed, KeyError::Keystore { .. }), "past the permission check: {closed}");
    }
}
