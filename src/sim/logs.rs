//! CloudWatch Logs (awsJson1.1, `Logs_20140328.*`): log groups, streams and events in memory.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::api::{ApiError, JsonInput};
use super::fleet::ACCOUNT_ID;
use super::pagination;

const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
const MAX_EVENT_BYTES: usize = 262_144;
const MAX_BATCH_EVENTS: usize = 10_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEvent {
    pub timestamp: i64,
    pub message: String,
    pub ingestion_time: i64,
    id: u64,
}

#[derive(Debug, Default)]
pub(crate) struct LogStream {
    creation_time: i64,
    /// Kept sorted by timestamp, arrival order among equal timestamps.
    events: Vec<LogEvent>,
    last_ingestion: Option<i64>,
    uploads: u64,
}

#[derive(Debug)]
pub(crate) struct LogGroup {
    creation_time: i64,
    retention_days: Option<i64>,
    kms_key_id: Option<String>,
    class: String,
    streams: BTreeMap<String, LogStream>,
}

/// Every region's log groups; keyed by (region, group name) so a region's groups come out sorted.
#[derive(Debug, Default)]
pub(crate) struct LogStore {
    groups: BTreeMap<(String, String), LogGroup>,
    next_event_id: u64,
}

fn not_found_group() -> ApiError {
    ApiError::client(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

fn not_found_stream() -> ApiError {
    ApiError::client(
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterException", message)
}

fn missing(member: &str) -> ApiError {
    invalid(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

fn check_limit(input: &JsonInput, max: i64, default: i64) -> Result<usize, ApiError> {
    let limit = input.i64("limit")?.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        let e = ApiError::out_of_range("limit", limit, 1, max);
        return Err(invalid(e.message));
    }
    Ok(usize::try_from(limit).unwrap_or(1))
}

fn group_arn(region: &str, name: &str) -> String {
    format!("arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{name}")
}

fn valid_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c))
}

fn valid_stream_name(name: &str) -> bool {
    (1..=512).contains(&name.len()) && !name.contains(':') && !name.contains('*')
}

/// The group a request names, by `logGroupName` or `logGroupIdentifier` (name or ARN), not both.
fn group_name(input: &JsonInput) -> Result<String, ApiError> {
    match (input.str("logGroupName")?, input.str("logGroupIdentifier")?) {
        (Some(_), Some(_)) => Err(invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (Some(name), None) => Ok(name.to_string()),
        (None, Some(id)) => {
            let name = match id.split_once(":log-group:") {
                Some((_, rest)) => rest.strip_suffix(":*").unwrap_or(rest),
                None => id,
            };
            Ok(name.to_string())
        }
        (None, None) => Err(missing("logGroupName")),
    }
}

impl LogStore {
    fn group(&self, region: &str, name: &str) -> Result<&LogGroup, ApiError> {
        self.groups
            .get(&(region.to_string(), name.to_string()))
            .ok_or_else(not_found_group)
    }

    fn group_mut(&mut self, region: &str, name: &str) -> Result<&mut LogGroup, ApiError> {
        self.groups
            .get_mut(&(region.to_string(), name.to_string()))
            .ok_or_else(not_found_group)
    }

    fn create_group(&mut self, region: &str, name: &str, now: i64) -> bool {
        let key = (region.to_string(), name.to_string());
        if self.groups.contains_key(&key) {
            return false;
        }
        self.groups.insert(
            key,
            LogGroup {
                creation_time: now,
                retention_days: None,
                kms_key_id: None,
                class: "STANDARD".into(),
                streams: BTreeMap::new(),
            },
        );
        true
    }

    /// Appends events (already in timestamp order or not) to a stream, creating the group and
    /// stream if needed. The session-logging path uses this, as the agent would via the API.
    pub(crate) fn append(
        &mut self,
        region: &str,
        group: &str,
        stream: &str,
        events: &[(i64, String)],
        now: i64,
    ) {
        self.create_group(region, group, now);
        let mut next_id = self.next_event_id;
        if let Ok(g) = self.group_mut(region, group) {
            let s = g
                .streams
                .entry(stream.to_string())
                .or_insert_with(|| LogStream {
                    creation_time: now,
                    ..LogStream::default()
                });
            for (timestamp, message) in events {
                insert_sorted(
                    &mut s.events,
                    LogEvent {
                        timestamp: *timestamp,
                        message: message.clone(),
                        ingestion_time: now,
                        id: next_id,
                    },
                );
                next_id += 1;
            }
            s.last_ingestion = Some(now);
            s.uploads += 1;
        }
        self.next_event_id = next_id;
    }
}

fn insert_sorted(events: &mut Vec<LogEvent>, event: LogEvent) {
    let at = events.partition_point(|e| e.timestamp <= event.timestamp);
    events.insert(at, event);
}

pub(crate) fn handle(
    store: &mut LogStore,
    region: &str,
    operation: &str,
    input: &JsonInput,
    now: i64,
) -> Result<Value, ApiError> {
    match operation {
        "CreateLogGroup" => create_log_group(store, region, input, now),
        "CreateLogStream" => create_log_stream(store, region, input, now),
        "DescribeLogGroups" => describe_log_groups(store, region, input),
        "DescribeLogStreams" => describe_log_streams(store, region, input),
        "PutLogEvents" => put_log_events(store, region, input, now),
        "GetLogEvents" => get_log_events(store, region, input),
        "FilterLogEvents" => filter_log_events(store, region, input),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("Logs_20140328.{other} is not an operation the simulator answers"),
        )),
    }
}

