//! Property-based fuzzing of every parser of untrusted input: filter
//! policies and message attributes, schedule expressions, identity and
//! resource policies, object keys and S3's key encoding, function, topic,
//! subscription and destination names, layer archives, and resource keys.
//! Each target must return a value or a named error: no panic, no hang, and
//! nothing written outside where it belongs.
//!
//! The suite runs proptest's default 256 cases per target; run longer with
//! `PROPTEST_CASES=100000 cargo test -p funnel-server fuzz` (a failure
//! prints the smallest input and is kept in `proptest-regressions/`).

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::function::Naming;

/// JSON text, mostly well-formed, built from the words the parsers look
/// for, sometimes cut short or spliced.
fn json() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("prefix".to_string()),
        Just("suffix".to_string()),
        Just("anything-but".to_string()),
        Just("numeric".to_string()),
        Just("exists".to_string()),
        Just("equals-ignore-case".to_string()),
        Just("wildcard".to_string()),
        Just("cidr".to_string()),
        Just("Version".to_string()),
        Just("Statement".to_string()),
        Just("Effect".to_string()),
        Just("Allow".to_string()),
        Just("Deny".to_string()),
        Just("Action".to_string()),
        Just("NotAction".to_string()),
        Just("Resource".to_string()),
        Just("NotResource".to_string()),
        Just("Condition".to_string()),
        Just("StringLike".to_string()),
        Just("IpAddress".to_string()),
        Just("Bool".to_string()),
        Just("aws:SourceIp".to_string()),
        Just("*".to_string()),
        Just("lambda:*".to_string()),
        Just("arn:funnel:lambda:local:000000000000:function:*".to_string()),
        Just("10.0.0.0/8".to_string()),
        Just("<".to_string()),
        Just(">=".to_string()),
        Just("=".to_string()),
        "[a-z:*/.]{0,12}",
    ]
    .prop_map(|w| w.to_string());
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        word.clone().prop_map(serde_json::Value::String),
    ];
    let value = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(word.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        4 => value.prop_map(|v| v.to_string()),
        1 => (value_text(), any::<prop::sample::Index>()).prop_map(|(text, cut)| {
            // Cut at a character boundary: truncated documents.
            let at = cut.index(text.len() + 1);
            let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            text[..at].to_string()
        }),
        1 => ".{0,64}",
    ]
}

/// Filter policies in SNS's shape: attributes (or nested body keys) to
/// lists of rules of every kind, with values near the edges.
fn filter_policy() -> impl Strategy<Value = String> {
    use serde_json::{Value, json};
    let text = prop_oneof![
        "[a-z*?]{0,6}".prop_map(Value::from),
        Just(Value::from("")),
        Just(Value::from("10.0.0.0/24")),
        Just(Value::from("::1/128")),
    ];
    let number = prop_oneof![
        any::<i32>().prop_map(Value::from),
        Just(json!(1e9)),
        Just(json!(-1e9)),
        Just(json!(1.5e-7)),
    ];
    let op = prop_oneof![
        Just("<"),
        Just("<="),
        Just("="),
        Just(">="),
        Just(">"),
        Just("!"),
    ]
    .prop_map(Value::from);
    let rule = prop_oneof![
        text.clone(),
        number.clone(),
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        text.clone().prop_map(|t| json!({ "prefix": t })),
        text.clone().prop_map(|t| json!({ "suffix": t })),
        text.clone()
            .prop_map(|t| json!({ "equals-ignore-case": t })),
        text.clone().prop_map(|t| json!({ "wildcard": t })),
        text.clone().prop_map(|t| json!({ "cidr": t })),
        any::<bool>().prop_map(|b| json!({ "exists": b })),
        prop::collection::vec(prop_oneof![text.clone(), number.clone()], 0..3)
            .prop_map(|v| json!({ "anything-but": v })),
        text.clone()
            .prop_map(|t| json!({ "anything-but": { "prefix": t } })),
        (op.clone(), number.clone(), op, number)
            .prop_map(|(a, x, b, y)| json!({ "numeric": [a, x, b, y] })),
    ];
    let rules = prop::collection::vec(rule, 0..4).prop_map(Value::Array);
    let level = prop::collection::btree_map("[a-c]{1,2}", rules.clone(), 0..4);
    prop_oneof![
        level
            .clone()
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        prop::collection::btree_map("[a-c]{1,2}", level, 0..3).prop_map(|m| {
            Value::Object(
                m.into_iter()
                    .map(|(k, inner)| (k, Value::Object(inner.into_iter().collect())))
                    .collect(),
            )
        }),
        prop::collection::vec(prop::collection::btree_map("[a-c]{1,2}", rules, 1..3), 1..3,)
            .prop_map(|alternatives| json!({ "$or": alternatives })),
    ]
    .prop_map(|v| v.to_string())
}

