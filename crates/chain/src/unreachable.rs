//! Why an endpoint could not be reached, in the user's terms. Transports nest their errors
//! (reqwest's top line is only "error sending request for url (...)", the certificate problem is
//! three sources down), so the whole chain is told, with the URL redacted wherever a library
//! quoted it, and the two causes a private chain's user can fix get a hint: an unknown CA and a
//! refused token.

use std::error::Error;

use alloy::transports::TransportError;

use crate::Endpoint;
use crate::redact::redact_in;

/// What the transport said, every cause of it, redacted, with a hint when one applies.
pub(crate) fn reason(endpoint: &Endpoint, error: &TransportError) -> String {
    // An HTTP error's body often ends in a newline: the message stays one line.
    let mut told = error.to_string().trim_end().to_owned();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string().trim_end().to_owned();
        if !told.contains(&said) {
            told = format!("{told}: {said}");
        }
        source = cause.source();
    }
    let told = redact_in(&told, endpoint.url());
    match hint(error, &told) {
        Some(hint) => format!("{told} ({hint})"),
        None => told,
    }
}

fn hint(error: &TransportError, told: &str) -> Option<&'static str> {
    let status = error.as_transport_err().and_then(|kind| kind.as_http_error()).map(|http| http.status);
    if told.contains("UnknownIssuer") || told.contains("invalid peer certificate") {
        Some("the RPC's TLS certificate is not signed by a CA this machine trusts: give its CA with --rpc-ca-cert")
    } else if matches!(status, Some(401 | 403)) || told.contains("401 Unauthorized") || told.contains("403 Forbidden") {
        Some("the RPC refused the request as unauthorized: give its token with --rpc-bearer-token-file, or check it")
    } else {
        None
    }
}
