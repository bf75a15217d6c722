//! The names and ids the registry and Swarm use, each computed here and nowhere else: the name
//! rules the contract also enforces (DNS labels for namespaces and sites; for services, the names
//! `docker stack deploy` accepts), the ids the contract derives from names, and the Swarm name of
//! a registry service.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, B256, keccak256};

/// Longest name: a DNS label.
const MAX_NAME_LEN: usize = 63;

/// A name that breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} name {name:?} is invalid: {rule}")]
pub struct NameError {
    /// What the name is for ("service", "site", ...).
    pub kind: &'static str,
    /// The name as given.
    pub name: String,
    /// The rule it breaks.
    pub rule: String,
}

/// Accepts 1-63 bytes of `a-z0-9-` that start and end with a letter or digit.
pub fn validate_name(kind: &'static str, name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-');
    if valid {
        Ok(())
    } else {
        let rule = "1-63 characters of a-z, 0-9 and -, starting and ending with a letter or digit".into();
        Err(NameError { kind, name: name.to_owned(), rule })
    }
}

/// Accepts the service names `docker stack deploy` accepts, as the contract does: `a-zA-Z0-9_-`,
/// starting and ending with a letter or digit, such that the Swarm service `<namespace>_<name>`
/// has at most 63 bytes (Swarm's rule for service names, applied to the name it makes).
pub fn validate_service_name(namespace: &str, name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    let separator = |b: Option<&u8>| matches!(b, Some(b'-' | b'_'));
    let valid = !bytes.is_empty()
        && namespace.len() + 1 + bytes.len() <= MAX_NAME_LEN
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        && !separator(bytes.first())
        && !separator(bytes.last());
    if valid {
        Ok(())
    } else {
        let room = MAX_NAME_LEN.saturating_sub(namespace.len() + 1);
        let rule = format!(
            "1-{room} characters of a-z, A-Z, 0-9, - and _, starting and ending with a letter or digit \
             (the Swarm service {namespace}_<name> has at most {MAX_NAME_LEN})"
        );
        Err(NameError { kind: "service", name: name.to_owned(), rule })
    }
}

/// The id of a site label, as the registry computes it; refuses labels that break the name rule.
pub fn site_id(label: &str) -> Result<B256, NameError> {
    validate_name("site", label)?;
    Ok(keccak256(label))
}

/// The id of a namespace, as the registry computes it (`keccak256(namespace)`).
pub fn namespace_id(namespace: &str) -> B256 {
    keccak256(namespace)
}

/// Why a `namespace/service` reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceNameError {
    /// There is no `/` between the two names.
    #[error("{0:?} is not namespace/service")]
    NoSlash(String),
    /// One of the two names breaks the rule.
    #[error(transparent)]
    Name(#[from] NameError),
}

/// A registry service: `namespace/name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceName {
    /// Its namespace.
    pub namespace: String,
    /// Its name in the namespace.
    pub name: String,
}

impl ServiceName {
    /// A service name from its two parts, as the registry's events carry them (not checked: the
    /// contract checked them; [`FromStr`] checks what people type).
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), name: name.into() }
    }

    /// The registry's id for the service: `keccak256("namespace/name")`.
    pub fn id(&self) -> B256 {
        keccak256(self.to_string())
    }

    /// The Swarm service name, `namespace_name`, as `docker stack deploy` names a stack's
    /// services. Names hold no `_`, so the first `_` splits it back ([`Self::from_swarm_name`]).
    pub fn swarm_name(&self) -> String {
        format!("{}_{}", self.namespace, self.name)
    }

    /// The registry service a Swarm service name stands for; `None` for a name without `_`.
    pub fn from_swarm_name(swarm_name: &str) -> Option<Self> {
        let (namespace, name) = swarm_name.split_once('_')?;
        Some(Self::new(namespace, name))
    }
}

impl FromStr for ServiceName {
    type Err = ServiceNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (namespace, name) = s.split_once('/').ok_or_else(|| ServiceNameError::NoSlash(s.to_owned()))?;
        validate_name("namespace", namespace)?;
        validate_service_name(namespace, name)?;
        Ok(Self::new(namespace, name))
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A registry on its chain, as the node labels the Swarm objects it makes for it
/// (`31337/0x5fbd…0aa3`): service ids and Swarm names are the same in every registry, so without
/// it a node pointed at another registry (a test one, a typo, a successor) would take a site's
/// services for its own, and update or prune them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryId {
    /// The chain's id.
    pub chain_id: u64,
    /// The registry's address.
    pub address: Address,
}

impl fmt::Display for RegistryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lowercase: one spelling, compared as text in label filters.
        write!(f, "{}/{}", self.chain_id, alloy::hex::encode_prefixed(self.address))
    }
}

