//! `${VAR}` in a compose file's values, substituted as `docker stack deploy` does: `$VAR`,
//! `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
//! `${VAR:+other}`, `${VAR+other}`, nested in one another, and `$$` for a literal `$`. A variable
//! that is not set becomes the empty string and is listed (Docker warns the same way); one
//! required with `?` stops the file with its message. Values only: keys are left as written.
//!
//! Unlike Docker, values come only from what the deployer hands over (`--env-file`, `--var`), not
//! from the whole environment of the machine that deploys: whatever is substituted goes on the
//! ledger for good, and a pipeline's environment holds its secrets. A variable the environment
//! sets but the deployer did not hand over refuses the file, saying how to hand it over, and a
//! `LEDGEROPS_*` variable (keys, tokens, the RPC) is never substituted, however given.
//!
//! A value substituted into a place that holds a number or a boolean (`replicas: ${N:-2}`) is
//! read as one afterwards, by the list of such places, as Docker's own loader does.
//!
//! No maintained crate implements Compose's grammar (shell-expansion crates lack `?` and `$$`,
//! or expand `~`), so it is written here, small and tested against the specification's examples.

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::ComposeError;

/// Places that hold integers, by path: `*` is any key, `[]` any item.
const INTEGERS: &[&str] = &[
    "services.*.deploy.replicas",
    "services.*.deploy.update_config.parallelism",
    "services.*.deploy.rollback_config.parallelism",
    "services.*.deploy.restart_policy.max_attempts",
    "services.*.deploy.placement.max_replicas_per_node",
    "services.*.healthcheck.retries",
    "services.*.ports.[].target",
    "services.*.ports.[].published",
    "services.*.ulimits.*",
    "services.*.ulimits.*.soft",
    "services.*.ulimits.*.hard",
    "services.*.secrets.[].mode",
    "services.*.configs.[].mode",
];

/// Places that hold booleans.
const BOOLEANS: &[&str] = &[
    "services.*.init",
    "services.*.read_only",
    "services.*.tty",
    "services.*.stdin_open",
    "services.*.privileged",
    "services.*.healthcheck.disable",
    "services.*.volumes.[].read_only",
    "services.*.volumes.[].volume.nocopy",
    "networks.*.external",
    "networks.*.attachable",
    "networks.*.internal",
    "volumes.*.external",
    "secrets.*.external",
    "configs.*.external",
];

/// Variables of this prefix are ledgerops' own settings and are never substituted.
pub const RESERVED_PREFIX: &str = "LEDGEROPS_";

/// What is known of a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Handed over, with this value.
    Value(String),
    /// Set in the environment of the machine that deploys, and not handed over.
    NotHandedOver,
    /// Set nowhere.
    Unset,
}

/// Where variables come from, and what was looked up and not found.
pub(crate) struct Variables<'a> {
    lookup: &'a dyn Fn(&str) -> Lookup,
    /// Variables used and not set, substituted as empty.
    pub(crate) unset: BTreeSet<String>,
}

impl<'a> Variables<'a> {
    pub(crate) fn new(lookup: &'a dyn Fn(&str) -> Lookup) -> Self {
        Self { lookup, unset: BTreeSet::new() }
    }

    /// Substitutes every string value of `tree` in place.
    pub(crate) fn interpolate(&mut self, tree: &mut Value) -> Result<(), ComposeError> {
        self.walk(tree, &mut Vec::new())
    }

    fn walk(&mut self, value: &mut Value, path: &mut Vec<String>) -> Result<(), ComposeError> {
        match value {
            Value::String(text) if text.contains('$') => {
                let substituted =
                    self.substitute(text).map_err(|message| ComposeError::Invalid { path: shown(path), message })?;
                *value = typed(path, substituted);
            }
            Value::Mapping(map) => {
                for (key, inner) in map.iter_mut() {
                    path.push(key.as_str().map_or_else(|| format!("{key:?}"), str::to_owned));
                    self.walk(inner, path)?;
                    path.pop();
                }
            }
            Value::Sequence(items) => {
                for (i, inner) in items.iter_mut().enumerate() {
                    path.push(format!("[{i}]"));
                    self.walk(inner, path)?;
                    path.pop();
                }
            }
            Value::Tagged(tagged) => self.walk(&mut tagged.value, path)?,
            _ => {}
        }
        Ok(())
    }

