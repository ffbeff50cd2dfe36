//! Topics granted to a function's guest (`TopicAccess`), and the bridge
//! that lets the runtime's `funnel:function/topics` import publish.
//!
//! A grant names a topic (an ARN of this server is stored as its name); the
//! topic need not exist yet, since stacks deploy functions before the topics
//! that subscribe them. A guest's publish to a topic it was not granted is
//! refused with SNS's `AuthorizationErrorException`; otherwise it is an
//! ordinary Publish, validated, filtered and queued as any other.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::functions::Functions;
use crate::topics::Topics;
use crate::topics::event::MessageAttribute;
use funnel_runtime::{GuestPublish, PublishError, PublishFuture, TopicPublisher};

impl Functions {
    /// The grants as stored: names, each once, in the order given.
    pub fn topic_access(&self, topics: &[String]) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::with_capacity(topics.len());
        for topic in topics {
            let name = self.naming().topic_name(topic).map_err(|why| {
                Error::InvalidParameterValue(format!("TopicAccess names {topic:?}: {why}"))
            })?;
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }
}

impl TopicPublisher for Topics {
    fn publish(&self, request: GuestPublish) -> PublishFuture<'_> {
        Box::pin(async move {
            let refused = |err: Error| PublishError {
                code: err.aws_name().to_string(),
                message: err.message().to_string(),
            };
            let name = self
                .naming
                .topic_name(&request.topic)
                .map_err(|why| refused(Error::InvalidParameter(why)))?;
            if !request.granted.iter().any(|granted| granted == name) {
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
            let topic_arn = self.topic_arn(name);
            let published = self
                .publish_in_chain(
                    &topic_arn,
                    &request.message,
                    request.subject.as_deref(),
                    &attributes,
                    request.chain_depth.saturating_add(1),
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
