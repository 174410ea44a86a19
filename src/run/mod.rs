//! Bulk Run Command: plan, guard, execute, present. No TUI knowledge: every function returns plain
//! data (a [`Plan`], [`RunEvent`]s, a [`RunReport`], [`OutputGroup`]s) that the CLI prints and the
//! TUI shows.
//!
//! SSM Run Command is the distributed engine: fleetdeck sends one SendCommand per (profile,
//! region, document) — or per batch of 50 explicit ids — and watches it with
//! ListCommandInvocations; it never opens a connection per host.
//!
//! Map: `plan` (pure: targets → sends, skipped hosts, rate parsing), `guard` (pure: when a person
//! must type the count), `exec` (the only network part: send, poll, cancel, fetch output),
//! `group` (pure: identical outputs grouped, diff vs the majority), `audit` (the JSON-lines log),
//! `history` (ListCommands across targets; a past command's plan, for `exec::attach`),
//! `flags` (pure: the typed options of `fleetdeck run` and `:run`, checked once).

#![deny(clippy::unwrap_used)]

pub mod audit;
pub mod exec;
pub mod flags;
pub mod group;
pub mod guard;
pub mod history;
pub mod plan;

pub use audit::{AuditRecord, audit_path};
pub use exec::{
    Control, Counts, HostResult, HostStatus, HostUpdate, OutputSource, PollOptions, RunEvent,
    RunReport, SentCommand, attach, execute,
};
pub use flags::{RunFlags, parse_run_line};
pub use group::{OutputGroup, diff_against, diff_vs_majority, group_outputs};
pub use guard::{Confirmation, GuardPolicy, confirmation_accepted, needs_confirmation};
pub use history::CommandSummary;
pub use plan::{
    CloudWatchOutput, Document, Plan, PlanError, PlannedHost, PlannedSend, Rate, RunOptions,
    SkipReason, SkippedHost, TagFilter, TargetSpec, Targeting, plan, rerun_failed,
};
