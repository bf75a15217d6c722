//! Docker's service name rule, which the contract also enforces for namespaces, services and sites.

use crate::SpecError;

/// Longest name: a DNS label.
const MAX_NAME_LEN: usize = 63;

/// Accepts 1-63 bytes of `a-z0-9-` that start and end with a letter or digit.
pub fn validate_name(kind: &'static str, name: &str) -> Result<(), SpecError> {
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-');
    if valid { Ok(()) } else { Err(SpecError::BadName { kind, name: name.to_owned() }) }
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
}
