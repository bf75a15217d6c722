//! `ledgerops-node journal`: the node's record of what it did, read from its store (also while
//! the node runs).

use crate::config::JournalArgs;
use crate::store::{Entry, Store, StoreError};

/// Prints the newest journal entries, oldest first.
pub fn print(args: &JournalArgs) -> Result<(), StoreError> {
    let store = Store::open_read_only(&args.data_dir)?;
    let entries = store.journal(args.service.as_deref(), args.limit)?;
    for entry in &entries {
        if args.json {
            println!("{}", serde_json::to_string(entry).unwrap_or_default());
        } else {
            println!("{}", line(entry));
        }
    }
    if entries.is_empty() && !args.json {
        eprintln!("the journal is empty: the node has not acted yet");
    }
    Ok(())
}

fn line(entry: &Entry) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(entry.at);
    let revision = entry.revision.map_or_else(|| "-".to_owned(), |r| r.to_string());
    let service = if entry.service.is_empty() { "(chain)" } else { &entry.service };
    format!(
        "{}  {:<24} {:>4}  {:<7} {:<5}  {}",
        humantime::format_rfc3339_millis(at),
        service,
        revision,
        entry.action,
        entry.result,
        entry.detail
    )
}