    /// One string substituted; the error is the message of a required variable, or a malformed
    /// expression.
    pub(crate) fn substitute(&mut self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(inner) = after.strip_prefix('{') {
                let end = closing_brace(inner).ok_or_else(|| format!("{text:?}: a ${{ without its }}"))?;
                out.push_str(&self.expression(&inner[..end])?);
                rest = &inner[end + 1..];
            } else {
                let len = name_length(after);
                if len == 0 {
                    out.push('$');
                } else {
                    out.push_str(&self.value(&after[..len])?.unwrap_or_default());
                }
                rest = &after[len..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The inside of `${...}`.
    fn expression(&mut self, inner: &str) -> Result<String, String> {
        let len = name_length(inner);
        let (name, operator) = inner.split_at(len);
        if name.is_empty() {
            return Err(format!("${{{inner}}} does not start with a variable name"));
        }
        let value = self.handed(name)?;
        let set = value.is_some();
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let ops: [(&str, bool); 6] =
            [(":-", non_empty), ("-", set), (":?", non_empty), ("?", set), (":+", non_empty), ("+", set)];
        for (op, holds) in ops {
            let Some(word) = operator.strip_prefix(op) else { continue };
            return match op.trim_start_matches(':') {
                "-" if holds => Ok(value.unwrap_or_default()),
                "-" => self.substitute(word),
                "?" if holds => Ok(value.unwrap_or_default()),
                "?" => {
                    let message = self.substitute(word)?;
                    Err(if message.is_empty() { format!("{name} is required and not set") } else { message })
                }
                _ if holds => self.substitute(word),
                _ => Ok(String::new()),
            };
        }
        if operator.is_empty() {
            Ok(self.value(name)?.unwrap_or_default())
        } else {
            Err(format!("${{{inner}}}: {operator:?} is not one of :- - :? ? :+ +"))
        }
    }

    /// A variable used plainly: listed when not set.
    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let value = self.handed(name)?;
        if value.is_none() {
            self.unset.insert(name.to_owned());
        }
        Ok(value)
    }

    /// The value handed over for `name`; refuses a reserved name, and one the environment sets
    /// but the deployer did not hand over.
    fn handed(&self, name: &str) -> Result<Option<String>, String> {
        if name.starts_with(RESERVED_PREFIX) {
            return Err(format!(
                "${{{name}}}: {RESERVED_PREFIX}* variables are ledgerops' own settings (keys, tokens, the RPC) and are \
                 never substituted into a stack file: what a file holds goes on the ledger, readable by every node"
            ));
        }
        match (self.lookup)(name) {
            Lookup::Value(value) => Ok(Some(value)),
            Lookup::Unset => Ok(None),
            Lookup::NotHandedOver => Err(format!(
                "${{{name}}}: {name} is set in this environment but not handed to the file: a stack file gets only \
                 what --env-file files and --var give it, since what it holds goes on the ledger, readable by every \
                 node; pass --var {name} to hand it over"
            )),
        }
    }
}

/// Length of the variable name at the start of `text`: `[_a-zA-Z][_a-zA-Z0-9]*`.
fn name_length(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return 0,
    }
    chars.find(|(_, c)| !(*c == '_' || c.is_ascii_alphanumeric())).map_or(text.len(), |(i, _)| i)
}

/// The index of the `}` closing `${`, counting nested `${...}`.
fn closing_brace(inner: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value a substituted string becomes at `path`: a number or a boolean where the file holds one.
fn typed(path: &[String], text: String) -> Value {
    let matches = |patterns: &[&str]| patterns.iter().any(|p| pattern_matches(p, path));
    if matches(INTEGERS)
        && let Ok(n) = text.trim().parse::<i64>()
    {
        return Value::from(n);
    }
    if matches(BOOLEANS) {
        match text.trim() {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    Value::String(text)
}

fn pattern_matches(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == path.len()
        && parts.iter().zip(path).all(|(part, segment)| match *part {
            "*" => !segment.starts_with('['),
            "[]" => segment.starts_with('['),
            literal => literal == segment,
        })
}

fn shown(path: &[String]) -> String {
    path.iter().fold(String::new(), |mut out, segment| {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(segment);
        out
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn with(vars: &[(&str, &str)], text: &str) -> (Result<String, String>, BTreeSet<String>) {
        let map: BTreeMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let lookup = move |name: &str| match map.get(name) {
            Some(value) if value == "<not handed over>" => Lookup::NotHandedOver,
            Some(value) => Lookup::Value(value.clone()),
            None => Lookup::Unset,
        };
        let mut variables = Variables::new(&lookup);
        let out = variables.substitute(text);
        (out, variables.unset)
    }

    #[test]
    fn every_form_of_the_specification() {
        let vars = [("TAG", "1.27"), ("EMPTY", "")];
        let cases = [
            ("nginx:${TAG}", "nginx:1.27"),
            ("nginx:$TAG", "nginx:1.27"),
            ("${MISSING:-latest}", "latest"),
            ("${EMPTY:-latest}", "latest"),
            ("${EMPTY-latest}", ""),
            ("${MISSING-latest}", "latest"),
            ("${TAG:+pinned}", "pinned"),
            ("${EMPTY:+pinned}", ""),
            ("${EMPTY+pinned}", "pinned"),
            ("${MISSING:-${TAG}}", "1.27"),
            ("${MISSING:-${ALSO:-x}-y}", "x-y"),
            ("$$VAR and $$", "$VAR and $"),
            ("cost: $5 $", "cost: $5 $"),
            ("${TAG}${TAG}", "1.271.27"),
        ];
        for (text, expected) in cases {
            assert_eq!(with(&vars, text).0.as_deref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn required_and_unset_variables_are_named() {
        assert_eq!(with(&[], "${DB:?set DB to the database URL}").0, Err("set DB to the database URL".into()));
        assert_eq!(with(&[("DB", "")], "${DB:?}").0, Err("DB is required and not set".into()));
        assert_eq!(with(&[("DB", "")], "${DB?}").0, Ok(String::new()), "set, although empty");
        let (out, unset) = with(&[], "app:${TAG}");
        assert_eq!((out, unset), (Ok("app:".into()), BTreeSet::from(["TAG".to_owned()])));
        assert!(with(&[], "${TAG").0.is_err() && with(&[], "${TAG/x/y}").0.is_err() && with(&[], "${}").0.is_err());
    }

    #[test]
    fn only_what_is_handed_over_is_substituted_and_ledgerops_settings_never() {
        let key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        for text in [
            "${LEDGEROPS_PRIVATE_KEY}",
            "$LEDGEROPS_PRIVATE_KEY",
            "${LEDGEROPS_PRIVATE_KEY:-x}",
            "${X:-$LEDGEROPS_PRIVATE_KEY}",
        ] {
            let (out, _) = with(&[("LEDGEROPS_PRIVATE_KEY", key)], text);
            let error = out.expect_err(text);
            assert!(error.contains("LEDGEROPS_* variables are ledgerops' own settings"), "{error}");
            assert!(!error.contains(key), "{error}");
        }
        let (out, _) = with(&[("TAG", "<not handed over>")], "app:${TAG:-latest}");
        assert!(out.expect_err("not handed over").ends_with("pass --var TAG to hand it over"));
        assert_eq!(with(&[], "app:${TAG:-latest}").0.as_deref(), Ok("app:latest"), "set nowhere: the default");
    }

    #[test]
    fn numbers_and_booleans_are_read_as_such_where_the_file_holds_them() {
        let lookup = |name: &str| if name == "N" { Lookup::Value("3".to_owned()) } else { Lookup::Unset };
        let mut tree: Value = serde_yaml::from_str(
            "services:\n  web:\n    deploy: {replicas: '${N}'}\n    environment: {COUNT: '${N}'}\n    read_only: '${RO:-true}'\n",
        )
        .expect("yaml");
        Variables::new(&lookup).interpolate(&mut tree).expect("valid");
        assert_eq!(tree["services"]["web"]["deploy"]["replicas"], Value::from(3));
        assert_eq!(tree["services"]["web"]["environment"]["COUNT"], Value::from("3"), "a string where strings are");
        assert_eq!(tree["services"]["web"]["read_only"], Value::Bool(true));
    }
}
