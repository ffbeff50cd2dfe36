//! SNS `Publish` validation and the Lambda event a topic delivers.
//!
//! Owns the rules SNS applies to `Publish`/`PublishBatch` input and the exact
//! JSON of SNS's Lambda event. Must not touch topics, subscriptions, delivery or
//! clocks: the caller supplies ids, URLs and the publish time.
//!
//! Error texts are SNS's: most as recorded against AWS in LocalStack's
//! `tests/aws/services/sns/test_sns.snapshot.json`; the reserved-prefix and
//! Number texts as users quote them; the empty-name text is SQS's (unverified).
//! AWS codes differ: subject, empty and size errors are `InvalidParameter`,
//! every attribute error is `ParameterValueInvalid`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// SNS's default ceiling on message bytes plus attribute names, types and values.
/// The subject is not counted.
pub const MAX_PUBLISH_BYTES: usize = 262_144;

/// We cannot sign with AWS's key, so every event carries this fixed value: the
/// base64 of "funnel does not sign notifications". Verifiers reject it, as they should.
pub const UNSIGNED_SIGNATURE: &str = "ZnVubmVsIGRvZXMgbm90IHNpZ24gbm90aWZpY2F0aW9ucw==";

/// One `MessageAttributes` entry of a `Publish` request.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageAttribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

/// Checks one `Publish` (or one `PublishBatch` entry) as SNS does, returning
/// SNS's error message. Attributes are checked in name order (SNS: request order).
///
/// SNS accepts, so this accepts: more than 10 attributes (the limit binds only
/// raw-delivery SQS subscriptions), any `String.Array` text (invalid JSON is only
/// filtered out later), and any `Number` magnitude (±1e9 is a filter-policy limit).
pub fn validate_publish(
    message: &str,
    subject: Option<&str>,
    attributes: &BTreeMap<String, MessageAttribute>,
) -> Result<(), String> {
    if let Some(subject) = subject {
        validate_subject(subject)?;
    }
    if message.is_empty() {
        return Err("Invalid parameter: Empty message".into());
    }
    let mut size = message.len();
    for (name, attribute) in attributes {
        validate_attribute(name, attribute)?;
        size += name.len()
            + attribute.data_type.len()
            + attribute.string_value.as_ref().map_or(0, String::len)
            + attribute.binary_value.as_ref().map_or(0, Vec::len);
    }
    if size > MAX_PUBLISH_BYTES {
        return Err("Invalid parameter: Message too long".into());
    }
    Ok(())
}

fn validate_subject(subject: &str) -> Result<(), String> {
    // SNS runs on Java, whose characters are UTF-16 code units; 100 is accepted.
    let valid = !subject.is_empty()
        && subject.encode_utf16().count() <= 100
        && !subject.chars().any(char::is_control);
    valid
        .then_some(())
        .ok_or_else(|| "Invalid parameter: Subject".into())
}

fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("The request must contain non-empty message attribute name.".into());
    }
    if name.len() > 256 {
        return Err("Length of message attribute name must be less than 256 bytes.".into());
    }
    if name.starts_with('.') || name.ends_with('.') {
        let edge = if name.starts_with('.') {
            "starting"
        } else {
            "ending"
        };
        let message =
            format!("Invalid message attribute name {edge} with character '.' was found.");
        return Err(message);
    }
    let mut previous = ' ';
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(format!(
                "Invalid non-alphanumeric character '#x{:X}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
                u32::from(c)
            ));
        }
        if c == '.' && previous == '.' {
            return Err("Message attribute name can not have successive '.' character.".into());
        }
        previous = c;
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        // Real SNS lets its own SMS/mobile names (AWS.SNS.SMS.*) through; funnel has none.
        return Err("Message attribute names starting with 'AWS.' or 'Amazon.' are reserved for use by Amazon.".into());
    }
    Ok(())
}

/// `String`, `Number` or `Binary`, alone or with a non-empty custom label: "Number.float".
fn base_type(data_type: &str) -> Option<&'static str> {
    ["String", "Number", "Binary"].into_iter().find(|base| {
        data_type
            .strip_prefix(base)
            .is_some_and(|label| label.is_empty() || (label.len() > 1 && label.starts_with('.')))
    })
}

