//! `ledgerops-node adopt`: takes over, once, the managed objects an earlier version made on this
//! Swarm, before objects carried their registry's label. Until then the node leaves them alone
//! (a service of the same name is held, saying so), since nothing on them says which registry
//! they came from: a node pointed at another registry must not take a site's services for its
//! own. Services and configs get the registry's label; networks and volumes, whose labels Docker
//! cannot change, are recorded as the node's in its store. Each is journaled.

use ledgerops_swarm::{Swarm, Taken};

use crate::config::AdoptArgs;
use crate::store::{Entry, Store, now_ms};

/// Finds (and unless `--dry-run`, takes over) the unlabelled managed objects; prints each.
pub async fn run(args: &AdoptArgs) -> Result<Vec<Taken>, String> {
    if !args.data_dir.join("node.db").exists() {
        return Err(format!("no node store in {}: give the node's --data-dir", args.data_dir.display()));
    }
    let store = Store::open(&args.data_dir).map_err(|e| e.to_string())?;
    let registry = store.registry().map_err(|e| e.to_string())?.ok_or_else(|| {
        format!(
            "the store in {} has not followed a registry yet: start the node once, so that it knows which registry \
             the objects it takes over are labelled with",
            args.data_dir.display()
        )
    })?;
    let timeout = ledgerops_swarm::DEFAULT_TIMEOUT;
    let swarm = match &args.docker_socket {
        Some(socket) => Swarm::connect_socket(socket, timeout, registry).await,
        None => Swarm::connect(timeout, registry).await,
    }
    .map_err(|e| e.to_string())?;
    let taken = swarm.adopt(args.dry_run).await.map_err(|e| e.to_string())?;
    for object in &taken {
        if args.dry_run {
            println!("would adopt {} {}", object.kind, object.name);
            continue;
        }
        if matches!(object.kind, "network" | "volume") {
            store.adopt(object.kind, &object.id, &object.name).map_err(|e| e.to_string())?;
        }
        let entry = Entry {
            at: now_ms(),
            service: if object.kind == "service" { object.name.clone() } else { String::new() },
            revision: None,
            action: "adopted".into(),
            result: "ok".into(),
            detail: format!("{} {} taken over for registry {registry}", object.kind, object.name),
        };
        store.record(&entry).map_err(|e| e.to_string())?;
        println!("adopted {} {} for registry {registry}", object.kind, object.name);
    }
    if taken.is_empty() {
        println!("nothing to adopt: every managed object on this engine carries its registry");
    }
    Ok(taken)
}