fn create_log_group(
    store: &mut LogStore,
    region: &str,
    input: &JsonInput,
    now: i64,
) -> Result<Value, ApiError> {
    let name = input
        .str("logGroupName")?
        .ok_or_else(|| missing("logGroupName"))?;
    if !valid_group_name(name) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )));
    }
    let class = input.str("logGroupClass")?.unwrap_or("STANDARD");
    if !matches!(class, "STANDARD" | "INFREQUENT_ACCESS" | "DELIVERY") {
        return Err(invalid(format!("Invalid logGroupClass '{class}'")));
    }
    if !store.create_group(region, name, now) {
        return Err(ApiError::client(
            "ResourceAlreadyExistsException",
            "The specified log group already exists",
        ));
    }
    let group = store.group_mut(region, name)?;
    group.kms_key_id = input.str("kmsKeyId")?.map(str::to_string);
    group.class = class.to_string();
    Ok(json!({}))
}

fn create_log_stream(
    store: &mut LogStore,
    region: &str,
    input: &JsonInput,
    now: i64,
) -> Result<Value, ApiError> {
    let group = input
        .str("logGroupName")?
        .ok_or_else(|| missing("logGroupName"))?;
    let stream = input
        .str("logStreamName")?
        .ok_or_else(|| missing("logStreamName"))?;
    if !valid_stream_name(stream) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{stream}' at 'logStreamName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [^:*]*"
        )));
    }
    let g = store.group_mut(region, group)?;
    if g.streams.contains_key(stream) {
        return Err(ApiError::client(
            "ResourceAlreadyExistsException",
            "The specified log stream already exists",
        ));
    }
    g.streams.insert(
        stream.to_string(),
        LogStream {
            creation_time: now,
            ..LogStream::default()
        },
    );
    Ok(json!({}))
}

