//! What a service's containers see of storage: secrets and configs as files, and mounts (named
//! volumes, host paths, tmpfs). A secret's value never goes on chain: the ledger is readable by
//! every node. A config's may, being configuration: the node then creates it under a name taken
//! from its content, so that a change rolls the service.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::network::{docker_object_name, is_false};
use super::units::{absolute_path, one_of, plain, word};
use crate::SpecError;

/// A secret or config, and where it appears in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// The Docker object's name; for a config with `content`, the stack's key for it.
    pub name: String,
    /// File name in the container (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Owner of the file (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Group of the file (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Permissions of the file, e.g. `0440` as the number 288 (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// A config's whole content, UTF-8 (format 2; configs only): the node creates the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A volume, host path or tmpfs mounted into the containers (format 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeMount {
    /// `volume`, `bind` or `tmpfs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A volume's name (the stack's key, or an external volume's name; absent: anonymous), or a
    /// bind's host path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Mounted read-only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// A volume that exists already (its definition is not the stack's).
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    /// A stack volume's own Docker name (compose's `name:`), instead of `<namespace>_<source>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_name: Option<String>,
    /// A stack volume's driver (default `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// A stack volume's driver options.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// A stack volume's labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Do not copy the image's files into a new volume.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nocopy: bool,
    /// A bind's propagation: `private`, `rprivate`, `shared`, `rshared`, `slave` or `rslave`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// A tmpfs's size, e.g. `64M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// A tmpfs's permissions, e.g. `1777` as the number 1023.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_mode: Option<u32>,
}

impl Mount {
    /// True when a field of format 2 is set.
    pub(crate) fn uses_v2(&self) -> bool {
        self.uid.is_some() || self.gid.is_some() || self.mode.is_some() || self.content.is_some()
    }
}

/// Secrets or configs (`kind`): names, unique targets, owners and modes; content only in configs.
pub(crate) fn validate_files(kind: &str, files: &[Mount]) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    for (i, m) in files.iter().enumerate() {
        let field = format!("{kind}[{i}]");
        docker_object_name(&format!("{field}.name"), &m.name)?;
        let target = m.target.as_deref().unwrap_or(&m.name);
        if target.is_empty() || target.contains('\0') || !seen.insert(target) {
            return Err(SpecError::field(format!("{field}.target"), format!("{target:?} is empty or used twice")));
        }
        for (key, id) in [("uid", &m.uid), ("gid", &m.gid)] {
            if let Some(id) = id
                && id.parse::<u32>().is_err()
            {
                return Err(SpecError::field(format!("{field}.{key}"), format!("{id:?} is not a numeric id")));
            }
        }
        if m.mode.is_some_and(|mode| mode > 0o777) {
            return Err(SpecError::field(format!("{field}.mode"), "a file mode is at most 0777"));
        }
        match (&m.content, kind) {
            (Some(_), "secrets") => {
                return Err(SpecError::field(
                    format!("{field}.content"),
                    "a secret's value never goes on chain: create the secret on each node and name it",
                ));
            }
            (Some(content), _) => plain(&format!("{field}.content"), content)?,
            (None, _) => {}
        }
    }
    Ok(())
}

/// Mounts: the fields each kind takes, absolute unique targets.
pub(crate) fn validate_mounts(mounts: &[VolumeMount]) -> Result<(), SpecError> {
    let mut targets = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let field = format!("mounts[{i}]");
        one_of(&format!("{field}.type"), Some(&m.kind), &["volume", "bind", "tmpfs"])?;
        absolute_path(&format!("{field}.target"), &m.target)?;
        if !targets.insert(m.target.as_str()) {
            return Err(SpecError::field(format!("{field}.target"), format!("{:?} is mounted twice", m.target)));
        }
        let defined =
            m.docker_name.is_some() || m.driver.is_some() || !m.driver_opts.is_empty() || !m.labels.is_empty();
        let volume_only = m.external || defined || m.nocopy;
        let only = |what: &str, set: bool, kind: &str| {
            if set && m.kind != kind {
                Err(SpecError::field(format!("{field}.{what}"), format!("only a {kind} mount takes {what}")))
            } else {
                Ok(())
            }
        };
        only("volume options", volume_only, "volume")?;
        only("propagation", m.propagation.is_some(), "bind")?;
        only("size", m.size.is_some(), "tmpfs")?;
        only("tmpfs_mode", m.tmpfs_mode.is_some(), "tmpfs")?;
        match (m.kind.as_str(), &m.source) {
            ("bind", Some(source)) => absolute_path(&format!("{field}.source"), source)?,
            ("bind", None) => {
                return Err(SpecError::field(format!("{field}.source"), "a bind mount needs a host path"));
            }
            ("tmpfs", Some(_)) => return Err(SpecError::field(format!("{field}.source"), "a tmpfs has no source")),
            ("volume", Some(source)) => docker_object_name(&format!("{field}.source"), source)?,
            ("volume", None) if volume_only => {
                return Err(SpecError::field(format!("{field}.source"), "an anonymous volume takes no definition"));
            }
            _ => {}
        }
        if let Some(docker_name) = &m.docker_name {
            docker_object_name(&format!("{field}.docker_name"), docker_name)?;
        }
        if m.external && defined {
            return Err(SpecError::field(field, "an external volume exists already: it takes no definition"));
        }
        if let Some(driver) = &m.driver {
            word(&format!("{field}.driver"), driver)?;
        }
        for (key, value) in m.driver_opts.iter().chain(&m.labels) {
            word(&format!("{field}.{key}"), key)?;
            plain(&format!("{field}.{key}"), value)?;
        }
        one_of(
            &format!("{field}.propagation"),
            m.propagation.as_deref(),
            &["private", "rprivate", "shared", "rshared", "slave", "rslave"],
        )?;
        if m.tmpfs_mode.is_some_and(|mode| mode > 0o7777) {
            return Err(SpecError::field(format!("{field}.tmpfs_mode"), "a mode is at most 07777"));
        }
    }
    Ok(())
}
