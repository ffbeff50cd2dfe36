//! `funnel.v1.Topics`: topics, subscriptions and publishing.

use std::collections::BTreeMap;

use funnel_proto::v1 as pb;
use funnel_proto::v1::topics_server::Topics as TopicsApi;
use tonic::{Request, Response, Status};

use crate::topics::event::MessageAttribute;
use crate::topics::{BatchEntry, Topics};

pub struct TopicsService {
    topics: Topics,
    quotas: crate::quotas::Quotas,
}

impl TopicsService {
    pub fn new(topics: Topics, quotas: crate::quotas::Quotas) -> Self {
        TopicsService { topics, quotas }
    }
}

fn attributes(
    given: std::collections::HashMap<String, pb::MessageAttributeValue>,
) -> BTreeMap<String, MessageAttribute> {
    given
        .into_iter()
        .map(|(name, v)| {
            (
                name,
                MessageAttribute {
                    data_type: v.data_type,
                    string_value: v.string_value,
                    binary_value: v.binary_value,
                },
            )
        })
        .collect()
}

/// PublishStream's publishes in flight at once.
const STREAM_WINDOW: usize = 256;

type PublishStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<pb::PublishStreamResponse, Status>> + Send>,
>;

#[tonic::async_trait]
impl TopicsApi for TopicsService {
    type PublishStreamStream = PublishStream;

    async fn publish_stream(
        &self,
        request: Request<tonic::Streaming<pb::PublishRequest>>,
    ) -> Result<Response<Self::PublishStreamStream>, Status> {
        use tokio_stream::StreamExt as _;
        let caller = crate::iam::caller_of(request.extensions())?;
        // Each message names its topic: each is authorized on its own.
        caller.authorizes_each_message();
        let mut incoming = request.into_inner();
        // Publishes run concurrently (their flushes are shared); answers go
        // back in order through a bounded line of their tasks.
        let (in_flight, mut done) = tokio::sync::mpsc::channel(STREAM_WINDOW);
        let (answers, out) = tokio::sync::mpsc::channel(STREAM_WINDOW);
        let topics = self.topics.clone();
        tokio::spawn(async move {
            while let Some(next) = incoming.next().await {
                let Ok(req) = next else { break };
                let topics = topics.clone();
                let allowed = crate::iam::authorize_resource(&caller, &req)
                    .and_then(|()| caller.topic(&req.topic_arn));
                let task = tokio::spawn(async move {
                    let topic_arn = allowed?;
                    topics
                        .publish(
                            &topic_arn,
                            &req.message,
                            req.subject.as_deref(),
                            &attributes(req.message_attributes),
                        )
                        .await
                });
                if in_flight.send(task).await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(task) = done.recv().await {
                let answer = match task.await {
                    Ok(Ok(published)) => pb::PublishStreamResponse {
                        message_id: published.message_id,
                        ..Default::default()
                    },
                    Ok(Err(err)) => pb::PublishStreamResponse {
                        error_type: err.aws_name().to_string(),
                        error_message: err.message().to_string(),
                        ..Default::default()
                    },
                    Err(join) => pb::PublishStreamResponse {
                        error_type: "InternalErrorException".into(),
                        error_message: format!("the publish failed: {join}"),
                        ..Default::default()
                    },
                };
                if answers.send(Ok(answer)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(out),
        )))
    }

    async fn create_topic(
        &self,
        request: Request<pb::CreateTopicRequest>,
    ) -> Result<Response<pb::CreateTopicResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        // Creating an existing topic returns it, quota or not.
        if self.topics.topic(&caller.topic(&req.name)?).is_err() {
            self.quotas.topic(&caller)?;
        }
        let topic_arn = self
            .topics
            .create_topic(&caller.key(&req.name), req.attributes.into_iter().collect())
            .await?;
        Ok(Response::new(pb::CreateTopicResponse { topic_arn }))
    }

    async fn delete_topic(
        &self,
        request: Request<pb::DeleteTopicRequest>,
    ) -> Result<Response<pb::DeleteTopicResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        self.topics
            .delete_topic(&caller.topic(&request.into_inner().topic_arn)?)
            .await?;
        Ok(Response::new(pb::DeleteTopicResponse {}))
    }

    async fn list_topics(
        &self,
        request: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let (arns, next_token) = self
            .topics
            .list_topics(&request.into_inner().next_token, |key| caller.owns(key))?;
        Ok(Response::new(pb::ListTopicsResponse {
            topics: arns
                .into_iter()
                .map(|topic_arn| pb::Topic { topic_arn })
                .collect(),
            next_token,
        }))
    }

