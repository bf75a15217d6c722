//! Which sites a revision runs on: those it names, or every site when it names none.

use alloy::primitives::B256;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;

/// True when `spec` runs at one of `sites` (every spec without sites runs everywhere).
pub fn placed_on<'a>(spec: &ServiceSpec, sites: impl IntoIterator<Item = &'a B256>) -> bool {
    spec.sites.is_empty() || sites.into_iter().any(|site| spec.sites.contains(site))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::keccak256;

    use super::*;

    #[test]
    fn a_spec_runs_where_it_names_or_everywhere_when_it_names_nothing() {
        let here = ServiceSpec { sites: vec![keccak256("a"), keccak256("b")], ..Default::default() };
        assert!(placed_on(&here, &[keccak256("b")]));
        assert!(!placed_on(&here, &[keccak256("c")]));
        assert!(!placed_on(&here, &[]));
        assert!(placed_on(&ServiceSpec::default(), &[]), "no sites: every site, even a node without one");
    }
}
