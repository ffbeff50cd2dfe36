//! `funnel.v1.Recordings`: recordings of the caller's account (`funnel
//! record …`) and their replay (`funnel replay …`). Functions are named
//! as anywhere else (a name of the caller's account, or an ARN).

use funnel_proto::v1 as pb;
use funnel_proto::v1::recordings_server::Recordings as RecordingsApi;
use funnel_store::RecordingRecord;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::recordings::replay::{ReplaySpec, Replayer, Timing};
use crate::recordings::{Recordings, Spec, format};
use crate::registry::Registry;

/// Lines an export answers with when no limit is given, and at most.
const EXPORT_PAGE: usize = 1_000;

pub struct RecordingsService {
    recordings: Recordings,
    replayer: Replayer,
    functions: Registry,
}

impl RecordingsService {
    pub fn new(recordings: Recordings, replayer: Replayer, functions: Registry) -> Self {
        RecordingsService {
            recordings,
            replayer,
            functions,
        }
    }
}

fn time_text(ms: i64) -> String {
    if ms == 0 {
        return String::new();
    }
    crate::schedules::ms_to_time(ms)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn view(record: RecordingRecord) -> pb::Recording {
    pb::Recording {
        name: crate::tenancy::name(&record.key).to_string(),
        function_names: record
            .functions
            .iter()
            .map(|f| crate::tenancy::name(f).to_string())
            .collect(),
        triggers: record.triggers,
        state: record.state,
        started: time_text(record.started_ms),
        stopped: time_text(record.stopped_ms),
        events: record.events,
        bytes: record.bytes,
        max_events: record.max_events,
        max_bytes: record.max_bytes,
        origin: record.origin,
    }
}

fn required(what: &str, value: &str) -> Result<(), Status> {
    if value.is_empty() {
        return Err(Error::InvalidParameterValue(format!("{what} is required")).into());
    }
    Ok(())
}

#[tonic::async_trait]
impl RecordingsApi for RecordingsService {
    async fn start_recording(
        &self,
        request: Request<pb::StartRecordingRequest>,
    ) -> Result<Response<pb::Recording>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        required("Name", &req.name)?;
        let mut functions = Vec::new();
        for name in &req.function_names {
            let arn = caller.function(name)?;
            // The function must exist; a recording takes all its versions.
            let (target, record) = self.functions.lookup(&arn, "")?;
            if target.qualifier.is_some() {
                return Err(Error::InvalidParameterValue(format!(
                    "FunctionNames: {name} names a version or alias; a recording takes every \
                     call of a function"
                ))
                .into());
            }
            if !functions.contains(&record.name) {
                functions.push(record.name.clone());
            }
        }
        let record = self.recordings.start(Spec {
            account: caller.naming().account_id.clone(),
            name: req.name,
            functions,
            triggers: req.triggers,
            max_events: req.max_events,
            max_bytes: req.max_bytes,
        })?;
        Ok(Response::new(view(record)))
    }

    async fn stop_recording(
        &self,
        request: Request<pb::StopRecordingRequest>,
    ) -> Result<Response<pb::Recording>, Status> {
        let caller = crate::iam::check(&request)?;
        let name = request.into_inner().name;
        required("Name", &name)?;
        let record = self.recordings.stop(&caller.naming().account_id, &name)?;
        Ok(Response::new(view(record)))
    }

    async fn list_recordings(
        &self,
        request: Request<pb::ListRecordingsRequest>,
    ) -> Result<Response<pb::ListRecordingsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let recordings = self
            .recordings
            .list(&caller.naming().account_id)?
            .into_iter()
            .map(view)
            .collect();
        Ok(Response::new(pb::ListRecordingsResponse { recordings }))
    }

    async fn export_recording(
        &self,
        request: Request<pb::ExportRecordingRequest>,
    ) -> Result<Response<pb::ExportRecordingResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        required("Name", &req.name)?;
        let account = &caller.naming().account_id;
        let record = self.recordings.get(account, &req.name)?;
        let limit = match req.limit as usize {
            0 => EXPORT_PAGE,
            n => n.min(EXPORT_PAGE),
        };
        // One more than asked says whether there is a next page.
        let mut entries = self
            .recordings
            .entries(account, &req.name, req.from_seq, limit + 1)?;
        let next_seq = match entries.len() > limit {
            true => entries.pop().map_or(0, |e| e.seq),
            false => 0,
        };
        Ok(Response::new(pb::ExportRecordingResponse {
            recording: Some(view(record)),
            lines: entries.iter().map(format::render).collect(),
            next_seq,
        }))
    }

    async fn import_recording(
        &self,
        request: Request<pb::ImportRecordingRequest>,
    ) -> Result<Response<pb::Recording>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        required("Name", &req.name)?;
        let entries = format::parse(&req.lines)?;
        let record = self
            .recordings
            .import(&caller.naming().account_id, &req.name, entries)?;
        Ok(Response::new(view(record)))
    }

    async fn delete_recording(
        &self,
        request: Request<pb::DeleteRecordingRequest>,
    ) -> Result<Response<pb::DeleteRecordingResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let name = request.into_inner().name;
        required("Name", &name)?;
        self.recordings.delete(&caller.naming().account_id, &name)?;
        Ok(Response::new(pb::DeleteRecordingResponse {}))
    }

    async fn replay_recording(
        &self,
        request: Request<pb::ReplayRecordingRequest>,
    ) -> Result<Response<pb::Recording>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        required("Name", &req.name)?;
        required("FunctionName", &req.function_name)?;
        let function = caller.function(&req.function_name)?;
        let record = self
            .replayer
            .replay(ReplaySpec {
                account: caller.naming().account_id.clone(),
                source: req.name,
                function,
                qualifier: req.qualifier,
                timing: Timing::parse(&req.timing)?,
                speed: if req.speed == 0.0 { 1.0 } else { req.speed },
                concurrency: req.concurrency.max(1) as usize,
                name: req.r#as,
            })
            .await?;
        Ok(Response::new(view(record)))
    }
}
