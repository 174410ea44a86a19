//! Parsing a query string into field filters and fuzzy text.

use crate::model::{Instance, InstanceState, PingStatus, PlatformType};

/// Field names a user may type, in the order help and errors list them.
pub const FIELDS: [&str; 8] = [
    "tag", "ping", "platform", "region", "state", "id", "profile", "agent",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "unknown filter '{0}:' (filters are tag:, ping:, platform:, region:, state:, id:, profile:, agent:)"
    )]
    UnknownField(String),
    #[error("'{0}:' needs a value, for example {1}")]
    EmptyValue(&'static str, &'static str),
    #[error("bad tag filter '{0}': write tag:KEY=VALUE, tag:KEY=VAL* or tag:KEY")]
    BadTag(String),
    #[error("unknown ping status '{0}' (use online, lost, inactive, unmanaged or unknown)")]
    BadPing(String),
    #[error(
        "unknown state '{0}' (use running, stopped, stopping, pending, shutting-down, terminated or hybrid)"
    )]
    BadState(String),
    #[error("unknown agent filter '{0}' (use outdated or latest)")]
    BadAgent(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldFilter {
    /// Key matched case-insensitively; `None` value means "has this tag".
    Tag {
        key: String,
        value: Option<Glob>,
    },
    Ping(PingStatus),
    /// Case-insensitive substring of the platform name or type.
    Platform(String),
    Region(String),
    State(InstanceState),
    /// Case-insensitive prefix of the instance id.
    Id(String),
    Profile(String),
    AgentOutdated(bool),
}

/// A case-insensitive value pattern where `*` matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    fn new(pattern: &str) -> Self {
        Glob(pattern.to_lowercase())
    }

    pub fn matches(&self, value: &str) -> bool {
        glob_match(self.0.as_bytes(), value.to_lowercase().as_bytes())
    }
}

/// Iterative, remembering only the last `*`: O(pattern × text) at worst. (Trying every split at
/// every `*` recursively is exponential in the number of stars, and `tag:Env=*a*a*a*a*a*a*b`
/// froze the filter: found by tests/fuzz.rs.)
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and where its run of text ends so far.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p + 1, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((resume, run_end)) = star {
            // Let the `*` swallow one more byte and try the rest of the pattern again.
            star = Some((resume, run_end + 1));
            p = resume;
            t = run_end + 1;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// (filter, negated)
    pub filters: Vec<(FieldFilter, bool)>,
    /// The fuzzy part, terms joined by single spaces; empty when the query has none.
    pub text: String,
}

impl Query {
    pub fn parse(input: &str) -> Result<Query, QueryError> {
        let mut query = Query::default();
        let mut words = Vec::new();
        for term in input.split_whitespace() {
            let (negated, body) = match term.strip_prefix('!') {
                Some(rest) if rest.contains(':') => (true, rest),
                _ => (false, term),
            };
            match split_field(body) {
                Some((field, value)) => query.filters.push((parse_field(field, value)?, negated)),
                None => words.push(term),
            }
        }
        query.text = words.join(" ");
        Ok(query)
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty() && self.text.is_empty()
    }

    /// Whether every instance this query accepts is also accepted by `previous`, so that
    /// searching within `previous`'s hits is enough (the query only grew as the user typed).
    /// Conservative: same field filters, and fuzzy text that only gained characters, with no
    /// negation (`!`) or anchors/escapes that make a longer pattern less strict.
    pub fn narrows(&self, previous: &Query) -> bool {
        let special = |t: &str| t.contains(['!', '\\', '$', '\'', '^']);
        self.filters == previous.filters
            && self.text.starts_with(previous.text.as_str())
            && !special(&self.text)
    }

    /// Whether the field filters (not the fuzzy text) accept this instance.
    pub fn accepts(&self, instance: &Instance) -> bool {
        self.filters
            .iter()
            .all(|(filter, negated)| filter.matches(instance) != *negated)
    }
}

/// `word:rest` where `word` is letters only; anything else (an IPv6 address, a URL-ish id) is text.
fn split_field(term: &str) -> Option<(&str, &str)> {
    let (field, value) = term.split_once(':')?;
    (!field.is_empty() && field.chars().all(|c| c.is_ascii_alphabetic())).then_some((field, value))
}

fn parse_field(field: &str, value: &str) -> Result<FieldFilter, QueryError> {
    let lower = value.to_lowercase();
    let field_lower = field.to_lowercase();
    let Some(&known) = FIELDS.iter().find(|f| **f == field_lower) else {
        return Err(QueryError::UnknownField(field.to_owned()));
    };
    if value.is_empty() {
        return Err(QueryError::EmptyValue(known, example(known)));
    }
    Ok(match known {
        "tag" => parse_tag(value)?,
        "ping" => FieldFilter::Ping(match lower.as_str() {
            "online" | "on" => PingStatus::Online,
            "lost" | "connectionlost" => PingStatus::ConnectionLost,
            "inactive" => PingStatus::Inactive,
            "unmanaged" | "notmanaged" | "none" => PingStatus::NotManaged,
            "unknown" => PingStatus::Unknown,
            _ => return Err(QueryError::BadPing(value.to_owned())),
        }),
        "platform" => FieldFilter::Platform(lower),
        "region" => FieldFilter::Region(lower),
        "state" => FieldFilter::State(
            InstanceState::ALL
                .into_iter()
                .find(|s| s.as_str() == lower)
                .ok_or_else(|| QueryError::BadState(value.to_owned()))?,
        ),
        "id" => FieldFilter::Id(lower),
        "profile" => FieldFilter::Profile(value.to_owned()),
        "agent" => FieldFilter::AgentOutdated(match lower.as_str() {
            "outdated" | "old" => true,
            "latest" | "current" => false,
            _ => return Err(QueryError::BadAgent(value.to_owned())),
        }),
        _ => unreachable!("every name in FIELDS has a parser"),
    })
}

