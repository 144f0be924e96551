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
    /// GetChange of the state's pending change, if any.
    pub change_status: Option<ChangeStatus>,
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
    pub change_id: Option<String>,
}
