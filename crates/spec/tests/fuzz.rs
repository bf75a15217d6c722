//! Fuzzing the decoding of what the node reads from the chain: any bytes, and JSON shaped like a
//! spec body with random values, must decode or be refused with an error, never panic; what
//! decodes must validate and survive a round trip. CI runs the default 256 cases per property;
//! `PROPTEST_CASES=200000 cargo test -p ledgerops-spec --test fuzz` is the longer run.

use alloy::primitives::{B256, Bytes};
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_spec::{Spec, SpecBody};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The body's own keys, and a few it does not have.
const KEYS: &[&str] = &[
    "v",
    "command",
    "args",
    "env",
    "secrets",
    "configs",
    "ports",
    "constraints",
    "update",
    "healthcheck",
    "resources",
    "labels",
    "name",
    "target",
    "published",
    "protocol",
    "mode",
    "parallelism",
    "delay",
    "failure_action",
    "monitor",
    "order",
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "cpus",
    "memory",
    "unknown",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..70_000).prop_map(Value::from),
        Just(Value::from(1)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        prop::sample::select(vec!["tcp", "udp", "host", "ingress", "10s", "0.5", "128M", "rollback", "a==b", "1h"])
            .prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
            }),
        ]
    })
}

/// A body object with `v: 1` most of the time, so the decoder gets past the version check.
fn body() -> impl Strategy<Value = Value> {
    (json(), any::<bool>()).prop_map(|(value, versioned)| {
        let mut map = match value {
            Value::Object(map) => map,
            other => Map::from_iter([("command".to_owned(), other)]),
        };
        if versioned {
            map.insert("v".into(), Value::from(1));
        }
        Value::Object(map)
    })
}

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..256), body().prop_map(|v| serde_json::to_vec(&v).expect("json")),]
}

proptest! {
    #[test]
    fn any_bytes_decode_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = SpecBody::decode(&bytes);
    }

    #[test]
    fn spec_shaped_json_decodes_to_a_valid_body_or_is_refused(value in body()) {
        let bytes = serde_json::to_vec(&value).expect("json");
        if let Ok(decoded) = SpecBody::decode(&bytes) {
            prop_assert!(decoded.validate().is_ok());
            let encoded = decoded.encode().expect("a decoded body encodes");
            prop_assert_eq!(SpecBody::decode(&encoded).expect("and decodes again"), decoded);
        }
    }

    #[test]
    fn any_on_chain_spec_reads_or_is_refused(
        image in ".{0,90}",
        replicas in any::<u32>(),
        sites in prop::collection::vec(any::<[u8; 32]>(), 0..4),
        body in body_bytes(),
    ) {
        let spec = ServiceSpec {
            image,
            replicas,
            sites: sites.into_iter().map(B256::from).collect(),
            body: Bytes::from(body),
        };
        if let Ok(read) = Spec::from_onchain(&spec) {
            prop_assert!(read.to_onchain().is_ok(), "what the node accepts, the CLI could publish");
        }
    }
}