fn describe_log_groups(
    store: &LogStore,
    region: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    let prefix = input.str("logGroupNamePrefix")?;
    let pattern = input.str("logGroupNamePattern")?;
    if prefix.is_some() && pattern.is_some() {
        return Err(invalid(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let limit = check_limit(input, 50, 50)?;
    let pattern = pattern.map(str::to_lowercase);
    let names: Vec<(&String, &LogGroup)> = store
        .groups
        .iter()
        .filter(|((r, name), _)| {
            r == region
                && prefix.is_none_or(|p| name.starts_with(p))
                && pattern
                    .as_deref()
                    .is_none_or(|p| name.to_lowercase().contains(p))
        })
        .map(|((_, name), g)| (name, g))
        .collect();
    let scope = format!("logs:DescribeLogGroups:{region}");
    let start = start_offset(input, &scope)?;
    let (page, next) = pagination::page(&names, start, limit, &scope);
    let groups: Vec<Value> = page
        .iter()
        .map(|(name, g)| {
            let arn = group_arn(region, name);
            let mut v = json!({
                "logGroupName": name,
                "creationTime": g.creation_time,
                "metricFilterCount": 0,
                "arn": format!("{arn}:*"),
                "logGroupArn": arn,
                "storedBytes": 0,
                "logGroupClass": g.class,
            });
            if let Some(days) = g.retention_days {
                v["retentionInDays"] = json!(days);
            }
            if let Some(kms) = &g.kms_key_id {
                v["kmsKeyId"] = json!(kms);
            }
            v
        })
        .collect();
    let mut out = json!({ "logGroups": groups });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(out)
}

fn start_offset(input: &JsonInput, scope: &str) -> Result<usize, ApiError> {
    match input.str("nextToken")? {
        None => Ok(0),
        Some(token) => pagination::decode(scope, token)
            .ok_or_else(|| invalid(format!("The specified nextToken is invalid: {token}"))),
    }
}

fn describe_log_streams(
    store: &LogStore,
    region: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    let group_name = group_name(input)?;
    let group = store.group(region, &group_name)?;
    let prefix = input.str("logStreamNamePrefix")?;
    let by_time = match input.str("orderBy")?.unwrap_or("LogStreamName") {
        "LogStreamName" => false,
        "LastEventTime" => true,
        other => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy \
                 constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )));
        }
    };
    if by_time && prefix.is_some() {
        return Err(invalid(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let descending = input.bool("descending")?.unwrap_or(false);
    let limit = check_limit(input, 50, 50)?;

    let mut streams: Vec<(&String, &LogStream)> = group
        .streams
        .iter()
        .filter(|(name, _)| prefix.is_none_or(|p| name.starts_with(p)))
        .collect();
    if by_time {
        streams.sort_by_key(|(name, s)| (s.events.last().map(|e| e.timestamp), (*name).clone()));
    }
    if descending {
        streams.reverse();
    }
    let scope = format!(
        "logs:DescribeLogStreams:{region}:{group_name}:{}:{by_time}:{descending}",
        prefix.unwrap_or("")
    );
    let start = start_offset(input, &scope)?;
    let (page, next) = pagination::page(&streams, start, limit, &scope);
    let arn = group_arn(region, &group_name);
    let items: Vec<Value> = page
        .iter()
        .map(|(name, s)| {
            let mut v = json!({
                "logStreamName": name,
                "creationTime": s.creation_time,
                "arn": format!("{arn}:log-stream:{name}"),
                "storedBytes": 0,
            });
            if let (Some(first), Some(last)) = (s.events.first(), s.events.last()) {
                v["firstEventTimestamp"] = json!(first.timestamp);
                v["lastEventTimestamp"] = json!(last.timestamp);
            }
            if let Some(t) = s.last_ingestion {
                v["lastIngestionTime"] = json!(t);
                v["uploadSequenceToken"] = json!(sequence_token(s.uploads));
            }
            v
        })
        .collect();
    let mut out = json!({ "logStreams": items });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(out)
}

/// Sequence tokens are ignored on input nowadays but still returned; AWS's are long digit strings.
fn sequence_token(uploads: u64) -> String {
    format!("4960{uploads:052}")
}

fn put_log_events(
    store: &mut LogStore,
    region: &str,
    input: &JsonInput,
    now: i64,
) -> Result<Value, ApiError> {
    let group_name = input
        .str("logGroupName")?
        .ok_or_else(|| missing("logGroupName"))?;
    let stream_name = input
        .str("logStreamName")?
        .ok_or_else(|| missing("logStreamName"))?;
    let events = input
        .objects("logEvents")?
        .ok_or_else(|| missing("logEvents"))?;

    let mut batch = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let timestamp = e
            .i64("timestamp")?
            .ok_or_else(|| missing(&format!("logEvents.{}.member.timestamp", i + 1)))?;
        let message = e
            .str("message")?
            .ok_or_else(|| missing(&format!("logEvents.{}.member.message", i + 1)))?;
        batch.push((timestamp, message));
    }

    let group = store.group(region, group_name)?;
    if !group.streams.contains_key(stream_name) {
        return Err(not_found_stream());
    }
    let retention_days = group.retention_days;

    if batch.is_empty() || batch.len() > MAX_BATCH_EVENTS {
        return Err(invalid(format!(
            "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: \
             Member must have length between 1 and {MAX_BATCH_EVENTS}"
        )));
    }
    let mut total = 0usize;
    for (_, message) in &batch {
        let size = message.len() + EVENT_OVERHEAD;
        if message.is_empty() || size > MAX_EVENT_BYTES {
            return Err(invalid(format!(
                "Log event size must be between 1 and {} bytes",
                MAX_EVENT_BYTES - EVENT_OVERHEAD
            )));
        }
        total += size;
    }
    if total > MAX_BATCH_BYTES {
        return Err(invalid(format!(
            "Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    if batch.windows(2).any(|w| w[1].0 < w[0].0) {
        return Err(invalid(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    if let (Some(first), Some(last)) = (batch.first(), batch.last())
        && last.0 - first.0 > DAY_MS
    {
        return Err(invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 \
             hours.",
        ));
    }

    // The batch is in order, so rejected events form a prefix (too old, expired) and a suffix
    // (too new); the indices follow the API's inclusive/exclusive conventions.
    let too_old_before = now - 14 * DAY_MS;
    let expired_before = retention_days.map(|d| now - d * DAY_MS);
    let too_new_after = now + 2 * HOUR_MS;
    let too_old_end = batch.partition_point(|(t, _)| *t < too_old_before);
    let expired_end = expired_before.map_or(0, |cut| batch.partition_point(|(t, _)| *t < cut));
    let too_new_start = batch.partition_point(|(t, _)| *t <= too_new_after);
    let accepted_from = too_old_end.max(expired_end);
    let accepted: Vec<(i64, String)> = batch[accepted_from..too_new_start.max(accepted_from)]
        .iter()
        .map(|(t, m)| (*t, (*m).to_string()))
        .collect();

    if !accepted.is_empty() {
        store.append(region, group_name, stream_name, &accepted, now);
    }
    let uploads = store
        .group(region, group_name)?
        .streams
        .get(stream_name)
        .map_or(0, |s| s.uploads);
    let mut out = json!({ "nextSequenceToken": sequence_token(uploads) });
    let mut rejected = serde_json::Map::new();
    if too_new_start < batch.len() {
        rejected.insert("tooNewLogEventStartIndex".into(), json!(too_new_start));
    }
    if too_old_end > 0 {
        rejected.insert("tooOldLogEventEndIndex".into(), json!(too_old_end));
    }
    if expired_end > 0 {
        rejected.insert("expiredLogEventEndIndex".into(), json!(expired_end));
    }
    if !rejected.is_empty() {
        out["rejectedLogEventsInfo"] = Value::Object(rejected);
    }
    Ok(out)
}

/// GetLogEvents tokens are positions in the stream: `f/N` = the next page forward starts at event
/// N; `b/N` = the next page backward ends before event N. Because a token is just a position, a
/// caller at the end of the stream gets back exactly the token it sent, which is how AWS tells
/// pollers there is nothing new.
fn position_token(forward: bool, index: usize) -> String {
    format!("{}/{index:056}", if forward { 'f' } else { 'b' })
}

fn parse_position_token(token: &str) -> Option<(bool, usize)> {
    let (dir, digits) = token.split_once('/')?;
    let forward = match dir {
        "f" => true,
        "b" => false,
        _ => return None,
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((forward, digits.parse().ok()?))
}

fn event_json(e: &LogEvent) -> Value {
    json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time})
}

/// How many of `events` (taken in order) fit in one 1 MB answer; at least one.
fn fitting<'a>(events: impl Iterator<Item = &'a LogEvent>) -> usize {
    let mut bytes = 0;
    let mut n = 0;
    for e in events {
        bytes += e.message.len() + EVENT_OVERHEAD;
        if bytes > MAX_BATCH_BYTES && n > 0 {
            break;
        }
        n += 1;
    }
    n
}

fn get_log_events(store: &LogStore, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let group_name = group_name(input)?;
    let stream_name = input
        .str("logStreamName")?
        .ok_or_else(|| missing("logStreamName"))?;
    let limit = check_limit(input, 10_000, 10_000)?;
    let start_time = input.i64("startTime")?;
    let end_time = input.i64("endTime")?;
    let from_head = input.bool("startFromHead")?.unwrap_or(false);
    let token = match input.str("nextToken")? {
        None => None,
        Some(t) => Some(
            parse_position_token(t)
                .ok_or_else(|| invalid("The specified nextToken is invalid."))?,
        ),
    };

    let stream = store
        .group(region, &group_name)?
        .streams
        .get(stream_name)
        .ok_or_else(not_found_stream)?;
    let events = &stream.events;
    // The time window, as a range of positions in the (sorted) stream.
    let lo = start_time.map_or(0, |t| events.partition_point(|e| e.timestamp < t));
    let hi = end_time
        .map_or(events.len(), |t| {
            events.partition_point(|e| e.timestamp < t)
        })
        .max(lo);

    let (from, to) = match token {
        Some((true, n)) => {
            let from = n.clamp(lo, hi);
            (from, from.saturating_add(limit).min(hi))
        }
        Some((false, n)) => {
            let to = n.clamp(lo, hi);
            (to.saturating_sub(limit).max(lo), to)
        }
        None if from_head => (lo, lo.saturating_add(limit).min(hi)),
        None => (hi.saturating_sub(limit).max(lo), hi),
    };
    // AWS answers at most 1 MB of events a page (counted as PutLogEvents counts them), whatever
    // the limit: a large log takes many pages.
    let forward_page = matches!(token, Some((true, _))) || (token.is_none() && from_head);
    let (from, to) = if forward_page {
        (from, from + fitting(events[from..to].iter()))
    } else {
        (to - fitting(events[from..to].iter().rev()), to)
    };
    // A token that pointed outside the window comes back unchanged rather than clamped, so a
    // caller still sees "same token = nothing more".
    let forward = match token {
        Some((true, n)) if from == to => position_token(true, n),
        _ => position_token(true, to),
    };
    let backward = match token {
        Some((false, n)) if from == to => position_token(false, n),
        _ => position_token(false, from),
    };
    Ok(json!({
        "events": events[from..to].iter().map(event_json).collect::<Vec<_>>(),
        "nextForwardToken": forward,
        "nextBackwardToken": backward,
    }))
}

/// The subset of the CloudWatch filter pattern syntax the simulator understands: terms that must
/// all appear, `?term`s of which one must appear, `-term`s that must not, and "quoted phrases".
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FilterPattern {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

impl FilterPattern {
    pub(crate) fn parse(text: &str) -> Result<Self, ApiError> {
        let text = text.trim();
        if text.starts_with('{') || text.starts_with('[') || text.starts_with('%') {
            return Err(invalid(format!(
                "Invalid filter pattern '{text}': the simulator supports only term and phrase \
                 patterns"
            )));
        }
        let mut out = FilterPattern::default();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let kind = match c {
                '?' | '-' => {
                    chars.next();
                    c
                }
                _ => ' ',
            };
            let mut term = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    term.push(c);
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    term.push(c);
                    chars.next();
                }
            }
            if term.is_empty() {
                continue;
            }
            match kind {
                '?' => out.any.push(term),
                '-' => out.none.push(term),
                _ => out.all.push(term),
            }
        }
        Ok(out)
    }

    pub(crate) fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
    }
}

fn filter_log_events(store: &LogStore, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let group_name = group_name(input)?;
    let group = store.group(region, &group_name)?;
    let names = input.strings("logStreamNames")?;
    let prefix = input.str("logStreamNamePrefix")?;
    if names.is_some() && prefix.is_some() {
        return Err(invalid(
            "You cannot specify both LogStreamNames and LogStreamNamePrefix.",
        ));
    }
    if names
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > 100)
    {
        return Err(invalid(
            "1 validation error detected: Value at 'logStreamNames' failed to satisfy \
             constraint: Member must have length between 1 and 100",
        ));
    }
    let limit = check_limit(input, 10_000, 10_000)?;
    let start_time = input.i64("startTime")?;
    let end_time = input.i64("endTime")?;
    let pattern = FilterPattern::parse(input.str("filterPattern")?.unwrap_or(""))?;

    let streams: Vec<(&String, &LogStream)> = group
        .streams
        .iter()
        .filter(|(name, _)| {
            names.as_ref().is_none_or(|n| n.contains(&name.as_str()))
                && prefix.is_none_or(|p| name.starts_with(p))
        })
        .collect();
    let mut hits: Vec<(&String, &LogEvent)> = streams
        .iter()
        .flat_map(|(name, s)| s.events.iter().map(move |e| (*name, e)))
        .filter(|(_, e)| {
            start_time.is_none_or(|t| e.timestamp >= t)
                && end_time.is_none_or(|t| e.timestamp <= t)
                && pattern.matches(&e.message)
        })
        .collect();
    hits.sort_by_key(|(_, e)| (e.timestamp, e.id));

    let scope = format!("logs:FilterLogEvents:{region}:{group_name}");
    let start = start_offset(input, &scope)?;
    let (page, next) = pagination::page(&hits, start, limit, &scope);
    let mut out = json!({
        "events": page.iter().map(|(stream, e)| {
            json!({
                "logStreamName": stream,
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_time,
                "eventId": format!("{:056}", e.id),
            })
        }).collect::<Vec<_>>(),
        "searchedLogStreams": streams.iter().map(|(name, _)| {
            json!({"logStreamName": name, "searchedCompletely": next.is_none()})
        }).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_735_787_045_000;

    fn call(store: &mut LogStore, op: &str, body: Value) -> Result<Value, ApiError> {
        let obj = body.as_object().cloned().unwrap_or_default();
        handle(store, "us-east-1", op, &JsonInput::new(&obj), NOW)
    }

    fn setup() -> LogStore {
        let mut s = LogStore::default();
        call(&mut s, "CreateLogGroup", json!({"logGroupName": "/app"})).unwrap();
        call(
            &mut s,
            "CreateLogStream",
            json!({"logGroupName": "/app", "logStreamName": "s1"}),
        )
        .unwrap();
        s
    }

    fn put(s: &mut LogStore, stream: &str, events: &[(i64, &str)]) -> Value {
        let events: Vec<Value> = events
            .iter()
            .map(|(t, m)| json!({"timestamp": t, "message": m}))
            .collect();
        call(
            s,
            "PutLogEvents",
            json!({"logGroupName": "/app", "logStreamName": stream, "logEvents": events}),
        )
        .unwrap()
    }

    #[test]
    fn duplicate_group_and_missing_group() {
        let mut s = setup();
        let e = call(&mut s, "CreateLogGroup", json!({"logGroupName": "/app"})).unwrap_err();
        assert_eq!(e.code, "ResourceAlreadyExistsException");
        let e = call(
            &mut s,
            "CreateLogStream",
            json!({"logGroupName": "/nope", "logStreamName": "x"}),
        )
        .unwrap_err();
        assert_eq!(e.code, "ResourceNotFoundException");
        let e = call(
            &mut s,
            "PutLogEvents",
            json!({"logGroupName": "/app", "logStreamName": "nope",
                   "logEvents": [{"timestamp": NOW, "message": "x"}]}),
        )
        .unwrap_err();
        assert_eq!(e.code, "ResourceNotFoundException");
    }

    #[test]
    fn rejects_out_of_order_and_reports_too_old_and_too_new() {
        let mut s = setup();
        let e = call(
            &mut s,
            "PutLogEvents",
            json!({"logGroupName": "/app", "logStreamName": "s1",
                   "logEvents": [{"timestamp": NOW, "message": "b"}, {"timestamp": NOW - 1, "message": "a"}]}),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");

        let old = NOW - 15 * DAY_MS;
        let e = call(
            &mut s,
            "PutLogEvents",
            json!({"logGroupName": "/app", "logStreamName": "s1",
                   "logEvents": [{"timestamp": old, "message": "a"}, {"timestamp": NOW, "message": "b"}]}),
        )
        .unwrap_err();
        assert!(e.message.contains("24 hours"), "{}", e.message);

        let out = put(
            &mut s,
            "s1",
            &[(NOW - 1000, "ok"), (NOW + 3 * HOUR_MS, "new")],
        );
        assert_eq!(out["rejectedLogEventsInfo"]["tooNewLogEventStartIndex"], 1);
        let out = put(
            &mut s,
            "s1",
            &[(old + DAY_MS / 2, "old"), (old + DAY_MS, "ok?")],
        );
        assert_eq!(out["rejectedLogEventsInfo"]["tooOldLogEventEndIndex"], 1);
    }

    #[test]
    fn get_log_events_answers_at_most_a_megabyte_a_page() {
        let mut s = setup();
        let big = "x".repeat(250_000);
        for i in 0..5 {
            put(&mut s, "s1", &[(NOW - 100 + i, big.as_str())]);
        }
        let page = |s: &mut LogStore, body: Value| {
            let out = call(s, "GetLogEvents", body).unwrap();
            let n = out["events"].as_array().unwrap().len();
            (n, out["nextForwardToken"].as_str().unwrap().to_string())
        };
        let (n, token) = page(
            &mut s,
            json!({"logGroupName": "/app", "logStreamName": "s1", "startFromHead": true}),
        );
        assert_eq!(n, 4, "4 x (250,000 + 26) bytes fit in 1 MB, 5 do not");
        let (n, _) = page(
            &mut s,
            json!({"logGroupName": "/app", "logStreamName": "s1", "nextToken": token}),
        );
        assert_eq!(n, 1);
        let (n, _) = page(
            &mut s,
            json!({"logGroupName": "/app", "logStreamName": "s1"}),
        );
        assert_eq!(n, 4, "newest first: the last 4");
    }

    #[test]
    fn get_log_events_pages_forward_and_repeats_token_at_end() {
        let mut s = setup();
        let events: Vec<(i64, String)> = (0..7)
            .map(|i| (NOW - 100 + i, format!("line {i}")))
            .collect();
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        put(&mut s, "s1", &refs);

        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let mut body = json!({"logGroupName": "/app", "logStreamName": "s1", "limit": 3, "startFromHead": true});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let out = call(&mut s, "GetLogEvents", body).unwrap();
            for e in out["events"].as_array().unwrap() {
                seen.push(e["message"].as_str().unwrap().to_string());
            }
            let next = out["nextForwardToken"].as_str().unwrap().to_string();
            if token.as_deref() == Some(next.as_str()) {
                break;
            }
            token = Some(next);
        }
        let expected: Vec<String> = (0..7).map(|i| format!("line {i}")).collect();
        assert_eq!(seen, expected);

        // Newest first by default: the last `limit` events, still in ascending order.
        let out = call(
            &mut s,
            "GetLogEvents",
            json!({"logGroupName": "/app", "logStreamName": "s1", "limit": 2}),
        )
        .unwrap();
        let msgs: Vec<&str> = out["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert_eq!(msgs, ["line 5", "line 6"]);
        let back = out["nextBackwardToken"].as_str().unwrap();
        let out = call(
            &mut s,
            "GetLogEvents",
            json!({"logGroupName": "/app", "logStreamName": "s1", "limit": 2, "nextToken": back}),
        )
        .unwrap();
        assert_eq!(out["events"][0]["message"], "line 3");

        let e = call(
            &mut s,
            "GetLogEvents",
            json!({"logGroupName": "/app", "logStreamName": "s1", "nextToken": "zzz"}),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
    }

    #[test]
    fn filter_patterns() {
        let p = FilterPattern::parse("ERROR ?disk ?memory -ignored \"two words\"").unwrap();
        assert!(p.matches("ERROR disk full two words"));
        assert!(!p.matches("ERROR disk full"));
        assert!(!p.matches("ERROR cpu two words"));
        assert!(!p.matches("ERROR disk ignored two words"));
        assert!(FilterPattern::parse("").unwrap().matches("anything"));
        assert!(FilterPattern::parse("{ $.a = 1 }").is_err());
    }

    #[test]
    fn filter_log_events_pages_across_streams() {
        let mut s = setup();
        call(
            &mut s,
            "CreateLogStream",
            json!({"logGroupName": "/app", "logStreamName": "s2"}),
        )
        .unwrap();
        put(&mut s, "s1", &[(NOW - 10, "ERROR a"), (NOW - 5, "info b")]);
        put(&mut s, "s2", &[(NOW - 8, "ERROR c"), (NOW - 1, "ERROR d")]);
        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let mut body = json!({"logGroupName": "/app", "filterPattern": "ERROR", "limit": 2});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let out = call(&mut s, "FilterLogEvents", body).unwrap();
            for e in out["events"].as_array().unwrap() {
                seen.push(e["message"].as_str().unwrap().to_string());
            }
            match out.get("nextToken").and_then(Value::as_str) {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, ["ERROR a", "ERROR c", "ERROR d"]);
    }

    #[test]
    fn describe_groups_sorted_with_arn_star() {
        let mut s = setup();
        call(&mut s, "CreateLogGroup", json!({"logGroupName": "/aaa"})).unwrap();
        let out = call(&mut s, "DescribeLogGroups", json!({})).unwrap();
        let groups = out["logGroups"].as_array().unwrap();
        assert_eq!(groups[0]["logGroupName"], "/aaa");
        assert!(
            groups[0]["arn"]
                .as_str()
                .unwrap()
                .ends_with(":log-group:/aaa:*")
        );
        let e = call(&mut s, "DescribeLogGroups", json!({"limit": 0})).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
    }
}
