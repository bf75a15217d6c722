//! The files a stack file reads (`configs.*.file`, `env_file`) and the `--env-file`s the deployer
//! hands over. What they hold goes on the ledger, readable by every node and never taken back, so
//! a file named by the stack (relative to the stack file, as Docker reads it) must lie inside its
//! project directory (the stack file's, unless `--project-dir` widens it), symlinks resolved: a
//! pull request cannot publish `../deployer.pw` beside the checkout. And nothing in them is substituted: `K=$LEDGEROPS_PRIVATE_KEY`
//! stays those characters (dotenvy would fill it in from the process environment, which is why it
//! is not used here), and a line that cannot be read is named by its number, never shown: it may
//! hold a secret.

use std::path::{Component, Path, PathBuf};

use crate::ComposeError;

/// `written`, a path the stack file names at `field`, from `base` (the stack file's directory):
/// refused unless it lies inside `project`, when absolute, when it climbs out with `..`, or when a
/// symlink on the way leads out. A path that does not exist is returned as joined (reading it says
/// so, or an optional file is skipped).
pub(crate) fn inside(base: &Path, project: &Path, written: &Path, field: &str) -> Result<PathBuf, ComposeError> {
    let refused = |message: String| ComposeError::Invalid { path: field.to_owned(), message };
    let widen = "a stack file reads only files inside its project directory (give --project-dir to widen it): \
                 what it reads goes on the ledger";
    if written.is_absolute() {
        return Err(refused(format!("{} is an absolute path; {widen}", written.display())));
    }
    let open = |dir: &Path| {
        dir.canonicalize().map_err(|e| refused(format!("cannot open the directory {}: {e}", dir.display())))
    };
    let (base, root) = (open(base)?, open(project)?);
    let joined = base.join(written);
    match joined.canonicalize() {
        Ok(real) if real.starts_with(&root) => Ok(real),
        Ok(real) => Err(refused(format!(
            "{} leads to {}, outside the project directory {}; {widen}",
            written.display(),
            real.display(),
            root.display()
        ))),
        Err(_) if !lexical(&joined).starts_with(&root) => Err(refused(format!(
            "{} climbs out of the project directory {}; {widen}",
            written.display(),
            root.display()
        ))),
        Err(_) => Ok(joined),
    }
}

/// An absolute path with its `.` and `..` components taken as written (for a path that does not
/// exist, whose links cannot be followed).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => drop(out.pop()),
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Why a `KEY=VALUE` file could not be read; never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvFileError {
    /// The file cannot be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
        /// It does not exist.
        missing: bool,
    },
    /// A line is not `KEY=VALUE`; the line itself is not shown.
    #[error("{path}, line {line}: {reason} (the line is not shown: it may hold a secret)")]
    Line {
        /// The file.
        path: String,
        /// 1-based.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// How a file's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFileFormat {
    /// An `env_file` as `docker stack deploy` reads it: the value is everything after the first
    /// `=`, quotes included.
    Docker,
    /// An `--env-file` as `docker compose --env-file` reads it: `export ` may lead, and one pair of
    /// quotes around the value is taken off.
    Dotenv,
}

/// The `(key, value)` pairs of the `KEY=VALUE` file at `path`, in order: blank lines and lines
/// starting with `#` skipped, leading blanks dropped, no variable substituted.
pub fn read_env_file(path: &Path, format: EnvFileFormat) -> Result<Vec<(String, String)>, EnvFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| EnvFileError::Io {
        path: shown.clone(),
        reason: e.to_string(),
        missing: e.kind() == std::io::ErrorKind::NotFound,
    })?;
    let bad = |line: usize, reason| EnvFileError::Line { path: shown.clone(), line, reason };
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count();
        bad(line, "not UTF-8 text")
    })?;
    let mut pairs = Vec::new();
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let mut line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if format == EnvFileFormat::Dotenv {
            line = line.strip_prefix("export ").map_or(line, str::trim_start);
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(bad(i + 1, "a variable without `=` and a value"));
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad(i + 1, "the name before `=` is empty or holds blanks"));
        }
        let value = match format {
            EnvFileFormat::Docker => value.to_owned(),
            EnvFileFormat::Dotenv => unquoted(value.trim()).to_owned(),
        };
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

/// `value` without one pair of matching quotes around it.
fn unquoted(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_outside_the_project_is_refused_by_any_route() {
        let dir = tempfile::tempdir().expect("tempdir");
        let project = dir.path().join("repo");
        std::fs::create_dir_all(project.join("conf")).expect("mkdir");
        std::fs::write(dir.path().join("deployer.pw"), "s3cret\n").expect("write");
        std::fs::write(project.join("conf/app.toml"), "x = 1\n").expect("write");
        std::os::unix::fs::symlink(dir.path().join("deployer.pw"), project.join("pw-link")).expect("symlink");
        std::os::unix::fs::symlink(dir.path(), project.join("up")).expect("symlink");
        let at = |p: &str| inside(&project, &project, Path::new(p), "configs.c.file");
        assert!(at("conf/app.toml").is_ok_and(|p| p.ends_with("repo/conf/app.toml")));
        assert!(at("conf/../conf/app.toml").is_ok());
        assert!(at("conf/missing.toml").is_ok(), "missing: reading it says so");
        for outside in
            ["../deployer.pw", "pw-link", "up/deployer.pw", "/etc/passwd", "conf/../../deployer.pw", "../nowhere"]
        {
            let error = at(outside).expect_err(outside).to_string();
            assert!(error.starts_with("configs.c.file: "), "{error}");
            assert!(error.contains("--project-dir"), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
        let widened = inside(&project, dir.path(), Path::new("pw-link"), "f");
        assert!(widened.is_ok_and(|p| p.ends_with("deployer.pw")), "inside a wider project (--project-dir)");
    }

    #[test]
    fn values_are_read_as_written_and_a_bad_line_is_named_not_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("app.env");
        std::fs::write(&file, "\u{feff}# comment\n\n  A=1\nB=\"quoted\" \nC=$LEDGEROPS_PRIVATE_KEY\nexport D='x'\n")
            .expect("write");
        let docker = read_env_file(&file, EnvFileFormat::Docker);
        assert!(docker.is_err(), "docker's format has no export");
        std::fs::write(&file, "\u{feff}# comment\n\n  A=1\nB=\"quoted\" \nC=$LEDGEROPS_PRIVATE_KEY\n").expect("write");
        let pairs = read_env_file(&file, EnvFileFormat::Docker).expect("valid");
        let expected = [("A", "1"), ("B", "\"quoted\" "), ("C", "$LEDGEROPS_PRIVATE_KEY")];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
        std::fs::write(&file, "A=1\nB=\"quoted\" \nexport D='x'\n").expect("write");
        let pairs = read_env_file(&file, EnvFileFormat::Dotenv).expect("valid");
        assert_eq!(pairs, [("A", "1"), ("B", "quoted"), ("D", "x")].map(|(k, v)| (k.to_owned(), v.to_owned())));

        std::fs::write(&file, "A=1\n0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n")
            .expect("write");
        let error = read_env_file(&file, EnvFileFormat::Docker).expect_err("no =").to_string();
        assert!(error.contains("line 2: a variable without `=`"), "{error}");
        assert!(!error.contains("0xac09"), "the line is not echoed: {error}");
        let missing = read_env_file(&dir.path().join("nope"), EnvFileFormat::Docker).expect_err("missing");
        assert!(matches!(missing, EnvFileError::Io { missing: true, .. }));
    }
}
