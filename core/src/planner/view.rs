//! What the planner is given to decide on, and what it asks the engine to observe first.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::observation::{ClusterHealth, Observed, SourceObject};
use crate::route53::model::{ChangeStatus, RecordSet};
use crate::traffic::TrafficView;
use crate::types::Name;

/// What the engine observed for one service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceView {
    /// Every rrset of the service's zone whose name is in `names_of_interest()`.
    pub records: Vec<RecordSet>,
    /// The source objects (Ingresses, Services, HTTPRoutes) of each cluster that carry the
    /// service's hostname (the engine filters; the planner filters again by host, kind and pin,
    /// so passing all is harmless); absent: not listed.
    pub sources: BTreeMap<Name, Observed<Vec<SourceObject>>>,
    /// Health per cluster; absent: not probed.
    pub health: BTreeMap<Name, ClusterHealth>,
    /// GetChange of the state's pending change, if any: for a change found by its tag, INSYNC
    /// only when every request recorded under the tag is.
    pub change_status: Option<ChangeStatus>,
    /// The state's pending change has a tag, but the zone's change record lists no request under
    /// it (the write after sending was lost): the INSYNC gate falls back to its assumption.
    pub change_untracked: bool,
    /// The tag this invocation gives the changes it sends: a state record that moves traffic
    /// carries it, and the engine records the ids of the requests under it in the zone's change
    /// record (`crate::changes`). `None`: no tag (the id is then never known, and the INSYNC gate
    /// falls back to its assumption).
    pub write_tag: Option<String>,
    /// Real traffic: the configured alarms and the load balancers' metrics (docs/design.md §4);
    /// empty when none are configured or they were not read.
    pub traffic: TrafficView,
}

/// What the engine must observe for a service before `decide`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Needs {
    pub probe: bool,
    /// The clusters' source objects (Ingresses, Services, HTTPRoutes) must be listed.
    pub sources: bool,
    /// The pending change's id, when the state record holds it (format 1).
    pub change_id: Option<String>,
    /// The pending change's tag: its ids are in the zone's change record.
    pub change_tag: Option<String>,
}