impl FromStr for RegistryId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not CHAIN_ID/0xADDRESS");
        let (chain, address) = s.split_once('/').ok_or_else(bad)?;
        Ok(Self { chain_id: chain.parse().map_err(|_| bad())?, address: address.parse().map_err(|_| bad())? })
    }
}

/// The Docker name of a namespace's own network, volume or config `key`, as
/// `docker stack deploy` names a stack's objects: `<namespace>_<key>`.
pub fn stack_object_name(namespace: &str, key: &str) -> String {
    format!("{namespace}_{key}")
}

/// True when `docker_name` (a network's, volume's, secret's or config's) is `namespace`'s own:
/// `<namespace>_...`. Namespace names hold no `_`, so no other namespace's names start so.
pub fn namespace_owns(namespace: &str, docker_name: &str) -> bool {
    docker_name.strip_prefix(namespace).is_some_and(|rest| rest.starts_with('_'))
}

/// Longest Docker config name.
const MAX_CONFIG_NAME_LEN: usize = 64;

/// The Docker name of a config the namespace defines by its content: `<namespace>_<key>-<12 hex
/// of the content's hash>`. Swarm cannot change a config, so a new content is a new config, and
/// the service that uses it rolls. Long names are cut before the hash (Docker allows 64 bytes).
pub fn content_config_name(namespace: &str, key: &str, content: &str) -> String {
    let hash = keccak256(content.as_bytes());
    let suffix = format!("-{}", &alloy::hex::encode(hash)[..12]);
    let mut base = stack_object_name(namespace, key);
    base.truncate(MAX_CONFIG_NAME_LEN - suffix.len());
    base + &suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels_and_refuses_the_rest() {
        for ok in ["web", "a", "web-2", "0abc", &"a".repeat(63)] {
            assert!(validate_name("service", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-web", "web-", "Web", "web_1", "web.1", &"a".repeat(64)] {
            assert!(validate_name("service", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_service_name_parses_checks_and_maps_to_its_ids_and_swarm_name() {
        let web: ServiceName = "shop/web".parse().expect("valid");
        assert_eq!(web.id(), keccak256("shop/web"));
        assert_eq!(web.swarm_name(), "shop_web");
        assert_eq!(ServiceName::from_swarm_name("shop_web"), Some(web.clone()));
        assert_eq!(web.to_string(), "shop/web");
        assert_eq!("shop".parse::<ServiceName>(), Err(ServiceNameError::NoSlash("shop".into())));
        assert!(matches!("Shop/web".parse::<ServiceName>(), Err(ServiceNameError::Name(e)) if e.kind == "namespace"));
        assert!("shop/alertmanagerB".parse::<ServiceName>().is_ok(), "Swarm takes upper case in a service name");
        let proxy: ServiceName = "shop/reverse_proxy".parse().expect("as docker stack deploy takes it");
        assert_eq!(proxy.swarm_name(), "shop_reverse_proxy");
        assert_eq!(ServiceName::from_swarm_name("shop_reverse_proxy"), Some(proxy));
        assert!(validate_service_name("shop", &"w".repeat(58)).is_ok());
        let long = validate_service_name("shop", &"w".repeat(59)).expect_err("over Swarm's 63");
        assert!(long.to_string().contains("at most 63"), "{long}");
        for bad in ["_web", "web_", "web.1", ""] {
            assert!(validate_service_name("shop", bad).is_err(), "{bad}");
        }
        assert_eq!(site_id("store-1"), Ok(keccak256("store-1")));
        assert!(site_id("Site A").is_err());
        assert_eq!(namespace_id("shop"), keccak256("shop"));
        assert_eq!(stack_object_name("shop", "front"), "shop_front");
        assert!(namespace_owns("shop", "shop_front") && !namespace_owns("shop", "shop-eu_front"));
        assert!(!namespace_owns("shop", "shop") && !namespace_owns("shop", "traefik-public"));
        let registry = RegistryId {
            chain_id: 31337,
            address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".parse().expect("address"),
        };
        assert_eq!(registry.to_string(), "31337/0x5fbdb2315678afecb367f032d93f642f64180aa3");
        assert_eq!(registry.to_string().parse(), Ok(registry));
        assert!("0x5fbd".parse::<RegistryId>().is_err() && "x/0x5fbd".parse::<RegistryId>().is_err());
        let config = content_config_name("shop", "nginx", "worker_processes 1;\n");
        assert!(config.starts_with("shop_nginx-") && config.len() == "shop_nginx-".len() + 12, "{config}");
        assert_ne!(config, content_config_name("shop", "nginx", "worker_processes 2;\n"), "a new content, a new name");
        assert_eq!(content_config_name("shop", &"k".repeat(80), "x").len(), 64);
    }
}
