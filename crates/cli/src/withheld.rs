//! The last look at a spec before it is sent: a field that holds the signer's key, the keystore's
//! password or the RPC's token refuses it, whatever route the value came by (a flag, a stack
//! file, a file it names, a variable). The ledger keeps what it is given for good, readable by
//! every node.

use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_chain::Withheld;
use ledgerops_registry::ServiceName;
use serde_json::Value;

use crate::exit::CliError;

/// Refuses `spec` of `service` when a field of it holds a withheld value, naming the field and
/// what it holds (never the value).
pub(crate) fn refuse_withheld(withheld: &Withheld, service: &ServiceName, spec: &ServiceSpec) -> Result<(), CliError> {
    let found = withheld.found_in(&spec.image).map(|what| ("image".to_owned(), what)).or_else(|| {
        let body: Value = serde_json::from_slice(&spec.body).ok()?;
        found_in(withheld, &body, &mut String::new())
    });
    match found {
        Some((field, what)) => Err(CliError::Usage(format!(
            "{service}: {field} holds {what}: published, it would be on the ledger for good, readable by every \
             node; nothing was sent"
        ))),
        None => Ok(()),
    }
}

/// The first field of `value` (at `path`) whose key or text holds a withheld value.
fn found_in(withheld: &Withheld, value: &Value, path: &mut String) -> Option<(String, &'static str)> {
    match value {
        Value::String(text) => withheld.found_in(text).map(|what| (path.clone(), what)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = found_in(withheld, item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found =
                withheld.found_in(key).map(|what| (path.clone(), what)).or_else(|| found_in(withheld, item, path));
            path.truncate(len);
            found
        }),
        _ => None,
    }
}
