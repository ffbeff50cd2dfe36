//! SNS's query protocol over the `Topics` gRPC handlers: CreateTopic,
//! DeleteTopic, ListTopics, Get/SetTopicAttributes, Subscribe, Unsubscribe,
//! ListSubscriptionsByTopic, Get/SetSubscriptionAttributes, Publish and
//! PublishBatch.
//!
//! Parameters arrive form-encoded (the POST body, or the query string),
//! flattened as botocore writes them: maps as `Name.entry.N.key/value`
//! (`MessageAttributes.entry.N.Name/Value.DataType/...`), lists as
//! `Name.member.N`. Answers are `<XResponse><XResult>` XML; errors carry
//! SNS's own codes (`NotFound`, `InvalidParameter`), which are the
//! handlers' AWS names without the `Exception` botocore appends.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use funnel_proto::v1 as pb;
use funnel_proto::v1::topics_server::Topics as _;
use funnel_runtime::HttpBody;
use http::StatusCode;

use super::errors::{AwsError, xml_escape};
use super::{Door, Request, respond};

use super::errors::SNS_NAMESPACE as NAMESPACE;

/// The actions served, for the `InvalidAction` message.
const ACTIONS: &str = "CreateTopic, DeleteTopic, ListTopics, GetTopicAttributes, \
     SetTopicAttributes, Subscribe, Unsubscribe, ListSubscriptionsByTopic, \
     GetSubscriptionAttributes, SetSubscriptionAttributes, Publish, PublishBatch";

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    serve(door, request).await.map_err(sns_code)
}

/// The handlers' AWS names as SNS's query protocol spells them (the
/// `error.code` of botocore's SNS model); the HTTP status stays.
fn sns_code(mut err: AwsError) -> AwsError {
    let code = match err.code.as_str() {
        "AccessDeniedException" => "AuthorizationError",
        "InvalidParameterValueException" => "ParameterValueInvalid",
        "TooManyRequestsException" | "ThrottlingException" => "Throttled",
        "ServiceException" => "InternalError",
        "NotFoundException"
        | "InvalidParameterException"
        | "ResourceNotFoundException"
        | "BatchEntryIdsNotDistinctException"
        | "BatchRequestTooLongException"
        | "EmptyBatchRequestException"
        | "InvalidBatchEntryIdException"
        | "TooManyEntriesInBatchRequestException"
        | "TopicLimitExceededException"
        | "SubscriptionLimitExceededException"
        | "FilterPolicyLimitExceededException"
        | "ConcurrentAccessException"
        | "InvalidStateException" => err.code.trim_end_matches("Exception"),
        _ => return err,
    };
    err.code = code.to_string();
    err
}

