//! `funnel.v1.Logs`: reading, filtering and tailing function logs, and
//! listing their groups and streams.

use std::pin::Pin;

use funnel_proto::v1 as pb;
use funnel_proto::v1::logs_server::Logs as LogsApi;
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::logs::{GroupListing, Logs, Pattern, Query, StreamListing};

pub struct LogsService {
    logs: Logs,
    /// Ends live tails when the server stops.
    stop: CancellationToken,
}

impl LogsService {
    pub fn new(logs: Logs, stop: CancellationToken) -> Self {
        LogsService { logs, stop }
    }
}

fn limit(limit: Option<i32>) -> Result<Option<usize>, Error> {
    limit
        .map(|n| {
            usize::try_from(n)
                .map_err(|_| Error::InvalidParameterValue(format!("limit {n} is out of range")))
        })
        .transpose()
}

fn group_name(name: &str) -> Result<&str, Error> {
    if name.is_empty() {
        return Err(Error::InvalidParameterValue(
            "logGroupName is required".into(),
        ));
    }
    Ok(name)
}

fn token(token: String) -> Option<String> {
    (!token.is_empty()).then_some(token)
}

/// The group a DescribeLogStreams names: `logGroupName` or
/// `logGroupIdentifier` (a name or an ARN), not both.
fn named_group<'a>(name: &'a str, identifier: &'a str) -> Result<&'a str, Error> {
    match (name, identifier) {
        (name, "") => group_name(name),
        ("", identifier) => Ok(identifier),
        _ => Err(Error::InvalidParameterValue(
            "LogGroupName and LogGroupIdentifier are mutually exclusive parameters.".into(),
        )),
    }
}

/// Retention as CloudWatch's `retentionInDays`, when it is whole days.
fn retention_in_days(max_age: std::time::Duration) -> Option<i32> {
    let seconds = max_age.as_secs();
    (seconds > 0 && seconds.is_multiple_of(86_400) && max_age.subsec_nanos() == 0)
        .then(|| i32::try_from(seconds / 86_400).ok())
        .flatten()
}

type TailStream = Pin<Box<dyn Stream<Item = Result<pb::LiveTailSessionUpdate, Status>> + Send>>;

