//! The fleet query language and its matcher, shared by `list QUERY` and the TUI's `/` filter.
//!
//! A query is whitespace-separated terms. `field:value` terms filter exactly (`tag:Env=prod`,
//! `ping:lost`, `platform:win`, `region:eu`, `state:stopped`, `id:i-0ab`, `profile:prod`,
//! `agent:outdated`), a leading `!` negates one. Every other term is fuzzy text matched against
//! name, id, IPs and tag values; all must match, and the best matches rank first.

mod matcher;
mod query;
mod target;

pub use matcher::{FleetIndex, Highlighter, Hit, haystack_text};
pub use query::{FieldFilter, Query, QueryError};
pub use target::{TargetMatch, resolve_target};