async fn serve(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    let params = Params::of(&request);
    let topics = &door.inner.services.topics;
    let signer = &request.signer;
    let action = params.string("Action");
    let result = match action.as_str() {
        "CreateTopic" => {
            let message = pb::CreateTopicRequest {
                name: params.string("Name"),
                attributes: params.map("Attributes").into_iter().collect(),
            };
            let out = door
                .call(signer, "/funnel.v1.Topics/CreateTopic", message, |r| {
                    topics.create_topic(r)
                })
                .await?;
            Some(element("TopicArn", &out.topic_arn))
        }
        "DeleteTopic" => {
            let message = pb::DeleteTopicRequest {
                topic_arn: params.string("TopicArn"),
            };
            door.call(signer, "/funnel.v1.Topics/DeleteTopic", message, |r| {
                topics.delete_topic(r)
            })
            .await?;
            None
        }
        "ListTopics" => {
            let message = pb::ListTopicsRequest {
                next_token: params.string("NextToken"),
            };
            let out = door
                .call(signer, "/funnel.v1.Topics/ListTopics", message, |r| {
                    topics.list_topics(r)
                })
                .await?;
            let members = out.topics.iter().map(|t| element("TopicArn", &t.topic_arn));
            Some(list("Topics", members) + &optional("NextToken", &out.next_token))
        }
        "GetTopicAttributes" => {
            let message = pb::GetTopicAttributesRequest {
                topic_arn: params.string("TopicArn"),
            };
            let out = door
                .call(
                    signer,
                    "/funnel.v1.Topics/GetTopicAttributes",
                    message,
                    |r| topics.get_topic_attributes(r),
                )
                .await?;
            Some(attributes(out.attributes))
        }
        "SetTopicAttributes" => {
            let message = pb::SetTopicAttributesRequest {
                topic_arn: params.string("TopicArn"),
                attribute_name: params.string("AttributeName"),
                attribute_value: params.string("AttributeValue"),
            };
            door.call(
                signer,
                "/funnel.v1.Topics/SetTopicAttributes",
                message,
                |r| topics.set_topic_attributes(r),
            )
            .await?;
            None
        }
        "Subscribe" => {
            let message = pb::SubscribeRequest {
                topic_arn: params.string("TopicArn"),
                protocol: params.string("Protocol"),
                endpoint: params.string("Endpoint"),
                attributes: params.map("Attributes").into_iter().collect(),
                return_subscription_arn: params.boolean("ReturnSubscriptionArn")?,
            };
            let out = door
                .call(signer, "/funnel.v1.Topics/Subscribe", message, |r| {
                    topics.subscribe(r)
                })
                .await?;
            Some(element("SubscriptionArn", &out.subscription_arn))
        }
        "Unsubscribe" => {
            let message = pb::UnsubscribeRequest {
                subscription_arn: params.string("SubscriptionArn"),
            };
            door.call(signer, "/funnel.v1.Topics/Unsubscribe", message, |r| {
                topics.unsubscribe(r)
            })
            .await?;
            None
        }
        "ListSubscriptionsByTopic" => {
            let message = pb::ListSubscriptionsByTopicRequest {
                topic_arn: params.string("TopicArn"),
                next_token: params.string("NextToken"),
            };
            let out = door
                .call(
                    signer,
                    "/funnel.v1.Topics/ListSubscriptionsByTopic",
                    message,
                    |r| topics.list_subscriptions_by_topic(r),
                )
                .await?;
            let members = out.subscriptions.iter().map(|s| {
                element("SubscriptionArn", &s.subscription_arn)
                    + &optional("Owner", &s.owner)
                    + &element("Protocol", &s.protocol)
                    + &element("Endpoint", &s.endpoint)
                    + &element("TopicArn", &s.topic_arn)
            });
            Some(list("Subscriptions", members) + &optional("NextToken", &out.next_token))
        }
        "GetSubscriptionAttributes" => {
            let message = pb::GetSubscriptionAttributesRequest {
                subscription_arn: params.string("SubscriptionArn"),
            };
            let out = door
                .call(
                    signer,
                    "/funnel.v1.Topics/GetSubscriptionAttributes",
                    message,
                    |r| topics.get_subscription_attributes(r),
                )
                .await?;
            Some(attributes(out.attributes))
        }
        "SetSubscriptionAttributes" => {
            let message = pb::SetSubscriptionAttributesRequest {
                subscription_arn: params.string("SubscriptionArn"),
                attribute_name: params.string("AttributeName"),
                attribute_value: params.string("AttributeValue"),
            };
            door.call(
                signer,
                "/funnel.v1.Topics/SetSubscriptionAttributes",
                message,
                |r| topics.set_subscription_attributes(r),
            )
            .await?;
            None
        }
        "Publish" => {
            let message = pb::PublishRequest {
                topic_arn: params.string("TopicArn"),
                message: params.string("Message"),
                subject: params.get("Subject").map(str::to_string),
                message_attributes: params.message_attributes()?,
            };
            let out = door
                .call(signer, "/funnel.v1.Topics/Publish", message, |r| {
                    topics.publish(r)
                })
                .await?;
            Some(element("MessageId", &out.message_id))
        }
        "PublishBatch" => {
            let entries = params
                .members("PublishBatchRequestEntries")
                .into_iter()
                .map(|entry| {
                    Ok(pb::PublishBatchRequestEntry {
                        id: entry.string("Id"),
                        message: entry.string("Message"),
                        subject: entry.get("Subject").map(str::to_string),
                        message_attributes: entry.message_attributes()?,
                    })
                })
                .collect::<Result<_, AwsError>>()?;
            let message = pb::PublishBatchRequest {
                topic_arn: params.string("TopicArn"),
                publish_batch_request_entries: entries,
            };
            let out = door
                .call(signer, "/funnel.v1.Topics/PublishBatch", message, |r| {
                    topics.publish_batch(r)
                })
                .await?;
            let successful = out
                .successful
                .iter()
                .map(|s| element("Id", &s.id) + &element("MessageId", &s.message_id));
            let failed = out.failed.iter().map(|f| {
                element("Id", &f.id)
                    + &element("Code", &f.code)
                    + &element("Message", &f.message)
                    + &element("SenderFault", &f.sender_fault.to_string())
            });
            Some(list("Successful", successful) + &list("Failed", failed))
        }
        "" => {
            return Err(AwsError::new(
                "MissingAction",
                "the request names no Action",
            ));
        }
        other => {
            return Err(AwsError::new(
                "InvalidAction",
                format!("funnel's SNS endpoint does not implement {other} (it has {ACTIONS})"),
            ));
        }
    };
    Ok(answer(&action, result.as_deref(), &request.request_id))
}

/// The `<{action}Response>` document; `result`, when the operation has
/// one, goes in `<{action}Result>`.
fn answer(action: &str, result: Option<&str>, request_id: &str) -> hyper::Response<HttpBody> {
    let result = result
        .map(|r| format!("<{action}Result>{r}</{action}Result>"))
        .unwrap_or_default();
    let xml = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\">{result}<ResponseMetadata><RequestId>{}</RequestId>\
         </ResponseMetadata></{action}Response>",
        xml_escape(request_id)
    );
    respond(StatusCode::OK, &[("content-type", "text/xml".into())], xml)
}

fn element(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", xml_escape(text))
}

/// The element, or nothing when `text` is empty.
fn optional(name: &str, text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        element(name, text)
    }
}

