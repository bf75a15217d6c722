//! The committed artifact must match what `forge build` produces now: stale bindings fail here.

use std::path::PathBuf;

fn read_json(path: &PathBuf) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `forge build` first (scripts/test does)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn committed_artifact_matches_forge_build() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let committed = read_json(&crate_dir.join(ledgerops_bindings::ARTIFACT_PATH));
    let built = read_json(&crate_dir.join("../../out/DeploymentRegistry.sol/DeploymentRegistry.json"));

    for (ours, forge) in
        [("abi", "/abi"), ("bytecode", "/bytecode/object"), ("deployedBytecode", "/deployedBytecode/object")]
    {
        assert!(
            committed.get(ours) == built.pointer(forge),
            "bindings are stale: `{ours}` differs from the forge build; run scripts/bindings and commit"
        );
    }
}