fn validate_attribute(name: &str, attribute: &MessageAttribute) -> Result<(), String> {
    // SNS's name errors do not say which attribute; funnel's add it.
    validate_name(name).map_err(|message| match name.is_empty() {
        true => message,
        false => format!("{message} (message attribute {name:?})"),
    })?;
    let data_type = &attribute.data_type;
    let base = base_type(data_type).ok_or_else(|| {
        format!("The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")
    })?;
    let (field, value_len) = match base {
        "Binary" => ("Binary", attribute.binary_value.as_ref().map(Vec::len)),
        _ => ("String", attribute.string_value.as_ref().map(String::len)),
    };
    let neither = attribute.string_value.is_none() && attribute.binary_value.is_none();
    match value_len {
        None if !neither => Err(format!(
            "The message attribute '{name}' with type '{data_type}' must use field '{field}'."
        )),
        None | Some(0) => Err(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
        )),
        Some(_) => Ok(()),
    }?;
    if base == "Number" && !attribute.string_value.as_deref().is_some_and(is_number) {
        return Err(format!(
            "Could not cast message attribute '{name}' value to number."
        ));
    }
    Ok(())
}

/// A decimal as Java's `BigDecimal` reads it: `-1`, `1.5`, `.5`, `3.015e2`.
fn is_number(text: &str) -> bool {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    !(whole.is_empty() && fraction.is_empty())
        && digits(whole)
        && digits(fraction)
        && exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && digits(e)
        })
}

/// One delivery of one published message to one Lambda subscription.
#[derive(Clone, Copy, Debug)]
pub struct Notification<'a> {
    pub subscription_arn: &'a str,
    pub message_id: &'a str,
    pub topic_arn: &'a str,
    pub subject: Option<&'a str>,
    pub message: &'a str,
    pub timestamp_ms: i64,
    pub attributes: &'a BTreeMap<String, MessageAttribute>,
    pub unsubscribe_url: &'a str,
    pub signing_cert_url: &'a str,
}

/// SNS's Lambda event. Lambda events spell `SigningCertUrl`/`UnsubscribeUrl`
/// (HTTP and SQS bodies say `...URL`); an absent subject is `null`, no attributes `{}`.
pub fn lambda_event(n: &Notification) -> Value {
    let mut attributes = Map::new();
    for (name, a) in n.attributes {
        let attribute = json!({"Type": a.data_type, "Value": attribute_value(a)});
        attributes.insert(name.clone(), attribute);
    }
    // Out of chrono's range (±262,000 years) only through a broken clock: epoch.
    let timestamp = chrono::DateTime::from_timestamp_millis(n.timestamp_ms).unwrap_or_default();
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": n.subscription_arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": n.message_id,
            "TopicArn": n.topic_arn,
            "Subject": n.subject,
            "Message": n.message,
            "Timestamp": timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "SignatureVersion": "1",
            "Signature": UNSIGNED_SIGNATURE,
            "SigningCertUrl": n.signing_cert_url,
            "UnsubscribeUrl": n.unsubscribe_url,
            "MessageAttributes": attributes,
        },
    }]})
}

