//! One acting instance per Swarm (`--lease NAME`): however many node instances run against a
//! site's Swarm (a Swarm service started again elsewhere while the old task still runs behind a
//! partition, two managers each with the package), only the holder of the lease creates, changes,
//! removes and reports; the others follow the chain and wait.
//!
//! Expiry is judged on each instance's own monotonic clock, never by comparing clocks: a standby
//! takes the lease only when its record has not changed for a whole lease duration since it first
//! saw it, and the holder stops acting half a duration after its last successful renewal was
//! sent. The write the standby saw was committed after that send, so the holder stops at least
//! half a duration before anyone else may start.

use std::time::Duration;

use ledgerops_swarm::lease::LeaseRecord;
use ledgerops_swarm::{Error as DockerError, Swarm};
use tokio::time::Instant;

/// Where this instance stands.
#[derive(Debug, Clone)]
enum Standing {
    /// Not read yet, or another instance wrote first: read again.
    Unknown,
    /// This instance holds it; `renewed`: when its last successful write was sent.
    Held { renewed: Instant },
    /// Another instance holds it: the record as first seen, and when.
    Waiting { record: LeaseRecord, seen: Instant },
}

/// This instance's view of the lease.
#[derive(Debug)]
pub struct Lease {
    name: String,
    me: String,
    duration: Duration,
    standing: Standing,
}

impl Lease {
    /// The lease `name`, held for `duration` between renewals; this instance is named by host,
    /// process and start time (unique across restarts and hosts).
    pub fn new(name: String, duration: Duration) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let me = format!("{}/{}/{}", host.trim(), std::process::id(), started.as_millis());
        Self { name, me, duration, standing: Standing::Unknown }
    }

    /// This instance's name in the lease.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The holder this instance last saw, when another.
    pub fn other_holder(&self) -> Option<&str> {
        match &self.standing {
            Standing::Waiting { record, .. } => record.holder.as_deref(),
            _ => None,
        }
    }

    /// True while this instance may act: it holds the lease, renewed less than half a duration ago.
    pub fn acting(&self) -> bool {
        matches!(self.standing, Standing::Held { renewed } if renewed.elapsed() < self.duration / 2)
    }

    /// When the lease is to be looked at again: a renewal is due every sixth of a duration, and a
    /// standby looks as often whether it expired.
    pub fn next_check(&self) -> Instant {
        match self.standing {
            Standing::Held { renewed } => renewed + self.duration / 6,
            _ => Instant::now() + self.duration / 6,
        }
    }

    /// Reads the lease and takes it (free, given up, or unchanged for a whole duration), renews it
    /// (held, a sixth of a duration since the last renewal), or waits. Returns whether this
    /// instance acts.
    pub async fn refresh(&mut self, swarm: &Swarm) -> Result<bool, DockerError> {
        let now = Instant::now();
        if let Standing::Held { renewed } = self.standing
            && now.duration_since(renewed) < self.duration / 6
        {
            return Ok(true);
        }
        let record = swarm.read_lease(&self.name).await?;
        let Some(record) = record else { return self.take(swarm, None, now).await };
        if record.holder.is_none() || record.holder.as_deref() == Some(self.me.as_str()) {
            return self.take(swarm, Some(&record), now).await;
        }
        match &self.standing {
            Standing::Waiting { record: seen_record, seen } if seen_record.version == record.version => {
                if now.duration_since(*seen) >= self.duration {
                    tracing::warn!(lease = %self.name, holder = ?record.holder, "the lease's holder has not renewed it for {:?}: taking it over", self.duration);
                    return self.take(swarm, Some(&record), now).await;
                }
            }
            _ => {
                if matches!(self.standing, Standing::Held { .. }) {
                    tracing::warn!(lease = %self.name, holder = ?record.holder, "the lease went to another instance: standing by");
                } else {
                    tracing::info!(lease = %self.name, holder = ?record.holder, "another instance holds the lease: standing by");
                }
                self.standing = Standing::Waiting { record, seen: now };
            }
        }
        Ok(false)
    }

    /// Writes this instance in over `read` (sent at `sent`).
    async fn take(&mut self, swarm: &Swarm, read: Option<&LeaseRecord>, sent: Instant) -> Result<bool, DockerError> {
        let renewing = matches!(self.standing, Standing::Held { .. });
        if swarm.write_lease(&self.name, Some(&self.me), read).await? {
            if !renewing {
                tracing::info!(lease = %self.name, me = %self.me, "holding the lease: this instance acts on the Swarm");
            }
            self.standing = Standing::Held { renewed: sent };
            Ok(true)
        } else {
            self.standing = Standing::Unknown;
            Ok(false)
        }
    }

    /// Gives the lease up when this instance holds it, so a standby takes it at once rather than
    /// after a duration (a stop, a rolling update of the node's own service).
    pub async fn release(&mut self, swarm: &Swarm) {
        if !matches!(self.standing, Standing::Held { .. }) {
            return;
        }
        let released = match swarm.read_lease(&self.name).await {
            Ok(Some(record)) if record.holder.as_deref() == Some(self.me.as_str()) => {
                swarm.write_lease(&self.name, None, Some(&record)).await
            }
            other => other.map(|_| false),
        };
        match released {
            Ok(true) => tracing::info!(lease = %self.name, "lease given up"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(lease = %self.name, error = %e, "cannot give the lease up: a standby takes it when it expires")
            }
        }
        self.standing = Standing::Unknown;
    }
}
