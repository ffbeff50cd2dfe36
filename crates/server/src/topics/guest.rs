//! The bridge that lets the runtime's `funnel:function/topics` import
//! publish: a guest's publish to a topic it was not granted (see
//! `crate::grants`) is refused with SNS's `AuthorizationErrorException`;
//! otherwise it is an ordinary Publish, validated, filtered and queued as
//! any other, continuing the guest's invocation chain.

use std::collections::BTreeMap;

use super::Topics;
use super::event::MessageAttribute;
use crate::error::Error;
use funnel_runtime::{GuestPublish, PublishError, PublishFuture, TopicPublisher};

impl TopicPublisher for Topics {
    fn publish(&self, request: GuestPublish) -> PublishFuture<'_> {
        Box::pin(async move {
            let refused = |err: Error| PublishError {
                code: err.aws_name().to_string(),
                message: err.message().to_string(),
            };
            // The function's names resolve in its own account.
            let own = self
                .naming
                .for_account(self.naming.account_of(&request.function_name));
            let key = own
                .topic_name(&request.topic)
                .map_err(|why| refused(Error::InvalidParameter(why)))?;
            let name = crate::tenancy::name(&key);
            if !own.owns(&key) || !request.granted.iter().any(|granted| granted == name) {
                return Err(PublishError {
                    code: "AuthorizationErrorException".into(),
                    message: format!(
                        "function {} is not granted topic {name} (add it to the function's TopicAccess)",
                        request.function_name
                    ),
                });
            }
            let attributes: BTreeMap<String, MessageAttribute> = request
                .attributes
                .into_iter()
                .map(|a| {
                    let value = MessageAttribute {
                        data_type: a.data_type,
                        string_value: a.string_value,
                        binary_value: a.binary_value,
                    };
                    (a.name, value)
                })
                .collect();
            let topic_arn = self.topic_arn(&key);
            // The publish continues the invocation's trace.
            let trace = request
                .trace_id
                .as_deref()
                .and_then(crate::traces::TraceContext::parse_stored);
            let published = crate::traces::within(
                trace,
                self.publish_in_chain(
                    &topic_arn,
                    &request.message,
                    request.subject.as_deref(),
                    &attributes,
                    request.chain_depth.saturating_add(1),
                ),
            )
            .await
            .map_err(refused)?;
            tracing::debug!(
                function = %request.function_name,
                topic = name,
                message_id = %published.message_id,
                "a function published"
            );
            Ok(published.message_id)
        })
    }
}