/// Binary travels as base64; String, String.Array and Number as the text given.
fn attribute_value(attribute: &MessageAttribute) -> String {
    match base_type(&attribute.data_type) {
        Some("Binary") => STANDARD.encode(attribute.binary_value.as_deref().unwrap_or_default()),
        _ => attribute.string_value.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sns::SnsEvent;

    type Attributes = BTreeMap<String, MessageAttribute>;

    fn attribute(data_type: &str, text: Option<&str>, bytes: Option<&[u8]>) -> MessageAttribute {
        let data_type = data_type.into();
        MessageAttribute {
            data_type,
            string_value: text.map(Into::into),
            binary_value: bytes.map(<[u8]>::to_vec),
        }
    }
    fn text(data_type: &str, value: &str) -> MessageAttribute {
        attribute(data_type, Some(value), None)
    }
    fn bytes(data_type: &str, value: &[u8]) -> MessageAttribute {
        attribute(data_type, None, Some(value))
    }
    fn map<const N: usize>(entries: [(&str, MessageAttribute); N]) -> Attributes {
        entries.map(|(name, a)| (name.to_string(), a)).into()
    }
    fn with(name: &str, attribute: MessageAttribute) -> Result<(), String> {
        validate_publish("m", None, &map([(name, attribute)]))
    }
    fn fails(message: &str) -> Result<(), String> {
        Err(message.into())
    }

    #[test]
    fn accepts_every_type_custom_labels_loose_values_and_more_than_ten_attributes() {
        let mut attributes = map([
            ("s", text("String", "a\tb")),
            ("arr", text("String.Array", "[\"a\", 1, true, null]")),
            ("not-json", text("String.Array", "[oops")),
            ("f", text("Number.float", ".5")),
            ("gif", bytes("Binary.gif", b"GIF8")),
            ("odd", text("String.  prefixed.", "x")),
            ("AWSish_a-b.c", text("String", "x")),
        ]);
        attributes.extend((0..4).map(|i| (format!("extra{i}"), bytes("Binary", &[0, 255]))));
        attributes.insert("a".repeat(256), text("String", "x"));
        assert_eq!(
            validate_publish("hi", Some(" Ünïcode"), &attributes),
            Ok(())
        );
        let big = "9".repeat(50);
        for number in [
            "0", "-1", "+1", "99.12", "1.", "1e9", "3.015E+2", "1e-200", &big,
        ] {
            assert_eq!(with("n", text("Number", number)), Ok(()), "{number}");
        }
    }

    #[test]
    fn rejects_empty_messages_and_bad_subjects() {
        let none = BTreeMap::new();
        let empty = fails("Invalid parameter: Empty message");
        assert_eq!(validate_publish("", None, &none), empty);
        let subject = |s: &str| validate_publish("m", Some(s), &none);
        assert_eq!(subject(&"s".repeat(100)), Ok(()));
        assert_eq!(subject(&"😀".repeat(50)), Ok(()), "100 UTF-16 units");
        let long = ["s".repeat(101), "😀".repeat(51)];
        for bad in ["", &long[0], &long[1], "a\nb", "a\rb", "\tab", "a\u{7f}"] {
            assert_eq!(subject(bad), fails("Invalid parameter: Subject"), "{bad:?}");
        }
    }

    #[test]
    fn size_counts_message_and_attribute_names_types_values_but_not_subject() {
        let none = BTreeMap::new();
        let too_long = fails("Invalid parameter: Message too long");
        let full = "x".repeat(MAX_PUBLISH_BYTES);
        let wide = "é".repeat(MAX_PUBLISH_BYTES / 2 + 1);
        assert_eq!(validate_publish(&full, Some("subject"), &none), Ok(()));
        assert_eq!(validate_publish(&format!("{full}x"), None, &none), too_long);
        assert_eq!(validate_publish(&wide, None, &none), too_long);
        // Name 2 + type 6 + value 2 bytes fill the last 10 bytes exactly.
        let publish = |a| validate_publish(&full[10..], None, &map([("ab", a)]));
        assert_eq!(publish(text("String", "é")), Ok(()));
        assert_eq!(publish(text("String", "éx")), too_long);
        assert_eq!(publish(bytes("Binary", &[1, 2])), Ok(()));
        assert_eq!(publish(bytes("Binary", &[1, 2, 3])), too_long);
    }

    #[test]
    fn rejects_bad_attributes_with_snss_messages() {
        let v = || text("String", "v");
        let invalid_char = "was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.";
        let bad_type = "has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.";
        let empty = "must contain non-empty message attribute value for message attribute type";
        let reserved = "Message attribute names starting with 'AWS.' or 'Amazon.' are reserved for use by Amazon.";
        #[rustfmt::skip]
        let cases = [
            ("", v(), "The request must contain non-empty message attribute name.".to_string()),
            (&"a".repeat(257), v(), "Length of message attribute name must be less than 256 bytes.".into()),
            (".abc", v(), "Invalid message attribute name starting with character '.' was found.".into()),
            ("abc.", v(), "Invalid message attribute name ending with character '.' was found.".into()),
            ("a..bc", v(), "Message attribute name can not have successive '.' character.".into()),
            ("a^*?", v(), format!("Invalid non-alphanumeric character '#x5E' {invalid_char}")),
            ("a b", v(), format!("Invalid non-alphanumeric character '#x20' {invalid_char}")),
            ("café", v(), format!("Invalid non-alphanumeric character '#xE9' {invalid_char}")),
            ("AWS.x", v(), reserved.into()),
            ("aMaZoN.sns", v(), reserved.into()),
            ("attr1", text("InvalidType", "1"), format!("The message attribute 'attr1' {bad_type}")),
            ("attr1", text("string", "1"), format!("The message attribute 'attr1' {bad_type}")),
            ("attr1", text("String.", "1"), format!("The message attribute 'attr1' {bad_type}")),
            ("attr1", text("Stringprefixed", "1"), format!("The message attribute 'attr1' {bad_type}")),
            ("attr1", text("", "1"), format!("The message attribute 'attr1' {bad_type}")),
            ("attr1", text("String", ""), format!("The message attribute 'attr1' {empty} 'String'.")),
            ("attr1", bytes("Binary", b""), format!("The message attribute 'attr1' {empty} 'Binary'.")),
            ("attr1", attribute("Number", None, None), format!("The message attribute 'attr1' {empty} 'Number'.")),
            ("attr1", bytes("String", b"123"), "The message attribute 'attr1' with type 'String' must use field 'String'.".into()),
            ("attr1", bytes("Number", b"123"), "The message attribute 'attr1' with type 'Number' must use field 'String'.".into()),
            ("attr1", text("Binary", "123"), "The message attribute 'attr1' with type 'Binary' must use field 'Binary'.".into()),
            ("attr1", text("Binary.x", "123"), "The message attribute 'attr1' with type 'Binary.x' must use field 'Binary'.".into()),
        ];
        for (name, attribute, expected) in cases {
            // SNS's text, and (funnel's addition) the attribute's name.
            let got = with(name, attribute).unwrap_err();
            assert!(got.starts_with(&expected), "{name:?}: {got}");
            assert!(name.is_empty() || got.contains(name), "{name:?}: {got}");
        }
        let cast = fails("Could not cast message attribute 'price' value to number.");
        for bad in [
            "error", ".", "-", "1e", "1.2.3", " 1", "0x10", "NaN", "Inf", "1e5.5",
        ] {
            assert_eq!(with("price", text("Number.int", bad)), cast, "{bad:?}");
        }
    }

    const SUBSCRIPTION: &str = "arn:aws:sns:us-east-1:123456789012:orders:8a21";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:orders";
    const ID: &str = "95df01b4-ee98-5cb9-9903-4c221d41eb5e";
    const UNSUBSCRIBE: &str = "http://localhost/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:orders:8a21";
    const CERT: &str = "http://localhost/SimpleNotificationService-funnel.pem";

    fn sample(attributes: &Attributes, subject: Option<&str>, timestamp_ms: i64) -> Value {
        lambda_event(&Notification {
            subscription_arn: SUBSCRIPTION,
            message_id: ID,
            topic_arn: TOPIC,
            subject,
            message: "{\"id\": 7}",
            timestamp_ms,
            attributes,
            unsubscribe_url: UNSUBSCRIBE,
            signing_cert_url: CERT,
        })
    }

    #[test]
    fn event_is_snss_exact_json() {
        let attributes = map([
            ("bin", bytes("Binary", &[2, 3, 4])),
            ("n", text("Number", "99.12")),
            ("tags", text("String.Array", "[\"a\",1]")),
        ]);
        let expected = json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": SUBSCRIPTION,
            "Sns": {
                "Type": "Notification",
                "MessageId": ID,
                "TopicArn": TOPIC,
                "Subject": "Order",
                "Message": "{\"id\": 7}",
                "Timestamp": "2019-01-02T12:45:07.000Z",
                "SignatureVersion": "1",
                "Signature": UNSIGNED_SIGNATURE,
                "SigningCertUrl": CERT,
                "UnsubscribeUrl": UNSUBSCRIBE,
                "MessageAttributes": {
                    "bin": {"Type": "Binary", "Value": "AgME"},
                    "n": {"Type": "Number", "Value": "99.12"},
                    "tags": {"Type": "String.Array", "Value": "[\"a\",1]"},
                },
            },
        }]});
        assert_eq!(
            sample(&attributes, Some("Order"), 1_546_433_107_000),
            expected
        );
        let signature = STANDARD.decode(UNSIGNED_SIGNATURE).unwrap();
        assert_eq!(signature, b"funnel does not sign notifications");

        let bare = &sample(&BTreeMap::new(), None, 0)["Records"][0]["Sns"];
        assert_eq!(bare.get("Subject"), Some(&Value::Null));
        assert_eq!(bare["MessageAttributes"], json!({}));
        assert_eq!(bare["Timestamp"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn event_parses_as_aws_lambda_events_sns_event_and_round_trips() {
        let attributes = map([("kind", text("String", "created"))]);
        let ours = sample(&attributes, Some("Order"), 1_546_433_107_123);
        let parsed: SnsEvent = serde_json::from_value(ours.clone()).unwrap();
        let (record, sns) = (&parsed.records[0], &parsed.records[0].sns);
        let kind = &sns.message_attributes["kind"];
        #[rustfmt::skip]
        let fields = [
            (&record.event_source, "aws:sns"), (&record.event_version, "1.0"),
            (&record.event_subscription_arn, SUBSCRIPTION), (&sns.sns_message_type, "Notification"),
            (&sns.message_id, ID), (&sns.topic_arn, TOPIC), (&sns.message, "{\"id\": 7}"),
            (&sns.signature_version, "1"), (&sns.signature, UNSIGNED_SIGNATURE),
            (&sns.signing_cert_url, CERT), (&sns.unsubscribe_url, UNSUBSCRIBE),
            (&kind.data_type, "String"), (&kind.value, "created"),
        ];
        for (field, expected) in fields {
            assert_eq!(field, expected);
        }
        assert_eq!(sns.subject.as_deref(), Some("Order"));
        assert_eq!(sns.timestamp.timestamp_millis(), 1_546_433_107_123);
        // The crate also reads `...URL` but writes SNS's Lambda spelling, so a
        // lossless round trip proves every key and value of ours.
        assert_eq!(serde_json::to_value(&parsed).unwrap(), ours);
        let bare: SnsEvent = serde_json::from_value(sample(&BTreeMap::new(), None, 0)).unwrap();
        assert_eq!(bare.records[0].sns.subject, None);
        assert!(bare.records[0].sns.message_attributes.is_empty());
    }
}
