//! Reading a session's log stream from CloudWatch Logs: GetLogEvents from the head, page after
//! page, until the forward token comes back unchanged (the end of the stream; pages may be empty
//! before it). Pages arrive one at a time so a caller can show progress and stay responsive.

use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::timeline::{LogEvent, Timeline, TimelineBuilder};
use crate::aws::{AwsError, Clients, Target};

/// Where a session's log is read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogSource {
    pub group: String,
    pub stream: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(
        "log group {group} does not exist in {target}: session logging may write elsewhere (check the session preferences) or the group was deleted"
    )]
    GroupNotFound { group: String, target: String },
    #[error(
        "no log stream {stream} in group {group} ({target}): the session wrote no log (logging off, a port-forwarding session, or it is still running with logs uploaded at the end)"
    )]
    StreamNotFound {
        group: String,
        stream: String,
        target: String,
    },
    #[error("the log stream {stream} in group {group} is empty: the session printed nothing")]
    Empty { group: String, stream: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Pages through one log stream from its head.
#[derive(Debug)]
pub struct LogReader {
    logs: aws_sdk_cloudwatchlogs::Client,
    target: Target,
    endpoint: String,
    source: LogSource,
    token: Option<String>,
    done: bool,
    /// Safety net against an endpoint whose tokens never repeat while returning nothing.
    empty_pages: u32,
}

const EMPTY_PAGE_LIMIT: u32 = 50;

impl LogReader {
    pub fn new(clients: &Clients, source: LogSource) -> LogReader {
        LogReader {
            logs: clients.logs.clone(),
            target: clients.target.clone(),
            endpoint: clients.endpoint_for("logs"),
            source,
            token: None,
            done: false,
            empty_pages: 0,
        }
    }

    pub fn source(&self) -> &LogSource {
        &self.source
    }

    /// The next page of events (possibly empty), or `None` at the end of the stream.
    pub async fn next_page(&mut self) -> Result<Option<Vec<LogEvent>>, LogError> {
        if self.done {
            return Ok(None);
        }
        let out = self
            .logs
            .get_log_events()
            .log_group_name(&self.source.group)
            .log_stream_name(&self.source.stream)
            .start_from_head(true)
            .set_next_token(self.token.clone())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let mut error = self.error(e);
                if let LogError::StreamNotFound { group, target, .. } = &error
                    && !self.group_exists().await
                {
                    error = LogError::GroupNotFound {
                        group: group.clone(),
                        target: target.clone(),
                    };
                }
                return Err(error);
            }
        };
        let events: Vec<LogEvent> = out
            .events()
            .iter()
            .map(|e| LogEvent {
                timestamp: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect();
        let next = out.next_forward_token().map(str::to_string);
        if events.is_empty() {
            self.empty_pages += 1;
        } else {
            self.empty_pages = 0;
        }
        if next.is_none() || next == self.token || self.empty_pages >= EMPTY_PAGE_LIMIT {
            self.done = true;
        }
        self.token = next;
        Ok(Some(events))
    }

    /// Whether the group exists (DescribeLogGroups by prefix); on any doubt, yes.
    async fn group_exists(&self) -> bool {
        match self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&self.source.group)
            .send()
            .await
        {
            Ok(out) => out
                .log_groups()
                .iter()
                .any(|g| g.log_group_name() == Some(self.source.group.as_str())),
            Err(_) => true,
        }
    }

    fn error(
        &self,
        e: aws_smithy_runtime_api::client::result::SdkError<
            GetLogEventsError,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> LogError {
        if let Some(service) = e.as_service_error()
            && service.code() == Some("ResourceNotFoundException")
        {
            let group = self.source.group.clone();
            let target = self.target.to_string();
            // Endpoints word this differently (moto names the group for a missing stream), so
            // `next_page` asks DescribeLogGroups which of the two is missing.
            return LogError::StreamNotFound {
                group,
                stream: self.source.stream.clone(),
                target,
            };
        }
        AwsError::from_sdk(e, &self.target, "logs:GetLogEvents", self.endpoint.clone()).into()
    }
}

/// Reads the whole stream into a timeline; `progress` gets the count of events read after each
/// page. An empty stream is [`LogError::Empty`]; malformed events are in `Timeline::malformed`.
pub async fn read_timeline(
    clients: &Clients,
    source: LogSource,
    mut progress: impl FnMut(usize),
) -> Result<Timeline, LogError> {
    let mut reader = LogReader::new(clients, source.clone());
    let mut builder = TimelineBuilder::new();
    let mut page = reader.next_page().await?;
    while let Some(events) = page {
        // The next page is asked for before this one is parsed, so the wait for the service's
        // answer overlaps the parsing (docs/performance.md: with 100 ms per call, 1.6 s of a
        // 50 MB log's 14 s).
        let (next, ()) = tokio::join!(reader.next_page(), async { builder.push(&events) });
        progress(builder.events());
        page = next?;
    }
    if builder.events() == 0 {
        return Err(LogError::Empty {
            group: source.group,
            stream: source.stream,
        });
    }
    Ok(builder.finish())
}
