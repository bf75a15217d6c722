//! Real stack files from public projects (`tests/corpus`, sources and licences in SOURCES.md),
//! read as a new user would bring them. Images stay as written (by tag: the CLI pins them at
//! publish time by asking their registry, which this machine cannot reach; each one, with a
//! digest added, must pass the chain's image rule), files the stack reads from its own repository
//! (`configs.*.file`, `env_file`) are stood in for, in a checkout of which the project directory
//! is the root (`--project-dir`: one file names `../prom/prometheus.yml` beside its own
//! directory), and variables the file requires are set. Then
//! every key must be carried, ignored as Swarm ignores it, or refused for a stated reason; none is
//! unknown. The table it prints is the one in docs/cli.md.

use std::collections::BTreeMap;
use std::path::Path;

use ledgerops_compose::{ComposeError, Options, parse};
use ledgerops_spec::{is_pinned, validate_image};
use serde_yaml::Value;

/// What a registry would answer: any digest will do for the rule.
const DIGEST: &str = "sha256:abababababababababababababababababababababababababababababababab";

/// The files not carried as written, and the reason each gives: a user reads it and knows what to change.
const NOT_AS_WRITTEN: &[(&str, &str)] = &[
    ("docker-cli-full-example.yml", "secrets.secret1.file (a secret's value never goes on chain"),
    ("docker-compose-v3-full-fixture.yml", "unknown variant `on_failure`"),
    ("vegasbrianc-prometheus-stack.yml", "is relative to the machine that deploys"),
    ("vegasbrianc-prometheus-traefik-stack.yml", "is relative to the machine that deploys"),
];

#[test]
fn every_key_of_every_real_stack_file_is_carried_ignored_or_refused_for_a_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("corpus").filter_map(Result::ok).map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "yml"));
    files.sort();
    assert!(files.len() >= 20, "at least 20 files: {}", files.len());
    let mut carried = 0;
    let mut rows = Vec::new();
    let mut wrong = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let outcome = read(path);
        let expected = NOT_AS_WRITTEN.iter().find(|(file, _)| *file == name).map(|(_, why)| *why);
        match (&outcome, expected) {
            (Ok(summary), None) => {
                carried += 1;
                rows.push(format!("| {name} | carried | {summary} |"));
            }
            (Err(e), Some(why)) if e.to_string().contains(why) => {
                rows.push(format!("| {name} | not as written | {} |", e.to_string().replace('|', "/")));
            }
            (Err(e), _) => wrong.push(format!("{name}: {e}")),
            (Ok(_), Some(why)) => wrong.push(format!("{name} is carried now ({why:?} no longer refuses it)")),
        }
    }
    assert!(wrong.is_empty(), "files read otherwise than expected:\n{}", wrong.join("\n"));
    assert!(rows.iter().all(|r| !r.contains("does not know this key")), "an unknown key");
    println!("| file | result | services, and keys ignored |\n|---|---|---|\n{}", rows.join("\n"));
    println!("carried as written: {carried} of {}", files.len());
    assert_eq!(carried + NOT_AS_WRITTEN.len(), files.len());
}

/// Parses one corpus file as described above; a summary of what it holds.
fn read(path: &Path) -> Result<String, ComposeError> {
    let text = std::fs::read_to_string(path).expect("read");
    let tree: Value = serde_yaml::from_str(&text).expect("yaml");
    let work = tempfile::tempdir().expect("tempdir");
    let stacks = work.path().join("stacks");
    std::fs::create_dir_all(&stacks).expect("mkdir");
    for referenced in files_read(&tree) {
        let file = stacks.join(referenced);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&file, "# stands in for the project's own file\nKEY=value\n").expect("write");
    }
    let variables: BTreeMap<String, String> =
        required_variables(&text).into_iter().map(|name| (name, "example".into())).collect();
    let options = Options {
        namespace: "stack".into(),
        variables,
        base_dir: stacks,
        project_dir: Some(work.path().to_path_buf()),
        ..Options::default()
    };
    let file = parse(&serde_yaml::to_string(&tree).expect("yaml"), &options)?;
    for (name, spec) in &file.services {
        let pinned = if is_pinned(&spec.image) { spec.image.clone() } else { format!("{}@{DIGEST}", spec.image) };
        validate_image(&pinned).map_err(|e| ComposeError::Spec { path: format!("services.{name}"), source: e })?;
    }
    let ignored: Vec<String> = file.ignored.iter().map(|(p, _)| p.clone()).collect();
    Ok(format!(
        "{} services; ignored: {}",
        file.services.len(),
        if ignored.is_empty() { "-".into() } else { ignored.join(", ") }
    ))
}

/// Paths the file reads beside it: `configs.*.file` and each service's `env_file`.
fn files_read(tree: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (_, config) in tree.get("configs").and_then(Value::as_mapping).into_iter().flatten() {
        out.extend(config.get("file").and_then(Value::as_str).map(str::to_owned));
    }
    for (_, service) in tree.get("services").and_then(Value::as_mapping).into_iter().flatten() {
        match service.get("env_file") {
            Some(Value::String(one)) => out.push(one.clone()),
            Some(Value::Sequence(many)) => out.extend(many.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
    }
    out
}

/// Names of variables written `${NAME?...}` or `${NAME:?...}`.
fn required_variables(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))?;
            let operator = &rest[end..];
            (operator.starts_with('?') || operator.starts_with(":?")).then(|| rest[..end].to_owned())
        })
        .collect()
}
