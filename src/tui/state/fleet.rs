//! The fleet tab's state: the inventory, the query and its hits, the order rows are shown in,
//! the selection and the scroll position. Re-filtering and re-sorting happen here, only when the
//! query, the sort or the data change — never per frame.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::diagnosis::compare_versions;
use crate::model::{HealthCounts, Instance};
use crate::search::{FleetIndex, Hit, Query};
use crate::tui::action::SortColumn;

/// `None` column: best match first when the query has text, else inventory order (by name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    pub column: Option<SortColumn>,
    pub reverse: bool,
}

pub struct FleetState {
    instances: Vec<Instance>,
    index: FleetIndex,
    /// What was typed after `/` (kept visible, even when it does not parse).
    pub input: String,
    /// The filter input has focus.
    pub editing: bool,
    /// The last query that parsed: the one the rows come from.
    query: Query,
    pub query_error: Option<String>,
    hits: Vec<Hit>,
    /// Instance indices in display order.
    rows: Vec<usize>,
    pub sort: Sort,
    /// Position in `rows`.
    pub selected: usize,
    /// First row shown.
    pub offset: usize,
    /// Rows the table showed at the last layout (kept current on resize).
    pub viewport: usize,
    pub detail: bool,
    counts: HealthCounts,
    /// How the last search ran: for tests and the benchmark to see narrowing happen.
    pub last_search_narrowed: bool,
}

impl Default for FleetState {
    fn default() -> Self {
        FleetState::new(Vec::new())
    }
}

impl FleetState {
    pub fn new(instances: Vec<Instance>) -> FleetState {
        let mut s = FleetState {
            index: FleetIndex::new(&instances),
            counts: HealthCounts::of(&instances),
            instances,
            input: String::new(),
            editing: false,
            query: Query::default(),
            query_error: None,
            hits: Vec::new(),
            rows: Vec::new(),
            sort: Sort::default(),
            selected: 0,
            offset: 0,
            viewport: 20,
            detail: false,
            last_search_narrowed: false,
        };
        s.search_all();
        s.order_rows(None);
        s
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    pub fn counts(&self) -> HealthCounts {
        self.counts
    }

    pub fn row_instance(&self, position: usize) -> Option<&Instance> {
        self.rows.get(position).map(|&i| &self.instances[i])
    }

    pub fn selected_instance(&self) -> Option<&Instance> {
        self.row_instance(self.selected)
    }

    /// Index (into `instances`) of the selected row's instance.
    fn selected_index(&self) -> Option<usize> {
        self.rows.get(self.selected).copied()
    }

    /// New inventory: the query and sort stay, the selection follows its instance.
    pub fn replace_instances(&mut self, instances: Vec<Instance>) {
        let keep_id = self.selected_instance().map(|i| i.instance_id.clone());
        let keep = keep_id.and_then(|id| instances.iter().position(|i| i.instance_id == id));
        self.index = FleetIndex::new(&instances);
        self.counts = HealthCounts::of(&instances);
        self.instances = instances;
        self.search_all();
        self.order_rows(keep);
    }

    /// The filter text changed. A query that does not parse leaves the rows as they were and
    /// says why. The best match is selected (as in fzf): the host being looked for is one
    /// Enter away.
    pub fn set_input(&mut self, input: String) {
        self.input = input;
        match Query::parse(&self.input) {
            Ok(query) => {
                self.query_error = None;
                let narrows = query.narrows(&self.query);
                self.query = query;
                if narrows {
                    let candidates: Vec<usize> = self.hits.iter().map(|h| h.index).collect();
                    self.hits = self
                        .index
                        .search_within(&self.instances, &self.query, candidates);
                    self.last_search_narrowed = true;
                } else {
                    self.search_all();
                }
                self.offset = 0;
                self.order_rows(None);
            }
            Err(e) => self.query_error = Some(e.to_string()),
        }
    }

    fn search_all(&mut self) {
        self.hits = self.index.search(&self.instances, &self.query);
        self.last_search_narrowed = false;
    }

    pub fn set_sort(&mut self, sort: Sort) {
        let keep = self.selected_index();
        self.sort = sort;
        self.order_rows(keep);
    }

    /// Rows from hits in the chosen order; the selection stays on instance `keep` if it is
    /// still shown.
    fn order_rows(&mut self, keep: Option<usize>) {
        self.rows = self.hits.iter().map(|h| h.index).collect();
        if let Some(column) = self.sort.column {
            let instances = &self.instances;
            self.rows
                .sort_by(|&a, &b| compare(column, &instances[a], &instances[b]).then(a.cmp(&b)));
        }
        if self.sort.reverse {
            self.rows.reverse();
        }
        self.selected = keep
            .and_then(|k| self.rows.iter().position(|&i| i == k))
            .unwrap_or(0);
        self.scroll_to_selection();
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            self.selected = 0;
            return;
        }
        let last = self.rows.len() - 1;
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.scroll_to_selection();
    }

    pub fn move_to(&mut self, position: usize) {
        self.selected = position.min(self.rows.len().saturating_sub(1));
        self.scroll_to_selection();
    }

    pub fn set_viewport(&mut self, rows: usize) {
        self.viewport = rows.max(1);
        self.scroll_to_selection();
    }

    /// Keeps the selection in view, scrolling as little as possible.
    fn scroll_to_selection(&mut self) {
        let h = self.viewport.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        let max_offset = self.rows.len().saturating_sub(h);
        self.offset = self.offset.min(max_offset);
    }
}

fn compare(column: SortColumn, a: &Instance, b: &Instance) -> Ordering {
    let by_name = || a.display_name().cmp(b.display_name());
    match column {
        SortColumn::Name => by_name(),
        SortColumn::Id => a.instance_id.cmp(&b.instance_id),
        SortColumn::Region => a.region.cmp(&b.region).then_with(by_name),
        SortColumn::State => a.state.cmp(&b.state).then_with(by_name),
        SortColumn::Ping => a.ping_status.cmp(&b.ping_status).then_with(by_name),
        // Most recent first; never-pinged last.
        SortColumn::LastPing => {
            let key =
                |i: &Instance| std::cmp::Reverse(i.last_ping.unwrap_or(DateTime::<Utc>::MIN_UTC));
            key(a).cmp(&key(b)).then_with(by_name)
        }
        SortColumn::Agent => {
            let va = a.agent_version.as_deref().unwrap_or("");
            let vb = b.agent_version.as_deref().unwrap_or("");
            compare_versions(va, vb)
                .unwrap_or_else(|| va.cmp(vb))
                .then_with(by_name)
        }
        SortColumn::Platform => a.platform.cmp(&b.platform).then_with(by_name),
        SortColumn::PrivateIp => {
            let ip = |i: &Instance| {
                i.private_ip
                    .as_deref()
                    .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            };
            ip(a).cmp(&ip(b)).then_with(by_name)
        }
    }
}
