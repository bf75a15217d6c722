//! Storage: volumes (the stack's, external, anonymous), host paths, tmpfs, and secrets and configs
//! as files in the container.

use compose_spec::service::volumes::{self, Mount as ComposeMount};
use compose_spec::service::{ConfigOrSecret, Volumes};
use compose_spec::{Identifier, Service, ShortOrLong};
use ledgerops_spec::{Mount, SpecBody, VolumeMount};

use super::Context;
use crate::ComposeError;
use crate::objects::ConfigSource;

pub(super) fn carry(service: &Service, cx: &Context<'_>, body: &mut SpecBody) -> Result<(), ComposeError> {
    body.mounts = mounts(service.volumes.clone(), cx)?;
    if let Some(tmpfs) = &service.tmpfs {
        for path in tmpfs.clone().into_list() {
            let target = path.as_path().display().to_string();
            body.mounts.push(VolumeMount { kind: "tmpfs".into(), target, ..VolumeMount::default() });
        }
    }
    body.secrets = files(&service.secrets, "secrets", &cx.raw.secret_modes, cx, |key, path| {
        cx.objects.secret(key, path).map(|name| (name, None))
    })?;
    body.configs = files(&service.configs, "configs", &cx.raw.config_modes, cx, |key, path| {
        Ok(match cx.objects.config(key, path)? {
            ConfigSource::External(name) => (name, None),
            ConfigSource::Content(content) => (key.to_owned(), Some(content)),
        })
    })?;
    Ok(())
}

fn mounts(list: Volumes, cx: &Context<'_>) -> Result<Vec<VolumeMount>, ComposeError> {
    let mut out = Vec::new();
    for (i, mount) in volumes::into_long_iter(list).enumerate() {
        let key = format!("volumes[{i}]");
        let path = format!("{}.{key}", cx.path);
        let carried = match mount {
            ComposeMount::Volume(volume) => {
                let mut carried = match &volume.source {
                    Some(source) => cx.objects.volume(source.as_str(), &path)?,
                    None => VolumeMount::default(),
                };
                carried.kind = "volume".into();
                carried.target = volume.common.target.as_path().display().to_string();
                carried.read_only = volume.common.read_only;
                carried.nocopy = volume.volume.is_some_and(|v| v.nocopy);
                carried
            }
            ComposeMount::Bind(bind) => {
                let source = bind.source.as_path();
                if !source.is_absolute() {
                    return Err(cx.invalid(
                        &key,
                        format!(
                            "{} is relative to the machine that deploys; a node mounts its own paths: write an absolute path",
                            source.display()
                        ),
                    ));
                }
                VolumeMount {
                    kind: "bind".into(),
                    source: Some(source.display().to_string()),
                    target: bind.common.target.as_path().display().to_string(),
                    read_only: bind.common.read_only,
                    propagation: bind.bind.and_then(|b| b.propagation).map(|p| p.as_str().to_owned()),
                    ..VolumeMount::default()
                }
            }
            ComposeMount::Tmpfs(tmpfs) => {
                let options = tmpfs.tmpfs.unwrap_or_default();
                VolumeMount {
                    kind: "tmpfs".into(),
                    target: tmpfs.common.target.as_path().display().to_string(),
                    read_only: tmpfs.common.read_only,
                    size: options.size.map(|s| s.to_string()),
                    tmpfs_mode: options.mode,
                    ..VolumeMount::default()
                }
            }
            ComposeMount::NamedPipe(_) | ComposeMount::Cluster(_) => {
                return Err(cx.invalid(&key, "only volume, bind and tmpfs mounts run on Swarm's Linux nodes"));
            }
        };
        out.push(carried);
    }
    Ok(out)
}

/// Secrets or configs: each reference resolved by `resolve(key, path)` into its Docker name and,
/// for a config the stack defines, its content.
fn files(
    list: &[ShortOrLong<Identifier, ConfigOrSecret>],
    kind: &str,
    modes: &[Option<u32>],
    cx: &Context<'_>,
    resolve: impl Fn(&str, &str) -> Result<(String, Option<String>), ComposeError>,
) -> Result<Vec<Mount>, ComposeError> {
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("{}.{kind}[{i}]", cx.path);
            let (key, long) = match item {
                ShortOrLong::Short(key) => (key.to_string(), None),
                ShortOrLong::Long(long) => (long.source.to_string(), Some(long)),
            };
            let (name, content) = resolve(&key, &path)?;
            // In the container the file keeps the key's name, as in Swarm, unless a target is given.
            let target = long.and_then(|l| l.target.as_ref()).map(|t| t.to_string_lossy().into_owned());
            let target = target.or_else(|| (name != key).then(|| key.clone()));
            Ok(Mount {
                name,
                target,
                uid: long.and_then(|l| l.uid).map(|id| id.to_string()),
                gid: long.and_then(|l| l.gid).map(|id| id.to_string()),
                mode: modes.get(i).copied().flatten(),
                content,
            })
        })
        .collect()
}
