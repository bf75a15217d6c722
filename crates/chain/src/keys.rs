//! The signing key, from a hex private key or an encrypted keystore (as cast and geth write them).
//! Errors never carry the key or the password.

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
    if let Some(key) = private_key {
        return key.trim().parse().map(Some).map_err(|_| KeyError::BadPrivateKey);
    }
    let Some(keystore) = keystore else { return Ok(None) };
    let password_file = password_file.ok_or(KeyError::NoPasswordFile)?;
    let password = std::fs::read_to_string(password_file)
        .map_err(|e| KeyError::PasswordFile { path: password_file.display().to_string(), reason: e.to_string() })?;
    PrivateKeySigner::decrypt_keystore(keystore, password.trim_end_matches(['\n', '\r']))
        .map(Some)
        .map_err(|e| KeyError::Keystore { path: keystore.display().to_string(), reason: e.to_string() })
}
