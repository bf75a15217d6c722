//! The names and ids the registry and Swarm use, each computed here and nowhere else: the name
//! rule (Docker's service name rule, which the contract enforces for namespaces, services and
//! sites), the ids the contract derives from names, and the Swarm name of a registry service.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{B256, keccak256};

/// Longest name: a DNS label.
const MAX_NAME_LEN: usize = 63;

/// A name that breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{kind} name {name:?} is invalid: 1-63 characters of a-z, 0-9 and -, starting and ending with a letter or digit"
)]
pub struct NameError {
    /// What the name is for ("service", "site", ...).
    pub kind: &'static str,
    /// The name as given.
    pub name: String,
}

/// Accepts 1-63 bytes of `a-z0-9-` that start and end with a letter or digit.
pub fn validate_name(kind: &'static str, name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-');
    if valid { Ok(()) } else { Err(NameError { kind, name: name.to_owned() }) }
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
        validate_name("service", name)?;
        Ok(Self::new(namespace, name))
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
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
        assert!(matches!("shop/Web".parse::<ServiceName>(), Err(ServiceNameError::Name(e)) if e.kind == "service"));
        assert_eq!(site_id("store-1"), Ok(keccak256("store-1")));
        assert!(site_id("Site A").is_err());
        assert_eq!(namespace_id("shop"), keccak256("shop"));
    }
}