fn example(field: &'static str) -> &'static str {
    match field {
        "tag" => "tag:Env=prod",
        "ping" => "ping:lost",
        "platform" => "platform:windows",
        "region" => "region:eu-west-1",
        "state" => "state:running",
        "id" => "id:i-0abc",
        "profile" => "profile:prod",
        _ => "agent:outdated",
    }
}

fn parse_tag(value: &str) -> Result<FieldFilter, QueryError> {
    let bad = || QueryError::BadTag(format!("tag:{value}"));
    match value.split_once('=') {
        None => Ok(FieldFilter::Tag {
            key: value.to_owned(),
            value: None,
        }),
        Some((key, val)) if key.is_empty() || val.is_empty() || val.contains('=') => Err(bad()),
        Some((key, val)) => Ok(FieldFilter::Tag {
            key: key.to_owned(),
            value: Some(Glob::new(val)),
        }),
    }
}

impl FieldFilter {
    pub fn matches(&self, i: &Instance) -> bool {
        match self {
            FieldFilter::Tag { key, value } => i
                .tags
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .any(|(_, v)| value.as_ref().is_none_or(|g| g.matches(v))),
            FieldFilter::Ping(p) => i.ping_status == *p,
            FieldFilter::Platform(p) => {
                let kind = match i.platform_type {
                    PlatformType::Linux => "linux",
                    PlatformType::Windows => "windows",
                    PlatformType::MacOS => "macos",
                    PlatformType::Unknown => "",
                };
                kind.contains(p.as_str()) || i.platform.to_lowercase().contains(p.as_str())
            }
            FieldFilter::Region(r) => i.region.contains(r.as_str()),
            FieldFilter::State(s) => i.state == *s,
            FieldFilter::Id(prefix) => i.instance_id.to_lowercase().starts_with(prefix.as_str()),
            FieldFilter::Profile(p) => i.profile == *p,
            FieldFilter::AgentOutdated(outdated) => i.managed && i.agent_outdated() == *outdated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_filters_from_text() {
        let q = Query::parse("pay tag:Env=prod  ping:lost api !region:eu").expect("valid");
        assert_eq!(q.text, "pay api");
        assert_eq!(q.filters.len(), 3);
        assert_eq!(
            q.filters[1],
            (FieldFilter::Ping(PingStatus::ConnectionLost), false)
        );
        assert_eq!(q.filters[2], (FieldFilter::Region("eu".into()), true));
    }

    #[test]
    fn bad_terms_are_specific_errors() {
        assert_eq!(
            Query::parse("tag:=prod"),
            Err(QueryError::BadTag("tag:=prod".into()))
        );
        assert_eq!(
            Query::parse("tag:Env="),
            Err(QueryError::BadTag("tag:Env=".into()))
        );
        assert_eq!(
            Query::parse("ping:sleepy"),
            Err(QueryError::BadPing("sleepy".into()))
        );
        assert_eq!(
            Query::parse("colour:red"),
            Err(QueryError::UnknownField("colour".into()))
        );
        assert!(matches!(
            Query::parse("state:"),
            Err(QueryError::EmptyValue("state", _))
        ));
    }

    #[test]
    fn ipv6_and_digits_are_text_not_fields() {
        let q = Query::parse("fe80::1 10.0.0.1").expect("valid");
        assert!(q.filters.is_empty());
        assert_eq!(q.text, "fe80::1 10.0.0.1");
    }

    #[test]
    fn narrowing_is_only_claimed_when_safe() {
        let q = |s: &str| Query::parse(s).expect("valid");
        assert!(q("pay").narrows(&q("pa")));
        assert!(q("pay ap").narrows(&q("pay")));
        assert!(q("pay").narrows(&q("")));
        assert!(!q("pa").narrows(&q("pay")), "shorter is wider");
        assert!(!q("pay ping:lost").narrows(&q("pay")), "filters changed");
        assert!(!q("!pay").narrows(&q("")), "negation widens as it grows");
        assert!(
            !q("tag:Env=pr").narrows(&q("tag:Env=p")),
            "tag globs are exact"
        );
    }

    #[test]
    fn glob_matches_case_insensitively() {
        let g = Glob::new("Pay*");
        assert!(g.matches("payments"));
        assert!(g.matches("PAY"));
        assert!(!g.matches("repay"));
        assert!(Glob::new("*-prod").matches("pay-prod"));
        assert!(Glob::new("p*y*s").matches("payments"));
        assert!(!Glob::new("p*y*x").matches("payments"));
        assert!(Glob::new("**").matches(""));
    }

    /// Many stars against a long value that does not match: exponential before, instant now
    /// (this test did not finish with the recursive matcher).
    #[test]
    fn glob_with_many_stars_does_not_blow_up() {
        let value = "a".repeat(200);
        assert!(!Glob::new(&format!("{}b", "*a".repeat(20))).matches(&value));
        assert!(Glob::new(&"*a".repeat(20)).matches(&value));
    }
}
