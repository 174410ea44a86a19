//! Bulk runs in the console: the confirm overlay (the plan a person reads before anything is
//! sent) and a run tab (live per-host status, then grouped outputs). Plain data built from
//! `crate::run`'s types; the run itself is a task (`tasks::spawn_run`) reporting `RunEvent`s.

use std::collections::{BTreeSet, HashMap};

use crate::run::{
    Confirmation, Counts, Document, HostStatus, OutputGroup, Plan, RunEvent, RunReport,
    SentCommand, Targeting, diff_against, group_outputs,
};

/// A line of the confirm overlay's scrollable list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmLine {
    Heading(String),
    Host(String),
    Skipped(String),
    /// Something about the plan to read before sending (shown first, in the warning colour).
    Warning(String),
}

/// The guard before a run: nothing is sent until this overlay is accepted (with the typed
/// count when `confirmation` asks for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfirm {
    pub plan: Plan,
    pub confirmation: Option<Confirmation>,
    /// What the user typed (the count, when asked).
    pub typed: String,
    /// First line of `lines` shown.
    pub scroll: usize,
    pub lines: Vec<ConfirmLine>,
    /// Set when this re-runs the failed hosts of run tab N.
    pub rerun_of: Option<u64>,
}

pub fn host_label(name: Option<&str>, id: &str) -> String {
    match name {
        Some(n) if !n.is_empty() && n != id => format!("{n} ({id})"),
        _ => id.to_string(),
    }
}

impl RunConfirm {
    pub fn new(plan: Plan, confirmation: Option<Confirmation>, rerun_of: Option<u64>) -> Self {
        let mut lines = Vec::new();
        let windows: usize = plan
            .sends
            .iter()
            .filter(|s| s.document == Document::PowerShell)
            .map(|s| s.hosts.len())
            .sum();
        if windows > 0 && windows < plan.target_count {
            lines.push(ConfirmLine::Warning(format!(
                "Mixed platforms: the same command text runs as PowerShell on the {windows} \
                 Windows host{} and as sh on the others",
                plural(windows)
            )));
        }
        lines.push(ConfirmLine::Heading(format!(
            "Targets ({}):",
            plan.target_count
        )));
        for s in &plan.sends {
            let how = match &s.targeting {
                Targeting::Tags(tags) => tags
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                Targeting::InstanceIds => format!("{} instance ids", s.hosts.len()),
            };
            lines.push(ConfirmLine::Heading(format!(
                "  {}/{} {} [{how}]",
                s.profile, s.region, s.document
            )));
            for h in &s.hosts {
                lines.push(ConfirmLine::Host(format!(
                    "    {}",
                    host_label(h.name.as_deref(), &h.instance_id)
                )));
            }
        }
        if !plan.skipped.is_empty() {
            lines.push(ConfirmLine::Heading(format!(
                "Skipped, not sent ({}):",
                plan.skipped.len()
            )));
            for s in &plan.skipped {
                let at = match (&s.profile, &s.region) {
                    (Some(p), Some(r)) => format!(" {p}/{r}"),
                    _ => String::new(),
                };
                lines.push(ConfirmLine::Skipped(format!(
                    "    {}{at}: {}",
                    host_label(s.name.as_deref(), &s.instance_id),
                    s.reason
                )));
            }
        }
        RunConfirm {
            plan,
            confirmation,
            typed: String::new(),
            scroll: 0,
            lines,
            rerun_of,
        }
    }

    /// The plan's one-line summary: documents, hosts, profile/regions, requests.
    pub fn summary(&self) -> String {
        let plan = &self.plan;
        let regions: BTreeSet<(&str, &str)> = plan
            .sends
            .iter()
            .map(|s| (s.profile.as_str(), s.region.as_str()))
            .collect();
        let n = plan.target_count;
        format!(
            "{n} host{} in {} profile/region{}, {} SendCommand request{}",
            plural(n),
            regions.len(),
            plural(regions.len()),
            plan.sends.len(),
            plural(plan.sends.len()),
        )
    }

    pub fn documents(&self) -> String {
        let docs: Vec<&str> = self.plan.documents().iter().map(|d| d.name()).collect();
        if docs.is_empty() {
            "nothing".into()
        } else {
            docs.join(" + ")
        }
    }

