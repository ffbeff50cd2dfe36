//! Publishing to funnel's topics from a function: SNS's `Publish`.
//!
//! ```ignore
//! use funnel_function::topics::{self, Message};
//!
//! // The message alone:
//! let id = topics::publish("orders", r#"{"order": 7}"#)?;
//! // With a subject and attributes (which subscriptions' filter policies see):
//! let id = Message::new("orders", r#"{"order": 7}"#)
//!     .subject("new order")
//!     .attribute("kind", "order")
//!     .number_attribute("total", 19.5)
//!     .publish()?;
//! ```
//!
//! A topic the function is not granted fails with
//! `AuthorizationErrorException`, a missing one with `NotFoundException`, a
//! message SNS would refuse with `InvalidParameterException`; with `?` in a
//! handler the error becomes the invocation's.

use crate::Error;
use crate::bindings::funnel::function::topics as wit;

/// Publishes `message` to `topic` (a name or an ARN); returns its MessageId.
pub fn publish(topic: &str, message: impl Into<String>) -> Result<String, Error> {
    Message::new(topic, message).publish()
}

/// A message to publish, with SNS's optional subject and attributes.
#[derive(Debug, Clone)]
pub struct Message {
    request: wit::PublishRequest,
}

impl Message {
    pub fn new(topic: &str, message: impl Into<String>) -> Self {
        Message {
            request: wit::PublishRequest {
                topic: topic.to_string(),
                message: message.into(),
                subject: None,
                message_attributes: Vec::new(),
            },
        }
    }

    /// Up to 100 characters.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.request.subject = Some(subject.into());
        self
    }

    /// A `String` attribute.
    pub fn attribute(self, name: &str, value: impl Into<String>) -> Self {
        self.typed_attribute(name, "String", value)
    }

    /// A `Number` attribute.
    pub fn number_attribute(self, name: &str, value: f64) -> Self {
        self.typed_attribute(name, "Number", value.to_string())
    }

    /// A `String.Array` attribute (`value` is a JSON array).
    pub fn array_attribute(self, name: &str, value: &crate::Value) -> Self {
        self.typed_attribute(name, "String.Array", value.to_string())
    }

    /// Any attribute with a string value: `data_type` is `String`, `Number`
    /// or `String.Array`, optionally with a custom suffix (`Number.float`).
    pub fn typed_attribute(
        mut self,
        name: &str,
        data_type: &str,
        value: impl Into<String>,
    ) -> Self {
        self.request.message_attributes.push(wit::MessageAttribute {
            name: name.to_string(),
            data_type: data_type.to_string(),
            string_value: Some(value.into()),
            binary_value: None,
        });
        self
    }

    /// A `Binary` attribute.
    pub fn binary_attribute(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.request.message_attributes.push(wit::MessageAttribute {
            name: name.to_string(),
            data_type: "Binary".into(),
            string_value: None,
            binary_value: Some(value.into()),
        });
        self
    }

    /// Publishes; returns the MessageId once the message is durable.
    pub fn publish(self) -> Result<String, Error> {
        wit::publish(&self.request).map_err(|err| Error::new(err.error_type, err.error_message))
    }
}
