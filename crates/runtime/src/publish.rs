//! The `funnel:function/topics` import: a guest publishing to a topic.
//!
//! The runtime knows nothing of topics: the server hands it a
//! [`TopicPublisher`] once its topics exist, and each environment carries
//! the function's name and the topics it is granted. The publisher checks
//! the grant (it alone knows how a topic ARN maps to a name) and publishes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::bindings::funnel::function::topics::{self, PublishRequest};
use super::bindings::funnel::function::types::FunctionError;
use super::host::Host;

/// One publish by a guest.
#[derive(Debug, Clone)]
pub struct GuestPublish {
    /// The publishing function.
    pub function_name: String,
    /// The topics it is granted (names).
    pub granted: Arc<[String]>,
    /// The topic as the guest named it: a name or an ARN.
    pub topic: String,
    pub message: String,
    pub subject: Option<String>,
    pub attributes: Vec<GuestAttribute>,
    /// Invocations before the publishing one in its chain of triggers.
    pub chain_depth: u32,
    /// The publishing invocation's trace (its `_X_AMZN_TRACE_ID`).
    pub trace_id: Option<String>,
}

/// One message attribute a guest sent.
#[derive(Debug, Clone)]
pub struct GuestAttribute {
    pub name: String,
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

/// Why a guest's publish failed: SNS's error name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishError {
    pub code: String,
    pub message: String,
}

pub type PublishFuture<'a> =
    Pin<Box<dyn Future<Output = Result<String, PublishError>> + Send + 'a>>;

/// Publishes what guests publish; returns the MessageId once durable.
pub trait TopicPublisher: Send + Sync {
    fn publish(&self, request: GuestPublish) -> PublishFuture<'_>;
}

/// What an environment needs to publish: who it is and what it may use.
#[derive(Clone)]
pub struct Publishing {
    pub publisher: Option<std::sync::Weak<dyn TopicPublisher>>,
    pub function_name: String,
    pub granted: Arc<[String]>,
}

impl topics::Host for Host {
    async fn publish(&mut self, request: PublishRequest) -> Result<String, FunctionError> {
        let publishing = self.publishing.clone();
        let chain_depth = self.chain_depth;
        let Some(publisher) = publishing.publisher.and_then(|p| p.upgrade()) else {
            return Err(FunctionError {
                error_type: "InternalError".into(),
                error_message: "topics are not available in this server".into(),
            });
        };
        let request = GuestPublish {
            function_name: publishing.function_name,
            granted: publishing.granted,
            topic: request.topic,
            message: request.message,
            subject: request.subject,
            attributes: request
                .message_attributes
                .into_iter()
                .map(|a| GuestAttribute {
                    name: a.name,
                    data_type: a.data_type,
                    string_value: a.string_value,
                    binary_value: a.binary_value,
                })
                .collect(),
            chain_depth,
            trace_id: self.trace_id.clone(),
        };
        publisher
            .publish(request)
            .await
            .map_err(|err| FunctionError {
                error_type: err.code,
                error_message: err.message,
            })
    }
}

impl super::bindings::funnel::function::types::Host for Host {}