    pub fn rates(&self) -> String {
        let o = &self.plan.options;
        format!(
            "MaxConcurrency {} · MaxErrors {} · timeout {}",
            o.max_concurrency
                .map_or("50 (AWS default)".into(), |r| r.to_string()),
            o.max_errors
                .map_or("0 (AWS default)".into(), |r| r.to_string()),
            o.execution_timeout
                .map_or("3600 s (AWS default)".into(), |s| format!("{s} s")),
        ) + if o.cloudwatch.is_some() {
            " · CloudWatch output on"
        } else {
            ""
        }
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One target host's live status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHost {
    pub instance_id: String,
    pub label: String,
    pub region: String,
    pub status: HostStatus,
    pub details: String,
}

/// A run tab: the plan it sent, live status per host, and the report once it is done.
#[derive(Debug, Clone)]
pub struct RunTab {
    pub id: u64,
    pub plan: Plan,
    /// How the run was confirmed, as the audit line says it ("typed", "not-needed").
    pub confirmation: String,
    pub hosts: Vec<RunHost>,
    index: HashMap<String, usize>,
    pub counts: Counts,
    pub sends: Vec<SentCommand>,
    pub notes: Vec<String>,
    pub report: Option<RunReport>,
    pub groups: Vec<OutputGroup>,
    /// Position in the list: groups then hosts once done, hosts while running.
    pub selected: usize,
    /// The output pane of the selected group or host is open.
    pub output: bool,
    /// First line of the output pane shown.
    pub output_scroll: usize,
    pub cancelling: bool,
    /// AWS requests this run has made so far (its own counter, read on the frame tick).
    pub api_calls: u64,
    /// The command id, when this tab watches a command sent earlier (opened from the Runs tab).
    pub past: Option<String>,
}

impl RunTab {
    pub fn new(id: u64, plan: Plan, confirmation: &str) -> RunTab {
        let hosts: Vec<RunHost> = plan
            .hosts()
            .map(|h| RunHost {
                instance_id: h.instance_id.clone(),
                label: host_label(h.name.as_deref(), &h.instance_id),
                region: h.region.clone(),
                status: HostStatus::Pending,
                details: String::new(),
            })
            .collect();
        let index = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.instance_id.clone(), i))
            .collect();
        let counts = Counts {
            total: hosts.len(),
            pending: hosts.len(),
            ..Counts::default()
        };
        RunTab {
            id,
            plan,
            confirmation: confirmation.to_owned(),
            hosts,
            index,
            counts,
            sends: Vec::new(),
            notes: Vec::new(),
            report: None,
            groups: Vec::new(),
            selected: 0,
            output: false,
            output_scroll: 0,
            cancelling: false,
            api_calls: 0,
            past: None,
        }
    }

    /// A tab watching command `command_id`, sent earlier; `plan` is the command as
    /// `run::history::plan_for` rebuilt it.
    pub fn past(id: u64, plan: Plan, command_id: String) -> RunTab {
        let mut tab = RunTab::new(id, plan, "history");
        tab.past = Some(command_id);
        tab
    }

    /// The command ids of this run (as sent, or the one it watches).
    pub fn command_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .sends
            .iter()
            .filter_map(|s| s.command_id.as_deref())
            .collect();
        if let Some(id) = &self.past
            && !ids.contains(&id.as_str())
        {
            ids.push(id);
        }
        ids
    }

    pub fn command(&self) -> String {
        self.plan.script()
    }

    pub fn done(&self) -> bool {
        self.report.is_some()
    }

    pub fn on_event(&mut self, event: RunEvent) {
        match event {
            RunEvent::Sent(s) => self.sends.push(s),
            RunEvent::Host(u) => {
                let i = match self.index.get(&u.instance_id) {
                    Some(&i) => i,
                    None => {
                        self.hosts.push(RunHost {
                            instance_id: u.instance_id.clone(),
                            label: host_label(u.name.as_deref(), &u.instance_id),
                            region: u.region.clone(),
                            status: u.status,
                            details: String::new(),
                        });
                        self.index
                            .insert(u.instance_id.clone(), self.hosts.len() - 1);
                        self.hosts.len() - 1
                    }
                };
                self.hosts[i].status = u.status;
                self.hosts[i].details = u.status_details;
            }
            RunEvent::Progress(c) => self.counts = c,
            RunEvent::Note(n) => self.notes.push(n),
        }
    }

    pub fn finish(&mut self, report: RunReport) {
        self.absorb_hosts(&report);
        self.api_calls = report.api_calls;
        for r in &report.hosts {
            if let Some(&i) = self.index.get(&r.instance_id) {
                self.hosts[i].status = r.status;
                self.hosts[i].details = r.status_details.clone();
            }
        }
        self.counts = report.counts();
        self.groups = group_outputs(&report.hosts);
        self.report = Some(report);
        self.cancelling = false;
        self.selected = 0;
    }

    /// Hosts AWS named that the plan did not (tag targets, past commands) join their send, so
    /// a re-run of the failed hosts can reach them.
    fn absorb_hosts(&mut self, report: &RunReport) {
        let known: std::collections::HashSet<String> =
            self.plan.hosts().map(|h| h.instance_id.clone()).collect();
        for r in report
            .hosts
            .iter()
            .filter(|r| !known.contains(&r.instance_id))
        {
            let Some(send) = self.plan.sends.iter_mut().find(|s| {
                s.profile == r.profile
                    && s.region == r.region
                    && r.document.is_none_or(|d| d == s.document)
            }) else {
                continue;
            };
            send.hosts.push(crate::run::PlannedHost {
                instance_id: r.instance_id.clone(),
                name: r.name.clone(),
                profile: r.profile.clone(),
                region: r.region.clone(),
                platform: String::new(),
                tags: Default::default(),
            });
        }
        self.plan.target_count = self.plan.hosts().count();
    }

    /// Rows the selection moves over.
    pub fn items(&self) -> usize {
        if self.done() {
            self.groups.len() + self.hosts.len()
        } else {
            self.hosts.len()
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.items().saturating_sub(1);
        let to = self.selected.saturating_add_signed(delta).min(last);
        if to != self.selected {
            self.output_scroll = 0;
        }
        self.selected = to;
    }

    /// The selected item: a group (once done) or a host.
    pub fn selection(&self) -> Selected<'_> {
        if self.done() {
            if let Some(g) = self.groups.get(self.selected) {
                return Selected::Group(g);
            }
            return self
                .hosts
                .get(self.selected - self.groups.len())
                .map_or(Selected::None, Selected::Host);
        }
        self.hosts
            .get(self.selected)
            .map_or(Selected::None, Selected::Host)
    }

    /// The output pane's text for the selection.
    pub fn output_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let body = |out: &mut Vec<String>, stdout: &str, stderr: &str| {
            if stdout.is_empty() && stderr.is_empty() {
                out.push("(no output)".into());
            }
            out.extend(stdout.lines().map(|l| format!("│ {l}")));
            out.extend(stderr.lines().map(|l| format!("! {l}")));
        };
        match self.selection() {
            Selected::Group(g) => {
                out.push(g.headline());
                out.push(format!("hosts: {}", g.hosts.join(", ")));
                out.push(String::new());
                body(&mut out, &g.stdout, &g.stderr);
            }
            Selected::Host(h) => {
                out.push(format!("{} · {} · {}", h.label, h.region, h.status));
                let result = self
                    .report
                    .as_ref()
                    .and_then(|r| r.hosts.iter().find(|x| x.instance_id == h.instance_id));
                match result {
                    None => out.push("output comes when the run has finished".into()),
                    Some(r) => {
                        if let Some(code) = r.exit_code {
                            out.push(format!("exit code {code}"));
                        }
                        if !r.status_details.is_empty() {
                            out.push(format!("details: {}", r.status_details));
                        }
                        if r.truncated {
                            out.push("output truncated by AWS's caps".into());
                        }
                        out.push(String::new());
                        body(&mut out, &r.stdout, &r.stderr);
                        // The groups were made once, when the run finished; this is drawn often.
                        if let Some(report) = &self.report
                            && let Some(majority) = self.groups.first()
                            && let Some(diff) =
                                diff_against(majority, &report.hosts, &h.instance_id)
                        {
                            out.push(String::new());
                            out.push("diff against the majority:".into());
                            out.extend(diff.lines().map(str::to_owned));
                        }
                    }
                }
            }
            Selected::None => out.push("nothing selected".into()),
        }
        out
    }

    /// Instance ids of hosts that did not succeed, once done.
    pub fn failed_ids(&self) -> Vec<String> {
        self.report
            .as_ref()
            .map(RunReport::failed_ids)
            .unwrap_or_default()
    }
}

pub enum Selected<'a> {
    Group(&'a OutputGroup),
    Host(&'a RunHost),
    None,
}
