//! `funnel.v1.Metrics`: the OpenMetrics text, whole or for one function.

use funnel_proto::v1 as pb;
use funnel_proto::v1::metrics_server::Metrics as MetricsApi;
use tonic::{Request, Response, Status};

use crate::metrics::Metrics;

pub struct MetricsService {
    metrics: Metrics,
}

impl MetricsService {
    pub fn new(metrics: Metrics) -> Self {
        MetricsService { metrics }
    }
}

#[tonic::async_trait]
impl MetricsApi for MetricsService {
    async fn get_metrics(
        &self,
        request: Request<pb::GetMetricsRequest>,
    ) -> Result<Response<pb::GetMetricsResponse>, Status> {
        crate::iam::check(&request)?;
        let function = request.into_inner().function_name;
        let text = self.metrics.render();
        let open_metrics = if function.is_empty() {
            text
        } else {
            let label = format!("function=\"{function}\"");
            text.lines()
                .filter(|line| {
                    line.starts_with('#') || !line.contains("function=\"") || line.contains(&label)
                })
                .map(|line| format!("{line}\n"))
                .collect()
        };
        Ok(Response::new(pb::GetMetricsResponse { open_metrics }))
    }
}
