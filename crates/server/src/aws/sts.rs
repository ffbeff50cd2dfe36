//! STS's query protocol: GetCallerIdentity (who the signing key is).

use funnel_proto::v1 as pb;
use funnel_proto::v1::sts_server::Sts as _;
use funnel_runtime::HttpBody;
use http::StatusCode;

use super::errors::{AwsError, xml_escape};
use super::{Door, Request, respond};

use super::errors::STS_NAMESPACE as NAMESPACE;

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    // The action is in the form body (POST) or the query string (GET).
    let form = if request.body.is_empty() {
        request.parts.uri.query().unwrap_or_default().as_bytes()
    } else {
        &request.body[..]
    };
    let action = form_urlencoded::parse(form)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    match action.as_str() {
        "GetCallerIdentity" => {
            let sts = &door.inner.services.sts;
            let out = door
                .call(
                    &request.signer,
                    "/funnel.v1.Sts/GetCallerIdentity",
                    pb::GetCallerIdentityRequest {},
                    |r| sts.get_caller_identity(r),
                )
                .await?;
            let xml = format!(
                "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\"><GetCallerIdentityResult>\
                 <Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>\
                 </GetCallerIdentityResult><ResponseMetadata><RequestId>{}</RequestId>\
                 </ResponseMetadata></GetCallerIdentityResponse>",
                xml_escape(&out.arn),
                xml_escape(&out.user_id),
                xml_escape(&out.account),
                xml_escape(&request.request_id),
            );
            Ok(respond(
                StatusCode::OK,
                &[("content-type", "text/xml".into())],
                xml,
            ))
        }
        "" => Err(AwsError::new(
            "MissingAction",
            "the request names no Action",
        )),
        other => Err(AwsError::new(
            "InvalidAction",
            format!("funnel's STS endpoint does not implement {other} (it has GetCallerIdentity)"),
        )),
    }
}
