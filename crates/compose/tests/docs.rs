//! docs/cli.md shows the key table users read to know what happens to each key of their file;
//! it is the crate's own table, so the two cannot drift. `LEDGEROPS_WRITE_DOCS=1` rewrites it.

use std::path::Path;

const BEGIN: &str = "<!-- compose keys: begin (crates/compose/tests/docs.rs writes this table) -->\n";
const END: &str = "<!-- compose keys: end -->";

#[test]
fn docs_cli_md_shows_the_key_table_the_crate_uses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
    let text = std::fs::read_to_string(&path).expect("docs/cli.md");
    let start = text.find(BEGIN).expect("the begin marker") + BEGIN.len();
    let end = text.find(END).expect("the end marker");
    let table = ledgerops_compose::markdown_table();
    if std::env::var_os("LEDGEROPS_WRITE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &text[..start], &text[end..])).expect("write");
        return;
    }
    assert!(
        text[start..end] == table,
        "docs/cli.md's key table differs from crates/compose/src/keys.rs: run LEDGEROPS_WRITE_DOCS=1 cargo test -p ledgerops-compose --test docs"
    );
}
