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
        let caller = crate::iam::check(&request)?;
        let function = request.into_inner().function_name;
        let text = self.metrics.render();
        // Series are labelled with function keys: a caller sees its own
        // account's (and the server-wide ones, when it is the home
        // account's).
        let wanted = (!function.is_empty())
            .then(|| caller.naming().parse_function(&function))
            .transpose()?
            .map(|f| format!("function=\"{}\"", f.name));
        let home = caller.principal.account_id == caller.naming().home;
        let open_metrics = text
            .lines()
            .filter(|line| {
                if line.starts_with('#') {
                    return true;
                }
                match line
                    .split_once("function=\"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                {
                    Some((key, _)) => {
                        caller.owns(key)
                            && wanted
                                .as_ref()
                                .is_none_or(|label| line.contains(label.as_str()))
                    }
                    None => home,
                }
            })
            .map(|line| format!("{line}\n"))
            .collect();
        Ok(Response::new(pb::GetMetricsResponse { open_metrics }))
    }
}
