//! What the benchmark programs share: their knobs, the figures they read from /proc, the
//! summary they print, and the spec they publish at scale.

use std::time::Duration;

/// The number in environment variable `name`, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// (resident kB, CPU seconds used so far: user + system) of process `pid`, from /proc.
pub fn process_usage(pid: u32) -> eyre::Result<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| eyre::eyre!("no VmRSS for process {pid}"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let fields: Vec<&str> = stat.rsplit_once(") ").map(|(_, rest)| rest.split(' ').collect()).unwrap_or_default();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?; // utime + stime
    Ok((rss, ticks as f64 / 100.0))
}

/// The smallest, median and largest of `figures` (not empty).
pub fn min_median_max(mut figures: Vec<Duration>) -> [Duration; 3] {
    figures.sort();
    [figures[0], figures[figures.len() / 2], figures[figures.len() - 1]]
}

/// A spec body of ~300 bytes, as a typical service publishes: 6 env vars (`MODE=svc-{i}` among
/// them) and 2 labels.
pub fn typical_body(i: usize) -> String {
    format!(
        r#"{{"v":1,"env":{{"MODE":"svc-{i}","LOG_LEVEL":"info","REGION":"eu-west-3","UPSTREAM":"https://api.internal.example:8443/v2","FEATURE_FLAGS":"search,cache,metrics","TIMEOUT_MS":"2500"}},"labels":{{"team":"edge-platform","tier":"frontend"}}}}"#
    )
}
