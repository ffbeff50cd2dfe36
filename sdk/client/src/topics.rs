//! Topics: create, subscribe functions, publish.

use std::collections::HashMap;

use crate::{Client, Result, proto};

impl Client {
    /// Creates a topic (or returns the existing one); its ARN.
    pub async fn create_topic(&self, name: &str) -> Result<String> {
        Ok(self
            .topics
            .clone()
            .create_topic(proto::CreateTopicRequest {
                name: name.into(),
                attributes: HashMap::new(),
            })
            .await?
            .into_inner()
            .topic_arn)
    }

    pub async fn delete_topic(&self, topic_arn: &str) -> Result<()> {
        self.topics
            .clone()
            .delete_topic(proto::DeleteTopicRequest {
                topic_arn: topic_arn.into(),
            })
            .await?;
        Ok(())
    }

    /// Every topic's ARN, following pages.
    pub async fn list_all_topics(&self) -> Result<Vec<String>> {
        let mut all = Vec::new();
        let mut next_token = String::new();
        loop {
            let page = self
                .topics
                .clone()
                .list_topics(proto::ListTopicsRequest { next_token })
                .await?
                .into_inner();
            all.extend(page.topics.into_iter().map(|t| t.topic_arn));
            if page.next_token.is_empty() {
                return Ok(all);
            }
            next_token = page.next_token;
        }
    }

    pub async fn get_topic_attributes(&self, topic_arn: &str) -> Result<HashMap<String, String>> {
        Ok(self
            .topics
            .clone()
            .get_topic_attributes(proto::GetTopicAttributesRequest {
                topic_arn: topic_arn.into(),
            })
            .await?
            .into_inner()
            .attributes)
    }

    /// Subscribes a function (`Protocol` "lambda"); its subscription ARN.
    pub async fn subscribe(&self, request: proto::SubscribeRequest) -> Result<String> {
        Ok(self
            .topics
            .clone()
            .subscribe(request)
            .await?
            .into_inner()
            .subscription_arn)
    }

    pub async fn unsubscribe(&self, subscription_arn: &str) -> Result<()> {
        self.topics
            .clone()
            .unsubscribe(proto::UnsubscribeRequest {
                subscription_arn: subscription_arn.into(),
            })
            .await?;
        Ok(())
    }

    /// Every subscription of a topic, following pages.
    pub async fn list_subscriptions_by_topic(
        &self,
        topic_arn: &str,
    ) -> Result<Vec<proto::Subscription>> {
        let mut all = Vec::new();
        let mut next_token = String::new();
        loop {
            let page = self
                .topics
                .clone()
                .list_subscriptions_by_topic(proto::ListSubscriptionsByTopicRequest {
                    topic_arn: topic_arn.into(),
                    next_token,
                })
                .await?
                .into_inner();
            all.extend(page.subscriptions);
            if page.next_token.is_empty() {
                return Ok(all);
            }
            next_token = page.next_token;
        }
    }

    pub async fn get_subscription_attributes(
        &self,
        subscription_arn: &str,
    ) -> Result<HashMap<String, String>> {
        Ok(self
            .topics
            .clone()
            .get_subscription_attributes(proto::GetSubscriptionAttributesRequest {
                subscription_arn: subscription_arn.into(),
            })
            .await?
            .into_inner()
            .attributes)
    }

    pub async fn set_subscription_attributes(
        &self,
        subscription_arn: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        self.topics
            .clone()
            .set_subscription_attributes(proto::SetSubscriptionAttributesRequest {
                subscription_arn: subscription_arn.into(),
                attribute_name: name.into(),
                attribute_value: value.into(),
            })
            .await?;
        Ok(())
    }

    /// Publishes; the MessageId once the message is durable.
    pub async fn publish(&self, request: proto::PublishRequest) -> Result<String> {
        Ok(self
            .topics
            .clone()
            .publish(request)
            .await?
            .into_inner()
            .message_id)
    }

    /// Publishes a stream of messages; the answers come back in order, each
    /// once its message is durable.
    pub async fn publish_stream(
        &self,
        messages: impl tokio_stream::Stream<Item = proto::PublishRequest> + Send + 'static,
    ) -> Result<tonic::Streaming<proto::PublishStreamResponse>> {
        Ok(self
            .topics
            .clone()
            .publish_stream(messages)
            .await?
            .into_inner())
    }

    pub async fn publish_batch(
        &self,
        request: proto::PublishBatchRequest,
    ) -> Result<proto::PublishBatchResponse> {
        Ok(self
            .topics
            .clone()
            .publish_batch(request)
            .await?
            .into_inner())
    }
}
