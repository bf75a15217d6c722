//! Reading a file's YAML into the tree the rest of the crate works on. A key written twice in one
//! mapping is a fault (YAML keys are unique); serde_yaml reports it at the mapping that holds it,
//! which in a long service is far from the mistake, so the text is first read as events
//! (yaml-rust2, which keeps positions) to name the line of the second key.

use std::collections::HashMap;

use serde_yaml::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::ComposeError;

/// The YAML tree of `text`, with merge keys (`<<: *anchor`) applied.
pub(crate) fn read(text: &str) -> Result<Value, ComposeError> {
    let mut finder = Duplicates::default();
    // A syntax error is reported below, by serde_yaml, in the same terms as before.
    if Parser::new_from_str(text).load(&mut finder, false).is_ok()
        && let Some(found) = finder.found
    {
        return Err(found);
    }
    let mut value: Value = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(at) => ComposeError::Syntax { line: at.line(), column: at.column(), message: e.to_string() },
        None => ComposeError::Invalid { path: "(file)".into(), message: e.to_string() },
    })?;
    value.apply_merge().map_err(|e| ComposeError::Invalid { path: "<<".into(), message: e.to_string() })?;
    Ok(value)
}

/// One open mapping or sequence while the events are read.
#[derive(Debug)]
enum Frame {
    Mapping {
        /// The path of the mapping, e.g. `services.web`.
        path: String,
        /// Keys seen, with the line of each.
        keys: HashMap<String, usize>,
        /// The next node is a key (else a value).
        at_key: bool,
        /// The last key, for the path of the value that follows.
        last: String,
    },
    Sequence {
        path: String,
        index: usize,
    },
}

/// Finds the first key written twice in one mapping.
#[derive(Debug, Default)]
struct Duplicates {
    stack: Vec<Frame>,
    found: Option<ComposeError>,
}

impl Duplicates {
    /// A node starts: a key or a value of the mapping on top, or an item of the sequence.
    /// Returns the node's path.
    fn node(&mut self, key: Option<&str>, mark: Marker) -> String {
        match self.stack.last_mut() {
            None => String::new(),
            Some(Frame::Sequence { path, index }) => {
                *index += 1;
                format!("{path}[{}]", *index - 1)
            }
            Some(Frame::Mapping { path, keys, at_key, last }) => {
                let was_key = *at_key;
                *at_key = !*at_key;
                if !was_key {
                    return join(path, last);
                }
                let Some(key) = key else { return join(path, "?") };
                if let Some(first) = keys.get(key)
                    && self.found.is_none()
                {
                    self.found = Some(ComposeError::Syntax {
                        line: mark.line(),
                        column: mark.col() + 1,
                        message: format!(
                            "{}: the key {key:?} is written twice (first at line {first})",
                            if path.is_empty() { "(top level)" } else { path.as_str() }
                        ),
                    });
                }
                keys.insert(key.to_owned(), mark.line());
                key.clone_into(last);
                join(path, key)
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl MarkedEventReceiver for Duplicates {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => drop(self.node(Some(&text), mark)),
            Event::Alias(_) => drop(self.node(None, mark)),
            Event::MappingStart(..) => {
                let path = self.node(None, mark);
                self.stack.push(Frame::Mapping { path, keys: HashMap::new(), at_key: true, last: String::new() });
            }
            Event::SequenceStart(..) => {
                let path = self.node(None, mark);
                self.stack.push(Frame::Sequence { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => drop(self.stack.pop()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_twice_is_named_at_its_second_line() {
        let text = "services:\n  web:\n    image: a\n    ports: []\n    deploy:\n      replicas: 2\n    image: b\n";
        match read(text) {
            Err(ComposeError::Syntax { line: 7, message, .. }) => {
                assert!(
                    message.contains("services.web: the key \"image\" is written twice (first at line 3)"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(read("a: {b: 1}\nc: [{b: 1}, {b: 2}]\n").is_ok(), "the same key in different mappings");
    }

    #[test]
    fn merge_keys_are_applied() {
        let value = read("x: &base {replicas: 2}\ndeploy:\n  <<: *base\n  mode: replicated\n").expect("valid");
        assert_eq!(value["deploy"]["replicas"], Value::from(2));
    }
}