    async fn get_topic_attributes(
        &self,
        request: Request<pb::GetTopicAttributesRequest>,
    ) -> Result<Response<pb::GetTopicAttributesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let attributes = self
            .topics
            .get_topic_attributes(&caller.topic(&request.into_inner().topic_arn)?)?;
        Ok(Response::new(pb::GetTopicAttributesResponse {
            attributes: attributes.into_iter().collect(),
        }))
    }

    async fn set_topic_attributes(
        &self,
        request: Request<pb::SetTopicAttributesRequest>,
    ) -> Result<Response<pb::SetTopicAttributesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.topics
            .set_topic_attributes(
                &caller.topic(&req.topic_arn)?,
                &req.attribute_name,
                &req.attribute_value,
            )
            .await?;
        Ok(Response::new(pb::SetTopicAttributesResponse {}))
    }

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<pb::SubscribeResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.quotas.subscription(&caller)?;
        let subscription_arn = self
            .topics
            .subscribe(
                &caller.topic(&req.topic_arn)?,
                &req.protocol,
                // A bare function name is the caller's account's.
                &if req.protocol == "lambda" {
                    caller.function(&req.endpoint)?
                } else {
                    req.endpoint.clone()
                },
                &req.attributes.into_iter().collect(),
            )
            .await?;
        Ok(Response::new(pb::SubscribeResponse { subscription_arn }))
    }

    async fn unsubscribe(
        &self,
        request: Request<pb::UnsubscribeRequest>,
    ) -> Result<Response<pb::UnsubscribeResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        self.topics
            .unsubscribe(&caller.subscription(&request.into_inner().subscription_arn)?)
            .await?;
        Ok(Response::new(pb::UnsubscribeResponse {}))
    }

    async fn list_subscriptions_by_topic(
        &self,
        request: Request<pb::ListSubscriptionsByTopicRequest>,
    ) -> Result<Response<pb::ListSubscriptionsByTopicResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let (page, next_token) = self
            .topics
            .list_subscriptions(&caller.topic(&req.topic_arn)?, &req.next_token)?;
        let subscriptions = page
            .iter()
            .map(|s| pb::Subscription {
                subscription_arn: self.topics.subscription_arn(s),
                owner: self.topics.naming.account_of(&s.topic).to_string(),
                protocol: s.protocol.clone(),
                endpoint: s.endpoint.clone(),
                topic_arn: self.topics.topic_arn(&s.topic),
            })
            .collect();
        Ok(Response::new(pb::ListSubscriptionsByTopicResponse {
            subscriptions,
            next_token,
        }))
    }

    async fn get_subscription_attributes(
        &self,
        request: Request<pb::GetSubscriptionAttributesRequest>,
    ) -> Result<Response<pb::GetSubscriptionAttributesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let attributes = self.topics.get_subscription_attributes(
            &caller.subscription(&request.into_inner().subscription_arn)?,
        )?;
        Ok(Response::new(pb::GetSubscriptionAttributesResponse {
            attributes: attributes.into_iter().collect(),
        }))
    }

    async fn set_subscription_attributes(
        &self,
        request: Request<pb::SetSubscriptionAttributesRequest>,
    ) -> Result<Response<pb::SetSubscriptionAttributesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.topics
            .set_subscription_attributes(
                &caller.subscription(&req.subscription_arn)?,
                &req.attribute_name,
                &req.attribute_value,
            )
            .await?;
        Ok(Response::new(pb::SetSubscriptionAttributesResponse {}))
    }

    async fn publish(
        &self,
        request: Request<pb::PublishRequest>,
    ) -> Result<Response<pb::PublishResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        // The publish (and its deliveries) continue the caller's trace.
        let tracer = self.topics.tracer().clone();
        let trace = tracer.begin(|| crate::traces::Incoming::from_metadata(request.metadata()));
        let span = tracer.span(trace.as_ref(), "grpc Publish", "");
        let within = span.as_ref().map(|s| s.context()).or(trace);
        let req = request.into_inner();
        let topic_arn = caller.topic(&req.topic_arn)?;
        let published = crate::traces::within(
            within,
            self.topics.publish(
                &topic_arn,
                &req.message,
                req.subject.as_deref(),
                &attributes(req.message_attributes),
            ),
        )
        .await;
        if let Some(mut span) = span {
            span.set_account(&caller.naming().account_id);
            if let Err(err) = &published {
                span.fail(err.aws_name());
            }
            tracer.end(span);
        }
        let published = published?;
        Ok(Response::new(pb::PublishResponse {
            message_id: published.message_id,
        }))
    }

    async fn publish_batch(
        &self,
        request: Request<pb::PublishBatchRequest>,
    ) -> Result<Response<pb::PublishBatchResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let tracer = self.topics.tracer().clone();
        let trace = tracer.begin(|| crate::traces::Incoming::from_metadata(request.metadata()));
        let req = request.into_inner();
        let entries = req
            .publish_batch_request_entries
            .into_iter()
            .map(|e| BatchEntry {
                id: e.id,
                message: e.message,
                subject: e.subject,
                attributes: attributes(e.message_attributes),
            })
            .collect();
        let topic_arn = caller.topic(&req.topic_arn)?;
        let (done, failed) =
            crate::traces::within(trace, self.topics.publish_batch(&topic_arn, entries)).await?;
        Ok(Response::new(pb::PublishBatchResponse {
            successful: done
                .into_iter()
                .map(|(id, message_id)| pb::PublishBatchResultEntry { id, message_id })
                .collect(),
            failed: failed
                .into_iter()
                .map(|f| pb::BatchResultErrorEntry {
                    id: f.id,
                    code: f.code,
                    message: f.message,
                    sender_fault: f.sender_fault,
                })
                .collect(),
        }))
    }
}
