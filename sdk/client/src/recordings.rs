//! Recordings and their replay (`funnel.v1.Recordings`).

use crate::{Client, Result, proto};

impl Client {
    /// Starts a recording; what the server stored.
    pub async fn start_recording(
        &self,
        request: proto::StartRecordingRequest,
    ) -> Result<proto::Recording> {
        Ok(self
            .recordings
            .clone()
            .start_recording(request)
            .await?
            .into_inner())
    }

    /// Stops a recording: it takes no more events.
    pub async fn stop_recording(&self, name: &str) -> Result<proto::Recording> {
        Ok(self
            .recordings
            .clone()
            .stop_recording(proto::StopRecordingRequest { name: name.into() })
            .await?
            .into_inner())
    }

    /// The recordings of the caller's account, oldest first.
    pub async fn list_recordings(&self) -> Result<Vec<proto::Recording>> {
        Ok(self
            .recordings
            .clone()
            .list_recordings(proto::ListRecordingsRequest {})
            .await?
            .into_inner()
            .recordings)
    }

    /// A recording and up to `limit` of its events (every one when
    /// `None`) as JSON Lines, page by page.
    pub async fn export_recording(
        &self,
        name: &str,
        limit: Option<usize>,
    ) -> Result<(proto::Recording, Vec<String>)> {
        let mut lines = Vec::new();
        let mut from_seq = 0;
        loop {
            // The server takes 0 for a whole page: ask for at least one.
            let want = limit.map_or(0, |l| l.saturating_sub(lines.len()).clamp(1, 1000) as u32);
            let page = self
                .recordings
                .clone()
                .export_recording(proto::ExportRecordingRequest {
                    name: name.into(),
                    from_seq,
                    limit: want,
                })
                .await?
                .into_inner();
            lines.extend(page.lines);
            let done = page.next_seq == 0 || limit.is_some_and(|l| lines.len() >= l);
            if done {
                lines.truncate(limit.unwrap_or(usize::MAX));
                let recording = page.recording.unwrap_or_default();
                return Ok((recording, lines));
            }
            from_seq = page.next_seq;
        }
    }

    /// A new, stopped recording of `lines` (JSON Lines).
    pub async fn import_recording(
        &self,
        name: &str,
        lines: Vec<String>,
    ) -> Result<proto::Recording> {
        Ok(self
            .recordings
            .clone()
            .import_recording(proto::ImportRecordingRequest {
                name: name.into(),
                lines,
            })
            .await?
            .into_inner())
    }

    pub async fn delete_recording(&self, name: &str) -> Result<()> {
        self.recordings
            .clone()
            .delete_recording(proto::DeleteRecordingRequest { name: name.into() })
            .await?;
        Ok(())
    }

    /// Replays a recording; the new recording, once every event is sent.
    pub async fn replay_recording(
        &self,
        request: proto::ReplayRecordingRequest,
    ) -> Result<proto::Recording> {
        Ok(self
            .recordings
            .clone()
            .replay_recording(request)
            .await?
            .into_inner())
    }
}
