//! Networking: published ports, the networks joined (the stack's `default` when the service names
//! none, as with `docker stack deploy`), DNS settings and extra hosts.

use compose_spec::Service;
use compose_spec::service::NetworkConfig;
use compose_spec::service::ports;
use ledgerops_spec::{Dns, Port, SpecBody};

use super::Context;
use crate::ComposeError;
use crate::objects::DEFAULT_NETWORK;

pub(super) fn carry(service: &Service, cx: &Context<'_>, body: &mut SpecBody) -> Result<(), ComposeError> {
    body.ports = port_list(service.ports.clone()).map_err(|m| cx.invalid("ports", m))?;
    body.networks = match &service.network_config {
        None => vec![cx.objects.network(DEFAULT_NETWORK, &format!("{}.networks", cx.path))?],
        Some(NetworkConfig::NetworkMode(mode)) => {
            return Err(cx.invalid("network_mode", format!("{mode:?}: join networks with networks:")));
        }
        Some(NetworkConfig::Networks(compose_spec::ShortOrLong::Short(keys))) => keys
            .iter()
            .map(|key| cx.objects.network(key.as_str(), &format!("{}.networks.{key}", cx.path)))
            .collect::<Result<_, _>>()?,
        Some(NetworkConfig::Networks(compose_spec::ShortOrLong::Long(map))) => map
            .iter()
            .map(|(key, attachment)| {
                let mut network = cx.objects.network(key.as_str(), &format!("{}.networks.{key}", cx.path))?;
                if let Some(attachment) = attachment {
                    network.aliases = attachment.aliases.iter().map(ToString::to_string).collect();
                }
                Ok(network)
            })
            .collect::<Result<_, ComposeError>>()?,
    };
    let servers: Vec<String> =
        service.dns.clone().map(|d| d.into_list().into_iter().map(|ip| ip.to_string()).collect()).unwrap_or_default();
    let search: Vec<String> = service
        .dns_search
        .clone()
        .map(|d| d.into_list().into_iter().map(|h| h.to_string()).collect())
        .unwrap_or_default();
    let options: Vec<String> = service.dns_opt.iter().cloned().collect();
    if !servers.is_empty() || !search.is_empty() || !options.is_empty() {
        body.dns = Some(Dns { servers, search, options });
    }
    body.hosts = cx.raw.extra_hosts.iter().cloned().collect();
    Ok(())
}

fn port_list(list: ports::Ports) -> Result<Vec<Port>, String> {
    let mut out = Vec::new();
    for port in ports::into_long_iter(list) {
        let published = match port.published {
            Some(range) if range.end().is_some() => {
                return Err(format!("port {}: a range of published ports is not supported", port.target));
            }
            other => other.map(|r| r.start()),
        };
        out.push(Port {
            target: port.target,
            published,
            protocol: port.protocol.map_or_else(|| "tcp".into(), |p| p.as_str().to_owned()),
            mode: port.mode.map_or_else(|| "ingress".into(), |m| m.as_str().to_owned()),
        });
    }
    Ok(out)
}
