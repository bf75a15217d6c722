//! Fuzzing compose parsing: any text, and YAML shaped like a compose file with random keys and
//! values, is read into valid specs or refused with an error naming the problem, never a panic.
//! CI runs the default 256 cases per property; `PROPTEST_CASES=100000 cargo test -p
//! ledgerops-compose --test fuzz` is the longer run.

use ledgerops_compose::{Options, parse};
use proptest::prelude::*;

const IMAGE: &str = "registry.local/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Service keys ledgerops reads, some it refuses, and nonsense.
const KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "deploy",
    "replicas",
    "secrets",
    "configs",
    "healthcheck",
    "labels",
    "x-ledgerops",
    "sites",
    "volumes",
    "networks",
    "build",
    "restart",
    "update_config",
    "resources",
    "limits",
    "placement",
    "constraints",
    "test",
    "interval",
    "<<",
    "mode",
    "parallelism",
    "zz",
];

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(IMAGE.to_owned()),
        "[a-z0-9]{1,8}",
        (0u32..70_000).prop_map(|n| n.to_string()),
        Just("8080:80".to_owned()),
        Just("'80/udp'".to_owned()),
        Just("10s".to_owned()),
        Just("~".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        Just("*anchor".to_owned()),
        Just("&anchor x".to_owned()),
        "[ -~]{0,12}",
    ]
}

/// A YAML value at `indent`, nested up to `depth`.
fn value(indent: usize, depth: u32) -> BoxedStrategy<String> {
    let leaf = scalar().prop_map(|s| format!(" {s}\n")).boxed();
    if depth == 0 {
        return leaf;
    }
    let pad = " ".repeat(indent);
    let map = prop::collection::vec((prop::sample::select(KEYS), value(indent + 2, depth - 1)), 1..4).prop_map(
        move |pairs| {
            let body: String = pairs.iter().map(|(k, v)| format!("{pad}  {k}:{v}")).collect();
            format!("\n{body}")
        },
    );
    let pad = " ".repeat(indent);
    let list = prop::collection::vec(scalar(), 1..4).prop_map(move |items| {
        let body: String = items.iter().map(|i| format!("{pad}  - {i}\n")).collect();
        format!("\n{body}")
    });
    prop_oneof![leaf, map, list].boxed()
}

fn compose() -> impl Strategy<Value = String> {
    prop::collection::vec(("[a-z]{1,6}", prop::collection::vec((prop::sample::select(KEYS), value(4, 2)), 0..6)), 0..4)
        .prop_map(|services| {
            let mut text = String::from("services:\n");
            for (name, keys) in services {
                text += &format!("  {name}:\n    image: {IMAGE}\n");
                for (key, value) in keys {
                    text += &format!("    {key}:{value}");
                }
            }
            text
        })
}

proptest! {
    #[test]
    fn any_text_is_read_or_refused(text in "(?s).{0,400}") {
        let _ = parse(&text, &Options::default());
    }

    #[test]
    fn compose_shaped_files_give_valid_specs_or_an_error(text in compose(), ignore in any::<bool>()) {
        let options = Options { ignore_unsupported: ignore, ..Options::default() };
        match parse(&text, &options) {
            Ok(file) => {
                for (name, spec) in &file.services {
                    prop_assert!(spec.to_onchain().is_ok(), "services.{} was read but is not publishable", name);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
