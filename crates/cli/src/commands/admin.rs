//! The admin's commands: deploy a registry, namespaces, deployers, nodes, quorum.

use serde_json::json;

use crate::args::{DeployerCommand, NamespaceCommand, NodeCommand, QuorumCommand, RegistryCommand};
use crate::commands::{Ctx, Outcome};
use crate::exit::CliError;
use ledgerops_chain::Client;
use ledgerops_registry::validate_name;
use ledgerops_spec::Policy;

pub(crate) async fn registry(ctx: &Ctx, command: RegistryCommand) -> Result<Outcome, CliError> {
    let RegistryCommand::Deploy { admin, admin_delay } = command;
    let signer = ctx.conn.signer.clone().ok_or(ledgerops_chain::ChainError::NoSigner)?;
    let admin = admin.unwrap_or(signer.address());
    let delay = admin_delay.as_secs();
    let conn = &ctx.conn;
    let (client, sent) = Client::deploy(&conn.rpc, signer, admin, delay, conn.chain_id, conn.max_fee).await?;
    let address = *client.registry.address();
    ctx.sent(
        &format!(
            "registry deployed at {address} (admin {admin}, admin transfers wait {delay} s, chain {})",
            client.chain_id
        ),
        &sent,
        json!({ "registry": address, "admin": admin, "admin_delay_secs": delay, "chain_id": client.chain_id }),
    );
    Ok(Outcome::Done)
}

/// The admin's changes that each send one transaction: namespaces, deployers, nodes.
pub(crate) enum Change {
    Namespace(NamespaceCommand),
    Deployer(DeployerCommand),
    Node(NodeCommand),
}

pub(crate) async fn change(ctx: &Ctx, change: Change) -> Result<Outcome, CliError> {
    let client = ctx.client().await?;
    let r = &client.registry;
    let (what, sent) = match change {
        Change::Namespace(NamespaceCommand::Create { namespace }) => {
            validate_name("namespace", &namespace)?;
            (format!("namespace {namespace} created"), client.send(r.createNamespace(namespace.clone())).await?)
        }
        Change::Namespace(NamespaceCommand::Freeze { namespace }) => {
            (format!("namespace {namespace} frozen"), client.send(r.freezeNamespace(namespace.clone())).await?)
        }
        Change::Namespace(NamespaceCommand::Unfreeze { namespace }) => {
            (format!("namespace {namespace} unfrozen"), client.send(r.unfreezeNamespace(namespace.clone())).await?)
        }
        Change::Namespace(NamespaceCommand::Limits { namespace, max_replicas, max_spec_bytes }) => (
            format!("namespace {namespace}: at most {max_replicas} replicas and {max_spec_bytes} spec bytes"),
            client.send(r.setNamespaceLimits(namespace.clone(), max_replicas, max_spec_bytes)).await?,
        ),
        Change::Namespace(NamespaceCommand::Policy { namespace, allow, external, image_registries }) => {
            let policy = Policy {
                allow: allow.iter().map(|p| p.as_str().to_owned()).collect(),
                external: external.into_iter().collect(),
                registries: image_registries.into_iter().collect(),
                ..Policy::default()
            };
            let bytes = if policy == Policy::default() { Vec::new() } else { policy.encode()? };
            let said = if bytes.is_empty() {
                "the default (nothing beyond a plain container)".to_owned()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            };
            (
                format!("namespace {namespace} policy: {said}"),
                client.send(r.setNamespacePolicy(namespace.clone(), bytes.into())).await?,
            )
        }
        Change::Deployer(DeployerCommand::Grant { namespace, account }) => (
            format!("{account} may now deploy to {namespace}"),
            client.send(r.grantDeployer(namespace.clone(), account)).await?,
        ),
        Change::Deployer(DeployerCommand::Revoke { namespace, account }) => (
            format!("{account} may no longer deploy to {namespace}"),
            client.send(r.revokeDeployer(namespace.clone(), account)).await?,
        ),
        Change::Node(NodeCommand::Add { node, site }) => {
            validate_name("site", &site)?;
            (format!("node {node} added at site {site}"), client.send(r.addNode(node, site.clone())).await?)
        }
        Change::Node(NodeCommand::Remove { node }) => {
            (format!("node {node} removed"), client.send(r.removeNode(node)).await?)
        }
    };
    ctx.sent(&what, &sent, json!({}));
    Ok(Outcome::Done)
}

pub(crate) async fn quorum(ctx: &Ctx, command: QuorumCommand) -> Result<Outcome, CliError> {
    let QuorumCommand::Set { percent } = command;
    if !(0.0..100.0).contains(&percent) {
        return Err(CliError::Usage(format!("quorum {percent}% must be at least 0 and below 100")));
    }
    // Checked above: 0 <= percent * 100 < 10000.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bps = (percent * 100.0).round() as u16;
    let client = ctx.client().await?;
    let sent = client.send(client.registry.setQuorum(bps)).await?;
    ctx.sent(
        &format!("a rollback now needs votes from more than {percent}% of a service's nodes"),
        &sent,
        json!({ "quorum_bps": bps }),
    );
    Ok(Outcome::Done)
}
