//! (to be written) the sns adapter.

use funnel_runtime::HttpBody;

use super::errors::AwsError;
use super::{Door, Request};

pub async fn handle(
    _door: &Door,
    _request: Request,
) -> Result<hyper::Response<HttpBody>, AwsError> {
    Err(AwsError::new(
        "UnknownOperationException",
        "funnel's AWS endpoint does not serve sns yet",
    ))
}