/// AWS's six-field cron, field by field, mostly valid: exactly one of
/// day-of-month and day-of-week is `?`, with L, W, # and names about.
fn cron() -> impl Strategy<Value = String> {
    fn field(max: u32, extra: &'static [&'static str]) -> BoxedStrategy<String> {
        let n = move || (0..=max + 1).prop_map(|v| v.to_string());
        prop_oneof![
            Just("*".to_string()),
            n(),
            (n(), n()).prop_map(|(a, b)| format!("{a}-{b}")),
            (n(), 1..=max + 1).prop_map(|(a, s)| format!("{a}/{s}")),
            (n(), n()).prop_map(|(a, b)| format!("{a},{b}")),
            prop::sample::select(extra).prop_map(str::to_string),
        ]
        .boxed()
    }
    (
        field(59, &["*/5", "0/15"]),
        field(23, &["9-17"]),
        field(31, &["L", "15W", "LW", "L-3"]),
        field(12, &["JAN", "JAN-MAR", "DEC"]),
        field(7, &["MON-FRI", "6L", "2#3", "SUN"]),
        field(2199, &["2027", "2026-2030", "1969"]),
        any::<bool>(),
    )
        .prop_map(|(minute, hour, dom, month, dow, year, day_of_month)| {
            let (dom, dow) = if day_of_month {
                (dom, "?".into())
            } else {
                ("?".into(), dow)
            };
            format!("cron({minute} {hour} {dom} {month} {dow} {year})")
        })
}

fn value_text() -> impl Strategy<Value = String> {
    "[\\[\\]{}\",:a-z0-9 .*-]{0,80}"
}

fn naming() -> Naming {
    Naming::home("local", "000000000000")
}

