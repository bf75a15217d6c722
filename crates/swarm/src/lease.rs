//! The lease that lets one node instance act on a Swarm at a time, however many run: a Swarm
//! service restarted elsewhere during a failover while the old task still runs behind a
//! partition, two managers each with the package installed. The lease is a service of no
//! replicas (nothing runs, nothing is pulled) whose label names its holder. Taking, renewing and
//! giving it up are updates at the version read: Swarm's raft store commits one only on a quorum
//! of managers and only if nobody wrote in between, so two instances never both succeed.

use std::collections::HashMap;

use bollard::models::{ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec, TaskSpecContainerSpec};
use bollard::query_parameters::UpdateServiceOptions;

use crate::{Error, Result, Swarm};

/// The label naming the holder (empty: free).
pub const HOLDER: &str = "ledgerops.lease.holder";

/// The lease as read: who holds it and the version any write must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The service's id.
    pub id: String,
    /// Swarm's version of it: changes with every write, so an observer sees renewals.
    pub version: u64,
    /// The holder; `None` when given up.
    pub holder: Option<String>,
}

/// The Swarm service that holds lease `name`.
pub fn lease_service(name: &str) -> String {
    format!("ledgerops-lease-{name}")
}

impl Swarm {
    /// Reads lease `name`; `None` before anyone took it.
    pub async fn read_lease(&self, name: &str) -> Result<Option<LeaseRecord>> {
        match self.call("service inspect", self.docker.inspect_service(&lease_service(name), None)).await {
            Ok(service) => {
                let holder = service.spec.as_ref().and_then(|s| s.labels.as_ref()).and_then(|l| l.get(HOLDER));
                Ok(Some(LeaseRecord {
                    id: service.id.unwrap_or_default(),
                    version: service.version.and_then(|v| v.index).unwrap_or_default(),
                    holder: holder.filter(|h| !h.is_empty()).cloned(),
                }))
            }
            Err(Error::Refused(message)) if message.contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `holder` (`None`: gives it up) over `read` (`None`: creates the lease). `Ok(false)`
    /// when another instance wrote first: the caller has not got it.
    pub async fn write_lease(&self, name: &str, holder: Option<&str>, read: Option<&LeaseRecord>) -> Result<bool> {
        let spec = lease_spec(name, holder.unwrap_or_default());
        let written = match read {
            None => self.call("service create", self.docker.create_service(spec, None)).await.map(drop),
            Some(record) => {
                let version = i32::try_from(record.version)
                    .map_err(|_| Error::Refused(format!("lease version {} is out of range", record.version)))?;
                let options = UpdateServiceOptions { version, ..Default::default() };
                self.call("service update", self.docker.update_service(&record.id, spec, options, None)).await.map(drop)
            }
        };
        match written {
            Ok(()) => Ok(true),
            Err(Error::Conflict) => Ok(false),
            // Created meanwhile by another instance.
            Err(Error::Refused(message))
                if message.contains("already exists") || message.contains("name conflicts") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// The lease service's image: a reference by digest that nothing can be pulled for.
const LEASE_IMAGE: &str =
    "ledgerops.invalid/lease@sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A service that never runs a task: its labels are the record.
fn lease_spec(name: &str, holder: &str) -> ServiceSpec {
    ServiceSpec {
        name: Some(lease_service(name)),
        labels: Some(HashMap::from([(HOLDER.to_owned(), holder.to_owned())])),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(0) }),
            ..Default::default()
        }),
        task_template: Some(TaskSpec {
            // Never pulled: no task is ever scheduled. Should someone scale it up, nothing can be:
            // no registry answers for `.invalid`, and no content has an all-zero digest.
            container_spec: Some(TaskSpecContainerSpec { image: Some(LEASE_IMAGE.into()), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
