//! Docker's notations for durations, CPUs, sizes and file modes, each with one canonical spelling
//! on chain, so that two bodies meaning the same have the same bytes.

use std::time::Duration;

use crate::SpecError;

/// `0.5` CPUs as Docker's NanoCPUs.
pub fn cpu_nanos(cpus: &str) -> Result<i64, SpecError> {
    let value: f64 =
        cpus.parse().map_err(|_| SpecError::field("resources.cpus", format!("{cpus:?} is not a number")))?;
    if !(value > 0.0 && value <= 4096.0) {
        return Err(SpecError::field("resources.cpus", format!("{cpus} is not between 0 and 4096")));
    }
    // Bounded above, so the product fits an i64.
    #[allow(clippy::cast_possible_truncation)]
    Ok((value * 1e9).round() as i64)
}

/// `128M`, `1g`, `512k`, `1024`, `64mb`: Docker's memory notation in bytes.
pub fn memory_bytes(memory: &str) -> Result<i64, SpecError> {
    let bad = || SpecError::field("resources.memory", format!("{memory:?} is not a size like 128M, 1G or 512k"));
    let lower = memory.to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, unit) = trimmed.split_at(trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len()));
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).filter(|b| *b > 0).ok_or_else(bad)
}

/// `500000000` NanoCPUs as `0.5`: the shortest decimal, so `0.50` and `.5` commit the same.
pub(crate) fn canonical_cpus(nanos: i64) -> String {
    let (whole, fraction) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if fraction == 0 { whole.to_string() } else { format!("{whole}.{fraction:09}").trim_end_matches('0').to_owned() }
}

/// Bytes in the largest binary unit that holds them exactly: `134217728` and `128m` become `128M`.
pub(crate) fn canonical_memory(bytes: i64) -> String {
    let unit = [("T", 40), ("G", 30), ("M", 20), ("K", 10)].into_iter().find(|(_, shift)| bytes % (1 << shift) == 0);
    unit.map_or_else(|| bytes.to_string(), |(suffix, shift)| format!("{}{suffix}", bytes >> shift))
}

/// Rewrites a size in its canonical spelling, naming `field` when it is not a size.
pub(crate) fn normalize_size(field: &str, size: &mut Option<String>) -> Result<(), SpecError> {
    if let Some(s) = size {
        let bytes = memory_bytes(s).map_err(|_| SpecError::field(field, format!("{s:?} is not a size like 64M")))?;
        *s = canonical_memory(bytes);
    }
    Ok(())
}

/// Parses a Docker-style duration (`300ms`, `10s`, `1m30s`).
pub fn parse_duration(field: &str, text: &str) -> Result<Duration, SpecError> {
    humantime::parse_duration(text)
        .map_err(|e| SpecError::field(field, format!("{text:?} is not a duration like 10s, 300ms or 1m30s ({e})")))
}

pub(crate) fn check_duration(field: &str, text: Option<&str>) -> Result<(), SpecError> {
    text.map_or(Ok(()), |t| parse_duration(field, t).map(drop))
}

/// Rewrites a duration in its one canonical spelling, e.g. `90s` -> `1m30s`.
pub(crate) fn normalize_duration(field: &str, text: &mut Option<String>) -> Result<(), SpecError> {
    if let Some(t) = text {
        let d = parse_duration(field, t)?;
        *t = if d.is_zero() { "0s".into() } else { humantime::format_duration(d).to_string().replace(' ', "") };
    }
    Ok(())
}

/// A file mode such as `0440`, as compose writes it: octal digits, at most `0777`.
pub fn parse_mode(field: &str, text: &str) -> Result<u32, SpecError> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|mode| *mode <= 0o777)
        .ok_or_else(|| SpecError::field(field, format!("{text:?} is not a file mode like 0440 (octal, at most 0777)")))
}

pub(crate) fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), SpecError> {
    match value {
        Some(v) if !allowed.contains(&v) => {
            Err(SpecError::field(field, format!("{v:?} is not one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

/// Refuses the NUL byte: no Docker string may hold one.
pub(crate) fn plain(field: &str, value: &str) -> Result<(), SpecError> {
    if value.contains('\0') { Err(SpecError::field(field, "contains a NUL byte")) } else { Ok(()) }
}

/// A non-empty string without NUL or line breaks: names, paths, users, signals.
pub(crate) fn word(field: &str, value: &str) -> Result<(), SpecError> {
    if value.is_empty() || value.contains(['\0', '\n', '\r']) {
        Err(SpecError::field(field, format!("{value:?} must be non-empty, on one line")))
    } else {
        Ok(())
    }
}

/// An absolute path in the container or on the host.
pub(crate) fn absolute_path(field: &str, value: &str) -> Result<(), SpecError> {
    word(field, value)?;
    if value.starts_with('/') {
        Ok(())
    } else {
        Err(SpecError::field(field, format!("{value:?} is not an absolute path")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_cpus_use_dockers_units() {
        assert_eq!(memory_bytes("128M"), Ok(128 << 20));
        assert_eq!(memory_bytes("1gb"), Ok(1 << 30));
        assert_eq!(memory_bytes("4096"), Ok(4096));
        assert!(memory_bytes("0").is_err() && memory_bytes("1.5G").is_err() && memory_bytes("99999999999T").is_err());
        assert_eq!(cpu_nanos("0.5"), Ok(500_000_000));
    }

    #[test]
    fn modes_are_octal_as_compose_writes_them() {
        assert_eq!(parse_mode("m", "0440"), Ok(0o440));
        assert_eq!(parse_mode("m", "440"), Ok(0o440));
        assert_eq!(parse_mode("m", "0o400"), Ok(0o400));
        assert!(parse_mode("m", "0999").is_err() && parse_mode("m", "01777").is_err());
    }
}
