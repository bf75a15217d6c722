//! The signing key, from a hex private key (given, or in a file of its own) or an encrypted
//! keystore (as cast and geth write them). Errors never carry the key or the password. Both
//! binaries load it here, so both refuse the same things: two keys given together (which one
//! signs would be a guess), and a key, keystore or password file other users can read.

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
    /// More than one of a raw key, a key file and a keystore was given (flags, environment or
    /// config file).
    #[error("more than one key was given (a private key, a key file, a keystore): give one (none wins silently)")]
    BothKeys,
    /// The key file cannot be read.
    #[error("cannot read key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
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

/// Where the signing key comes from; every part optional, at most one of the first three.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeySource<'a> {
    /// A hex private key, as given (a flag, the environment).
    pub private_key: Option<&'a str>,
    /// A file holding a hex private key, private to its owner: the key stays out of the process's
    /// environment and command line, where other processes of its user can read it.
    pub private_key_file: Option<&'a Path>,
    /// An encrypted keystore.
    pub keystore: Option<&'a Path>,
    /// The keystore's password file.
    pub password_file: Option<&'a Path>,
}

/// The signer of `source`: the raw key, else the key file's, else the keystore decrypted with
/// the first line of the password file; `None` when none is given.
pub fn load_signer(source: KeySource<'_>) -> Result<Option<PrivateKeySigner>, KeyError> {
    let given = [source.private_key.is_some(), source.private_key_file.is_some(), source.keystore.is_some()];
    if given.into_iter().filter(|g| *g).count() > 1 {
        return Err(KeyError::BothKeys);
    }
    if let Some(key) = source.private_key {
        return key.trim().parse().map(Some).map_err(|_| KeyError::BadPrivateKey);
    }
    if let Some(file) = source.private_key_file {
        private_to_owner(file)?;
        let key = std::fs::read_to_string(file)
            .map_err(|e| KeyError::KeyFile { path: file.display().to_string(), reason: e.to_string() })?;
        return key.trim().parse().map(Some).map_err(|_| KeyError::BadPrivateKey);
    }
    let (keystore, password_file) = (source.keystore, source.password_file);
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
        let keystore_source =
            KeySource { keystore: Some(&keystore), password_file: Some(&password), ..Default::default() };
        let both = load_signer(KeySource { private_key: Some(key), ..keystore_source });
        assert!(matches!(both, Err(KeyError::BothKeys)), "{both:?}");

        for path in [&keystore, &password] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let open = load_signer(keystore_source).expect_err("refused");
        assert!(open.to_string().contains("mode 644): chmod 600"), "{open}");
        std::fs::set_permissions(&keystore, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let open = load_signer(keystore_source).expect_err("refused");
        assert!(open.to_string().starts_with(&password.display().to_string()), "{open}");
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        let closed = load_signer(keystore_source).expect_err("not a keystore");
        assert!(matches!(closed, KeyError::Keystore { .. }), "past the permission check: {closed}");
    }

    #[test]
    fn a_key_file_is_read_when_private_to_its_owner_and_never_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("node.key");
        let key = "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        std::fs::write(&file, format!("{key}\n")).expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let source = KeySource { private_key_file: Some(&file), ..Default::default() };
        let open = load_signer(source).expect_err("group may read it");
        assert!(open.to_string().contains("mode 640): chmod 600"), "{open}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let signer = load_signer(source).expect("read").expect("a signer");
        assert_eq!(alloy::hex::encode_prefixed(signer.to_bytes()), key);
        let both = load_signer(KeySource { private_key: Some(key), ..source });
        assert!(matches!(both, Err(KeyError::BothKeys)));
        std::fs::write(&file, "not a key\n").expect("write");
        let bad = load_signer(source).expect_err("not hex").to_string();
        assert!(!bad.contains("not a key"), "{bad}");
    }
}