#[tonic::async_trait]
impl LogsApi for LogsService {
    async fn get_log_events(
        &self,
        request: Request<pb::GetLogEventsRequest>,
    ) -> Result<Response<pb::GetLogEventsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        if req.log_stream_name.is_empty() {
            return Err(Error::InvalidParameterValue("logStreamName is required".into()).into());
        }
        let query = Query {
            streams: vec![req.log_stream_name],
            stream_prefix: String::new(),
            start_ms: req.start_time,
            end_ms: req.end_time,
            pattern: String::new(),
            limit: limit(req.limit)?,
            from_head: req.start_from_head || !req.next_token.is_empty(),
            after: token(req.next_token),
        };
        let (events, next) = self
            .logs
            .read(&caller.log_group(group_name(&req.log_group_name)?), &query)
            .await?;
        Ok(Response::new(pb::GetLogEventsResponse {
            next_forward_token: next
                .or_else(|| events.last().map(|e| e.id.clone()))
                .unwrap_or_default(),
            events: events
                .into_iter()
                .map(|e| pb::OutputLogEvent {
                    timestamp: e.timestamp,
                    message: e.message,
                    ingestion_time: e.ingestion_time,
                })
                .collect(),
        }))
    }

    async fn filter_log_events(
        &self,
        request: Request<pb::FilterLogEventsRequest>,
    ) -> Result<Response<pb::FilterLogEventsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        if !req.log_stream_name_prefix.is_empty() && !req.log_stream_names.is_empty() {
            return Err(Error::InvalidParameterValue(
                "logStreamNames and logStreamNamePrefix cannot both be given".into(),
            )
            .into());
        }
        let query = Query {
            streams: req.log_stream_names,
            stream_prefix: req.log_stream_name_prefix,
            start_ms: req.start_time,
            end_ms: req.end_time,
            pattern: req.filter_pattern,
            limit: limit(req.limit)?,
            from_head: true,
            after: token(req.next_token),
        };
        let (events, next) = self
            .logs
            .read(&caller.log_group(group_name(&req.log_group_name)?), &query)
            .await?;
        Ok(Response::new(pb::FilterLogEventsResponse {
            events: events
                .into_iter()
                .map(|e| pb::FilteredLogEvent {
                    log_stream_name: e.stream,
                    timestamp: e.timestamp,
                    message: e.message,
                    ingestion_time: e.ingestion_time,
                    event_id: e.id,
                })
                .collect(),
            next_token: next.unwrap_or_default(),
        }))
    }

    async fn describe_log_groups(
        &self,
        request: Request<pb::DescribeLogGroupsRequest>,
    ) -> Result<Response<pb::DescribeLogGroupsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        if !req.log_group_name_prefix.is_empty() && !req.log_group_name_pattern.is_empty() {
            return Err(Error::InvalidParameterValue(
                "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters."
                    .into(),
            )
            .into());
        }
        let listing = GroupListing {
            prefix: req.log_group_name_prefix,
            pattern: req.log_group_name_pattern,
            limit: limit(req.limit)?,
            token: token(req.next_token),
        };
        let (groups, next) = self.logs.groups(|key| caller.owns(key), &listing).await?;
        let retention_in_days = retention_in_days(self.logs.retention().max_age);
        let scope = caller.scope();
        Ok(Response::new(pb::DescribeLogGroupsResponse {
            log_groups: groups
                .into_iter()
                .map(|group| {
                    let name = crate::tenancy::name(&group.group).to_string();
                    let arn = scope.log_group(&name);
                    pb::LogGroup {
                        arn: format!("{arn}:*"),
                        log_group_arn: arn,
                        log_group_name: name,
                        creation_time: group.creation_time,
                        stored_bytes: i64::try_from(group.stored_bytes).unwrap_or(i64::MAX),
                        retention_in_days,
                    }
                })
                .collect(),
            next_token: next.unwrap_or_default(),
        }))
    }

    async fn describe_log_streams(
        &self,
        request: Request<pb::DescribeLogStreamsRequest>,
    ) -> Result<Response<pb::DescribeLogStreamsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let by_last_event = match req.order_by.as_str() {
            "" | "LogStreamName" => false,
            "LastEventTime" => true,
            other => {
                return Err(Error::InvalidParameterValue(format!(
                    "orderBy {other:?} is not LogStreamName or LastEventTime"
                ))
                .into());
            }
        };
        if by_last_event && !req.log_stream_name_prefix.is_empty() {
            return Err(Error::InvalidParameterValue(
                "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
            )
            .into());
        }
        let group = caller.log_group(named_group(&req.log_group_name, &req.log_group_identifier)?);
        let listing = StreamListing {
            prefix: req.log_stream_name_prefix,
            by_last_event,
            descending: req.descending,
            limit: limit(req.limit)?,
            token: token(req.next_token),
        };
        let (streams, next) = self.logs.streams(&group, &listing).await?;
        let group_arn = caller.scope().log_group(crate::tenancy::name(&group));
        Ok(Response::new(pb::DescribeLogStreamsResponse {
            log_streams: streams
                .into_iter()
                .map(|stream| pb::LogStream {
                    arn: format!("{group_arn}:log-stream:{}", stream.stream),
                    log_stream_name: stream.stream,
                    creation_time: stream.creation_time,
                    first_event_timestamp: stream.first_event_timestamp,
                    last_event_timestamp: stream.last_event_timestamp,
                    last_ingestion_time: stream.last_ingestion_time,
                    stored_bytes: i64::try_from(stream.stored_bytes).unwrap_or(i64::MAX),
                })
                .collect(),
            next_token: next.unwrap_or_default(),
        }))
    }

    type StartLiveTailStream = TailStream;

    async fn start_live_tail(
        &self,
        request: Request<pb::StartLiveTailRequest>,
    ) -> Result<Response<Self::StartLiveTailStream>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        // A tail reads every group it names: each must be allowed.
        for group in req.log_group_identifiers.iter().skip(1) {
            crate::iam::authorize(&caller, &caller.scope().log_group(group))?;
        }
        let groups: Vec<String> = req
            .log_group_identifiers
            .iter()
            .map(|group| caller.log_group(group))
            .collect();
        let pattern = Pattern::parse(&req.log_event_filter_pattern);
        let mut live = self.logs.subscribe();
        let stop = self.stop.clone();
        let stream = async_stream(move |tx| async move {
            loop {
                let received = tokio::select! {
                    received = live.recv() => received,
                    () = stop.cancelled() => return,
                };
                let event = match received {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "a live tail fell behind and missed events");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                // Only the caller's account's groups are ever seen.
                let wanted = caller.owns(&event.group)
                    && (groups.is_empty() || groups.contains(&event.group))
                    && (req.log_stream_names.is_empty()
                        || req.log_stream_names.contains(&event.stream))
                    && pattern.matches(&event.message);
                if !wanted {
                    continue;
                }
                let update = pb::LiveTailSessionUpdate {
                    session_results: vec![pb::LiveTailSessionLogEvent {
                        log_stream_name: event.stream.clone(),
                        log_group_identifier: crate::tenancy::name(&event.group).to_string(),
                        message: event.message.clone(),
                        timestamp: event.timestamp,
                        ingestion_time: event.ingestion_time,
                        event_id: event.id.clone(),
                    }],
                };
                if tx.send(Ok(update)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(stream))
    }
}

/// A stream fed by a task that stops when the client goes away.
fn async_stream<F, Fut>(body: F) -> TailStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<pb::LiveTailSessionUpdate, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(body(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