proptest! {
    #[test]
    fn filter_policies_parse_and_match_without_panicking(
        policy in prop_oneof![json(), filter_policy()],
        body in prop_oneof![json(), "\\{\"[a-c]{1,2}\": ?(\"[a-z*]{0,4}\"|-?[0-9]{1,3}|\\{\"[a-c]\": ?\"[a-z]{0,3}\"\\})\\}"],
        attributes in prop::collection::btree_map(
            "[a-z]{1,6}",
            (prop_oneof![Just("String".to_string()), Just("Number".to_string()), Just("String.Array".to_string()), Just("Binary".to_string()), ".{0,8}"], ".{0,24}"),
            0..4,
        ),
    ) {
        use crate::topics::filter::{Attribute, FilterPolicy, Scope};
        let attributes: BTreeMap<String, Attribute> = attributes
            .into_iter()
            .map(|(name, (data_type, value))| (name, Attribute { data_type: data_type.to_string(), value }))
            .collect();
        for scope in [Scope::MessageAttributes, Scope::MessageBody] {
            if let Ok(filter) = FilterPolicy::parse(&policy, scope) {
                let _ = filter.matches(&attributes, &body);
            }
        }
        // Attributes named like the policy's keys, so rules get matched.
        let attributes: BTreeMap<String, Attribute> = ["a", "b", "c", "ab"]
            .into_iter()
            .map(|name| (name.to_string(), Attribute { data_type: "String".into(), value: "abc".into() }))
            .collect();
        if let Ok(filter) = FilterPolicy::parse(&policy, Scope::MessageAttributes) {
            let _ = filter.matches(&attributes, &body);
        }
    }

    #[test]
    fn published_messages_are_checked_without_panicking(
        message in ".{0,64}",
        subject in prop::option::of(".{0,40}"),
        attributes in prop::collection::btree_map(
            ".{0,12}",
            (".{0,16}", prop::option::of(".{0,24}"), prop::option::of(prop::collection::vec(any::<u8>(), 0..16))),
            0..4,
        ),
    ) {
        use crate::topics::event::{MessageAttribute, validate_publish};
        let attributes: BTreeMap<String, MessageAttribute> = attributes
            .into_iter()
            .map(|(name, (data_type, string_value, binary_value))| {
                (name, MessageAttribute { data_type, string_value, binary_value })
            })
            .collect();
        let _ = validate_publish(&message, subject.as_deref(), &attributes);
    }

    #[test]
    fn schedule_expressions_parse_and_fire_in_bounded_time(
        expression in prop_oneof![
            (any::<i64>(), prop_oneof![Just("minute".to_string()), Just("minutes".to_string()), Just("hour".to_string()), Just("days".to_string()), "[a-z]{0,8}"])
                .prop_map(|(n, unit)| format!("rate({n} {unit})")),
            prop::collection::vec(
                prop_oneof![
                    Just("*".to_string()), Just("?".to_string()), Just("L".to_string()),
                    Just("W".to_string()), Just("#".to_string()), Just("MON-FRI".to_string()),
                    Just("1/5".to_string()), Just("0-59".to_string()), Just("JAN,DEC".to_string()),
                    "[0-9]{1,4}", "[0-9LW#,/-]{1,6}",
                ],
                0..8,
            ).prop_map(|fields| format!("cron({})", fields.join(" "))),
            cron(),
            cron(),
            ".{0,40}",
        ],
        start in 0i64..4_102_444_800,
    ) {
        use chrono::{DateTime, Utc};
        use crate::schedules::expression::Schedule;
        if let Ok(schedule) = Schedule::parse(&expression) {
            let from = DateTime::<Utc>::from_timestamp(start, 0).unwrap();
            let mut at = from;
            for _ in 0..3 {
                match schedule.next_after(at, from) {
                    Some(next) => {
                        prop_assert!(next > at, "{expression}: {next} is not after {at}");
                        at = next;
                    }
                    None => break,
                }
            }
        }
    }

    #[test]
    fn identity_policies_parse_and_decide_without_panicking(
        document in json(),
        action in "[a-z]{0,6}:[A-Za-z*]{0,10}",
        resource in "arn:funnel:[a-z]{0,6}:[a-z]{0,5}:[0-9]{0,12}:.{0,16}",
    ) {
        use crate::iam::policy::{IdentityPolicy, Request};
        if let Ok(policy) = IdentityPolicy::parse(&document) {
            let request = Request {
                action: &action,
                resource: &resource,
                user_name: "alice",
                user_id: "AIDA",
                account: "000000000000",
                user_arn: "arn:funnel:iam::000000000000:user/alice",
                source_ip: Some(std::net::Ipv4Addr::new(10, 1, 2, 3).into()),
                secure_transport: false,
                region: "local",
            };
            let _ = policy.decide(&request);
        }
    }

    #[test]
    fn resource_policies_are_built_and_read_without_panicking(
        statement_id in ".{0,24}",
        action in prop_oneof![Just("lambda:InvokeFunction".to_string()), Just("lambda:*".to_string()), ".{0,20}"],
        principal in prop_oneof![
            Just("*".to_string()), Just("s3.amazonaws.com".to_string()), "[0-9]{10,13}",
            "arn:[a-z]{0,6}:iam::[0-9]{12}:root", ".{0,30}",
        ],
        source_arn in prop_oneof![Just(String::new()), "arn:.{0,30}", ".{0,20}"],
        source_account in prop_oneof![Just(String::new()), "[0-9]{11,13}"],
        url_auth_type in prop_oneof![Just(String::new()), Just("NONE".to_string()), ".{0,8}"],
        stored in json(),
    ) {
        use crate::policies::{Caller, PermissionRequest, Policy, Statement};
        let request = PermissionRequest {
            statement_id,
            action: action.clone(),
            principal: principal.clone(),
            source_arn: source_arn.clone(),
            source_account: source_account.clone(),
            function_url_auth_type: url_auth_type,
        };
        let caller = Caller {
            service: "s3.amazonaws.com",
            source_arn: &source_arn,
            source_account: &source_account,
        };
        if let Ok(statement) = Statement::from_request(&request, "arn:funnel:lambda:local:000000000000:function:f") {
            let mut policy = Policy::new();
            policy.add(statement).expect("one statement fits");
            let _ = policy.allows(caller, "000000000000");
            let _ = policy.allows_account("111111111111", "lambda:InvokeFunction");
            let _ = policy.allows_url("NONE");
        }
        let _ = Statement::for_layer(&request.statement_id, &action, &principal, "arn:funnel:lambda:local:000000000000:layer:l:1");
        if let Ok(policy) = serde_json::from_str::<Policy>(&stored) {
            let _ = policy.allows(caller, "000000000000");
        }
    }

    #[test]
    fn object_keys_are_checked_and_encoded_as_s3_does(key in ".{0,40}") {
        use crate::buckets::event::encode_key;
        use crate::buckets::objects::check_key;
        let _ = check_key(&key);
        let encoded = encode_key(&key);
        prop_assert!(
            encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"*-._+%/".contains(&b)),
            "{encoded:?}"
        );
        // Each segment decodes back to the key's.
        let decoded: Vec<String> = encoded
            .split('/')
            .map(|segment| {
                form_urlencoded::parse(format!("k={segment}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .collect();
        prop_assert_eq!(decoded.join("/"), key);
    }

    #[test]
    fn names_and_arns_read_back_as_they_were_written(
        input in prop_oneof![
            ".{0,40}",
            "[a-zA-Z0-9_-]{1,64}(:[a-zA-Z0-9$_-]{0,12})?",
            "arn:(funnel|aws):lambda:local:[0-9]{11,13}:function:[a-zA-Z0-9_-]{0,70}(:[a-z0-9$]{0,5})?",
            "arn:funnel:sns:local:[0-9]{12}:[a-zA-Z0-9_-]{0,20}(:[a-f0-9-]{0,36})?",
        ],
        account in "[0-9]{12}",
    ) {
        let home = naming();
        for naming in [home.clone(), home.for_account(&account)] {
            if let Ok(function) = naming.parse_function(&input) {
                // A function's key makes an ARN that reads back as that key.
                let arn = naming.function_arn(&function.name, function.qualifier.as_deref());
                let again = naming.parse_function(&arn).expect("its own ARN parses");
                prop_assert_eq!(&again, &function);
            }
            if let Ok(key) = naming.topic_name(&input) {
                prop_assert_eq!(naming.topic_name(&naming.topic_arn(&key)), Ok(key));
            }
            let _ = naming.subscription(&input);
            let _ = naming.destination(&input);
            let _ = crate::tenancy::arn_account(&input);
        }
    }

    #[test]
    fn resource_keys_keep_accounts_apart(
        home in "[0-9]{12}",
        account in "[0-9]{12}",
        name in ".{0,20}",
    ) {
        use crate::tenancy::{belongs, key, split};
        let k = key(&home, &account, &name);
        // A key says its account: another account never owns it.
        if account != home {
            prop_assert!(!belongs(&home, &home, &k));
        }
        prop_assert!(belongs(&home, &account, &k));
        let (owner, rest) = split(&k);
        prop_assert_eq!(owner.unwrap_or(&home), account.as_str());
        prop_assert_eq!(rest, name.as_str());
    }
}

proptest! {
    // Each case unpacks an archive: fewer cases by default.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn layer_archives_unpack_only_beneath_their_folder(
        entries in prop::collection::vec(
            (
                prop_oneof![
                    "[a-z]{1,6}(/[a-z]{1,6}){0,2}",
                    Just("../escape".to_string()),
                    Just("/abs".to_string()),
                    Just("a/../../up".to_string()),
                    Just("dir/".to_string()),
                    ".{0,16}",
                ],
                prop::collection::vec(any::<u8>(), 0..64),
                any::<bool>(),
            ),
            0..6,
        ),
        garbage in prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
    ) {
        use std::io::Write as _;
        let bytes = match garbage {
            Some(bytes) => bytes,
            None => {
                let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
                for (name, content, symlink) in &entries {
                    let options = zip::write::SimpleFileOptions::default();
                    let written = if *symlink {
                        zip.add_symlink(name, "../../../etc", options)
                    } else {
                        zip.start_file(name, options).and_then(|()| Ok(zip.write_all(content)?))
                    };
                    if written.is_err() {
                        break;
                    }
                }
                zip.finish().map(|c| c.into_inner()).unwrap_or_default()
            }
        };
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("layer");
        std::fs::create_dir(&dest).unwrap();
        let _ = crate::layers::archive::unpack(&bytes, &dest, 1 << 20);
        // Nothing beside the layer's folder, and no link inside it.
        let beside: Vec<_> = std::fs::read_dir(parent.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        prop_assert_eq!(beside, vec![std::ffi::OsString::from("layer")]);
        let mut stack = vec![dest];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let kind = entry.file_type().unwrap();
                prop_assert!(!kind.is_symlink(), "{:?}", entry.path());
                if kind.is_dir() {
                    stack.push(entry.path());
                }
            }
        }
    }
}
