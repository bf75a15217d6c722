//! Human text by default, or one JSON document with `--json` (shapes in docs/cli.md).

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};
use serde_json::Value;

/// Where a command's result goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    pub(crate) json: bool,
}

impl Output {
    /// Prints `json` with --json, else the text `human` builds.
    pub(crate) fn emit(self, json: &Value, human: impl FnOnce() -> String) {
        if self.json {
            println!("{json}");
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
    }
}

impl Output {
    /// Prints a line for people as it happens; with --json nothing (the document comes at the end).
    pub(crate) fn say(self, text: &str) {
        if !self.json {
            println!("{}", text.trim_end());
        }
    }

    /// Prints the command's JSON document; without --json nothing (the text was said already).
    pub(crate) fn document(self, doc: &Value) {
        if self.json {
            println!("{doc}");
        }
    }
}

/// A borderless table with a header row, as `docker service ls` prints.
pub(crate) fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(header.to_vec());
    for row in rows {
        t.add_row(row);
    }
    // comfy-table pads each line with a leading space; trim it for a flush-left table.
    t.to_string().lines().map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end()).collect::<Vec<_>>().join("\n")
}

/// "3m ago"-style age of a block time.
pub(crate) fn ago(time: Option<u64>) -> String {
    let Some(time) = time else { return "-".into() };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(time);
    let secs = now.saturating_sub(time);
    let rounded = std::time::Duration::from_secs(match secs {
        0..60 => secs,
        60..3600 => secs / 60 * 60,
        _ => secs / 3600 * 3600,
    });
    if secs == 0 {
        return "just now".into();
    }
    format!("{} ago", humantime::format_duration(rounded))
}