/// A query-protocol list: each item in a `<member>`.
fn list(name: &str, members: impl Iterator<Item = String>) -> String {
    let members: String = members.map(|m| format!("<member>{m}</member>")).collect();
    format!("<{name}>{members}</{name}>")
}

/// A query-protocol map, keys in order.
fn attributes(map: HashMap<String, String>) -> String {
    let entries: String = map
        .into_iter()
        .collect::<BTreeMap<_, _>>()
        .iter()
        .map(|(k, v)| {
            format!(
                "<entry>{}{}</entry>",
                element("key", k),
                element("value", v)
            )
        })
        .collect();
    format!("<Attributes>{entries}</Attributes>")
}

/// A request's parameters: the query string's, then the form body's.
struct Params(Vec<(String, String)>);

impl Params {
    fn of(request: &Request) -> Params {
        let query = request.parts.uri.query().unwrap_or_default().as_bytes();
        let pairs = form_urlencoded::parse(query)
            .chain(form_urlencoded::parse(&request.body))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value, empty when absent (the handlers name what is missing).
    fn string(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    fn boolean(&self, name: &str) -> Result<bool, AwsError> {
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(AwsError::new(
                "InvalidParameterException",
                format!("Invalid parameter: {name}: {v:?} is not true or false"),
            )),
        }
    }

    /// The numbered groups `{prefix}.{N}.*`, by N, each with the rest of
    /// its names.
    fn numbered(&self, prefix: &str) -> Vec<Params> {
        let mut groups: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
        for (key, value) in &self.0 {
            let Some(rest) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((n, name)) = rest.split_once('.') else {
                continue;
            };
            if let Ok(n) = n.parse() {
                groups
                    .entry(n)
                    .or_default()
                    .push((name.to_string(), value.clone()));
            }
        }
        groups.into_values().map(Params).collect()
    }

    /// The list `{name}.member.N.*`.
    fn members(&self, name: &str) -> Vec<Params> {
        self.numbered(&format!("{name}.member"))
    }

    /// The string map `{name}.entry.N.key/value`.
    fn map(&self, name: &str) -> BTreeMap<String, String> {
        self.numbered(&format!("{name}.entry"))
            .into_iter()
            .map(|entry| (entry.string("key"), entry.string("value")))
            .collect()
    }

    /// `MessageAttributes.entry.N.Name` and `.Value.DataType`,
    /// `.Value.StringValue`, `.Value.BinaryValue` (base64).
    fn message_attributes(&self) -> Result<HashMap<String, pb::MessageAttributeValue>, AwsError> {
        self.numbered("MessageAttributes.entry")
            .into_iter()
            .map(|entry| {
                let name = entry.string("Name");
                let binary_value = entry
                    .get("Value.BinaryValue")
                    .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
                    .transpose()
                    .map_err(|_| {
                        AwsError::new(
                            "InvalidParameterValueException",
                            format!("The message attribute '{name}' has a BinaryValue that is not base64"),
                        )
                    })?;
                let value = pb::MessageAttributeValue {
                    data_type: entry.string("Value.DataType"),
                    string_value: entry.get("Value.StringValue").map(str::to_string),
                    binary_value,
                };
                Ok((name, value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn batch_entries_and_their_attributes_are_read_as_botocore_flattens_them() {
        let p = "PublishBatchRequestEntries.member";
        let given = params(&[
            (&format!("{p}.2.Id"), "second"),
            (&format!("{p}.1.Id"), "first"),
            (&format!("{p}.1.Message"), "hello"),
            (&format!("{p}.1.MessageAttributes.entry.1.Name"), "blob"),
            (
                &format!("{p}.1.MessageAttributes.entry.1.Value.DataType"),
                "Binary",
            ),
            (
                &format!("{p}.1.MessageAttributes.entry.1.Value.BinaryValue"),
                "AAH/",
            ),
            ("Attributes.entry.1.key", "FilterPolicyScope"),
            ("Attributes.entry.1.value", "MessageBody"),
        ]);
        let entries = given.members("PublishBatchRequestEntries");
        let ids: Vec<String> = entries.iter().map(|e| e.string("Id")).collect();
        assert_eq!(ids, ["first", "second"]);
        let attributes = entries[0].message_attributes().unwrap();
        let blob = &attributes["blob"];
        assert_eq!(blob.data_type, "Binary");
        assert_eq!(blob.binary_value.as_deref(), Some(&[0u8, 1, 255][..]));
        assert_eq!(blob.string_value, None);
        assert!(entries[1].message_attributes().unwrap().is_empty());
        assert_eq!(
            given.map("Attributes"),
            BTreeMap::from([("FilterPolicyScope".into(), "MessageBody".into())])
        );

        let bad = params(&[
            ("MessageAttributes.entry.1.Name", "blob"),
            ("MessageAttributes.entry.1.Value.DataType", "Binary"),
            ("MessageAttributes.entry.1.Value.BinaryValue", "not base64!"),
        ]);
        let err = bad.message_attributes().unwrap_err();
        assert_eq!(sns_code(err).code, "ParameterValueInvalid");
    }
}
