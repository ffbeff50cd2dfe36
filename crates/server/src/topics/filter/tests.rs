//! Table-driven tests. Rows marked AWS reproduce behaviour recorded against
//! real SNS (LocalStack's AWS-validated snapshots of `test_sns_filter_policy.py`,
//! a CloudFormation error report) or the SNS developer guide's own examples;
//! the rest pin the Event Ruler semantics SNS inherits.
//!
//! Row syntax, columns split on " | ", `//` lines are comments:
//! - attribute rows: `yes|no | policy | name:Type=value; name:Type=value` (`-`: none);
//! - body rows: `yes|no | policy | body`;
//! - rejection rows: `A|B (scope) | policy | reason after "FilterPolicy: "`.
//!
//! A policy column may name one of the long policies below instead.

use super::*;

const NAMED: &[(&str, &str)] = &[
    (
        "EXISTS",
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
    ),
    (
        "S3",
        r#"{"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}, "eventName": [{"prefix": "ObjectCreated:"}]}}"#,
    ),
    (
        "OR",
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
    ),
    (
        "SOURCE_OR",
        r#"{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}"#,
    ),
    // AWS: (4*6) + (4*4*4) + (4*4*4) = 152 combinations.
    (
        "OR_152",
        r#"{"source": ["a", "b", "c", "d"], "$or": [{"metricName": ["1", "2", "3", "4", "5", "6"]}, {"metricType": ["1", "2", "3", "4"], "$or": [{"metricId": [1, 2, 3, 4]}, {"spaceId": [1, 2, 3, 4]}]}]}"#,
    ),
    // AWS: (3*6) + (3*4*4) + (3*4*7) = 150 exactly, accepted.
    (
        "OR_150",
        r#"{"source": ["a", "b", "c"], "$or": [{"metricName": ["1", "2", "3", "4", "5", "6"]}, {"metricType": ["1", "2", "3", "4"], "$or": [{"metricId": [1, 2, 3, 4]}, {"spaceId": [1, 2, 3, 4, 5, 6, 7]}]}]}"#,
    ),
    // AWS: values weigh by depth: (3*4*2) + (3*4*6) + (2*4*2) + (2*4*6) = 160.
    (
        "OR_160",
        r#"{"$or": [{"metricName": ["a", "b", "c"]}, {"namespace": ["d", "e"]}], "detail": {"scope": ["f", "g"], "$or": [{"source": ["h"]}, {"type": ["i", "j", "k"]}]}}"#,
    ),
    // The guide: six leaf keys under nesting are six keys.
    (
        "SIX_LEAVES",
        r#"{"state": ["SUCCESS"], "severity": [{"exists": true}], "message": [{"exists": true}], "finding": {"standard_control": [{"exists": true}], "region": [{"exists": true}], "account": [{"exists": true}]}}"#,
    ),
];

fn columns(row: &str) -> Option<Vec<&str>> {
    let row = row.trim();
    if row.is_empty() || row.starts_with("//") {
        return None;
    }
    let mut columns: Vec<&str> = row.splitn(3, " | ").map(str::trim).collect();
    if let Some((_, policy)) = NAMED.iter().find(|(name, _)| *name == columns[1]) {
        columns[1] = policy;
    }
    Some(columns)
}

fn attributes(spec: &str) -> BTreeMap<String, Attribute> {
    (spec.split("; "))
        .filter(|s| *s != "-")
        .map(|attribute| {
            let (name, typed) = attribute.split_once(':').expect("name:Type=value");
            let (data_type, value) = typed.split_once('=').expect("name:Type=value");
            let attribute = Attribute {
                data_type: data_type.into(),
                value: value.into(),
            };
            (name.to_string(), attribute)
        })
        .collect()
}

fn check_matches(table: &str, scope: Scope) {
    let mut failures = Vec::new();
    let rows: Vec<Vec<&str>> = table.lines().filter_map(columns).collect();
    for row in &rows {
        let (expected, policy, message) = (row[0] == "yes", row[1], row[2]);
        let (attrs, body) = match scope {
            Scope::MessageAttributes => (attributes(message), ""),
            Scope::MessageBody => (BTreeMap::new(), message),
        };
        match FilterPolicy::parse(policy, scope) {
            Ok(parsed) if parsed.matches(&attrs, body) == expected => {}
            Ok(_) => failures.push(format!("{policy} with {message} should give {expected}")),
            Err(e) => failures.push(format!("{policy} rejected: {e}")),
        }
    }
    assert!(rows.len() > 40, "the table lost its rows");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn attribute_scope_matching() {
    check_matches(
        r#"
        // Exact strings, case-sensitive; values ORed, keys ANDed, others ignored.
        yes | {"c": ["rugby", "tennis"]} | c:String=tennis
        no  | {"c": ["rugby"]} | c:String=Rugby
        yes | {"c": ["rugby"], "p": [5]} | c:String=rugby; p:Number=5; x:String=y
        no  | {"c": ["rugby"], "p": [5]} | c:String=rugby
        // Strings and numbers never meet.
        no  | {"p": [5]} | p:String=5
        no  | {"p": ["5"]} | p:Number=5
        // Numbers compare by value (AWS: 301.5 = 3.015e2), to six decimals.
        yes | {"p": [100]} | p:Number=1e2
        yes | {"p": [1e2]} | p:Number=100.0
        yes | {"p": [{"numeric": ["=", 301.5]}]} | p:Number=3.015e2
        no  | {"p": [{"numeric": ["=", 301.5]}]} | p:Number=301.6
        no  | {"p": [{"numeric": ["=", 301.5]}]} | p:String=301.5
        yes | {"p": [{"numeric": ["=", 1]}]} | p:Number=1.0000001
        // Beyond ±1e9 only the same literal matches, and ranges never do.
        yes | {"acct": [123456789012]} | acct:Number=123456789012
        no  | {"acct": [{"numeric": [">", 0]}]} | acct:Number=123456789012
        // Ranges (AWS: > 0, <= 100 takes 99 and not 111).
        yes | {"p": [{"numeric": [">", 0, "<=", 100]}]} | p:Number=99
        no  | {"p": [{"numeric": [">", 0, "<=", 100]}]} | p:Number=111
        yes | {"p": [{"numeric": [">", 0, "<=", 100]}]} | p:Number=100
        no  | {"p": [{"numeric": [">", 0, "<=", 100]}]} | p:Number=0
        yes | {"p": [{"numeric": [">=", 0, "<", 1]}]} | p:Number=0
        no  | {"p": [{"numeric": [">=", 0, "<", 1]}]} | p:Number=1
        yes | {"p": [{"numeric": ["<", 0]}]} | p:Number=-0.5
        no  | {"p": [{"numeric": ["<=", -1]}]} | p:Number=-0.5
        yes | {"p": [{"numeric": ["<=", -1]}]} | p:Number=-1
        yes | {"p": [{"numeric": [">", 5]}]} | p:Number=5.00001
        no  | {"p": [{"numeric": [">", 5]}]} | p:Number=5
        yes | {"p": [{"numeric": [">=", 5]}]} | p:Number=5
        no  | {"p": [{"numeric": [">", 5]}]} | p:String=6
        // Prefix, suffix, equals-ignore-case: strings only.
        yes | {"c": [{"prefix": "bas"}]} | c:String=baseball
        no  | {"c": [{"prefix": "bas"}]} | c:String=rugby
        no  | {"c": [{"prefix": "1"}]} | c:Number=12
        yes | {"c": [{"suffix": "ball"}]} | c:String=baseball
        no  | {"c": [{"suffix": "ball"}]} | c:String=balls
        yes | {"c": [{"equals-ignore-case": "RuGbY"}]} | c:String=rugby
        no  | {"c": [{"equals-ignore-case": "rugby"}]} | c:String=rugby league
        // Anything-but: strings, numbers, a prefix; never an absent attribute.
        yes | {"c": [{"anything-but": ["rugby", "tennis"]}]} | c:String=baseball
        no  | {"c": [{"anything-but": ["rugby", "tennis"]}]} | c:String=rugby
        no  | {"c": [{"anything-but": "rugby"}]} | c:String=rugby
        no  | {"c": [{"anything-but": "rugby"}]} | x:String=rugby
        yes | {"c": [{"anything-but": ["rugby"]}]} | c:String.Array=["rugby", "baseball"]
        no  | {"c": [{"anything-but": ["rugby"]}]} | c:String.Array=["rugby"]
        yes | {"p": [{"anything-but": [100, 500]}]} | p:Number=100.1
        no  | {"p": [{"anything-but": [100, 500]}]} | p:Number=1e2
        no  | {"p": [{"anything-but": 100}]} | p:String=abc
        yes | {"p": [{"anything-but": "x"}]} | p:Number=5
        yes | {"e": [{"anything-but": {"prefix": "order-"}}]} | e:String=data-entry
        no  | {"e": [{"anything-but": {"prefix": "order-"}}]} | e:String=order-cancelled
        // AWS: [null, anything-but] does not take a message without the attribute.
        no  | {"a": [null, {"anything-but": "whatever"}]} | b:String=x
        // Exists (AWS): true needs the key; false needs it absent, and some attribute.
        yes | {"store": [{"exists": true}]} | store:Number=99; def:Number=99
        no  | {"store": [{"exists": true}]} | attr1:Number=111
        yes | {"store": [{"exists": false}]} | def:Number=99
        no  | {"store": [{"exists": false}]} | store:Number=99; def:Number=99
        no  | {"store": [{"exists": false}]} | -
        yes | {"store": [{"exists": false}, "a"]} | store:String=a
        // Binary attributes are ignored: they neither match nor exist.
        no  | {"b": ["eA=="]} | b:Binary=eA==
        no  | {"b": [{"exists": true}]} | b:Binary=eA==
        yes | {"b": [{"exists": false}]} | b:Binary=eA==; c:String=x
        // Custom type labels keep their base type.
        yes | {"c": ["x"], "p": [{"numeric": [">", 1]}]} | c:String.tag=x; p:Number.int=2
        // String.Array (AWS): any element; numbers, booleans and null inside.
        yes | {"store": ["value1"]} | store:String.Array=["value1", "value2"]
        no  | {"store": ["value1"]} | store:String.Array=["value2", "value3"]
        yes | {"store": ["value1"]} | store:String=value1
        yes | {"c": [{"prefix": "bas"}]} | c:String.Array=["rugby", "basketball"]
        yes | {"n": [{"numeric": [">", 1]}]} | n:String.Array=[0, 5]
        no  | {"n": [{"numeric": [">", 1]}]} | n:String.Array=[0, "5"]
        yes | {"f": [true]} | f:String.Array=[false, true]
        yes | {"f": [null]} | f:String.Array=[null]
        no  | {"c": ["x"]} | c:String.Array=not json
        // $or across attributes, and nested.
        yes | SOURCE_OR | source:String=aws.cloudwatch; namespace:String=AWS/EC2
        no  | SOURCE_OR | source:String=aws.events; namespace:String=AWS/EC2
        no  | SOURCE_OR | source:String=aws.cloudwatch; metricName:String=ReadLatency
        yes | {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]} | b:String=2; d:String=4
        no  | {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]} | b:String=2
        yes | OR_150 | source:String=b; metricType:String=3; spaceId:Number=7
        // Ruler's fallback: operator names inside $or make it a plain key.
        yes | {"$or": [{"prefix": "ab"}, {"suffix": "yz"}]} | $or:String=xyz
        // cidr
        yes | {"ip": [{"cidr": "10.0.0.0/24"}]} | ip:String=10.0.0.255
        no  | {"ip": [{"cidr": "10.0.0.0/24"}]} | ip:String=10.0.1.0
        yes | {"ip": [{"cidr": "2001:db8::/32"}]} | ip:String=2001:db8:ffff::1
        no  | {"ip": [{"cidr": "2001:db8::/32"}]} | ip:String=10.0.0.1
        "#,
        Scope::MessageAttributes,
    );
}

#[test]
fn body_scope_matching() {
    check_matches(
        r#"
        yes | {"c": ["rugby"]} | {"c": "rugby"}
        no  | {"c": ["rugby"]} | {"c": "tennis"}
        // Only a JSON object body can match (AWS).
        no  | {"c": [{"exists": false}]} | Regular string message
        no  | {"c": [{"exists": false}]} | "Regular string message"
        no  | {"c": [{"exists": false}]} | {}
        yes | {"c": [{"exists": false}]} | {"d": 1}
        // Nested keys with prefix, exact and exists: false (AWS).
        yes | EXISTS | {"object": {"key": "auto-test"}}
        yes | EXISTS | {"object": {"key": "hardcodedvalue"}}
        no  | EXISTS | {"object": {"key": "test-auto"}}
        no  | EXISTS | {"object": {"key": "auto-test"}, "test": "just-exists"}
        no  | EXISTS | {"object": {"key": "auto-test", "nested_key": "just-exists"}}
        no  | EXISTS | {"object": {"test": "auto-test"}}
        no  | EXISTS | {"test": "auto-test"}
        // Dots join keys on both sides (AWS).
        yes | {"object.nested": ["string.value"]} | {"object": {"nested": "string.value"}}
        yes | {"object.nested": ["string.value"]} | {"object.nested": "string.value"}
        no  | {"object.nested": ["string.value"]} | {"object": {"nested": "test-auto"}}
        yes | {"object.nested.test": ["v"]} | {"object": {"nested.test": "v"}}
        yes | {"object": {"nested": {"test": ["v"]}}} | {"object.nested": {"test": "v"}}
        // Arrays in the body: any element (AWS, and the guide's numeric example).
        yes | {"headers": {"route-to": ["queue1"]}} | {"headers": {"route-to": ["queue1", "queue2"]}}
        no  | {"headers": {"route-to": ["queue1"]}} | {"headers": {"route-to": ["queue3"]}}
        yes | {"price": [{"anything-but": [100, 500]}]} | {"price": [100, 50]}
        no  | {"price": [{"anything-but": [100, 500]}]} | {"price": 100}
        // Arrays of objects (AWS's S3 example), and array consistency.
        yes | S3 | {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": [[{"key": "auto-1.xml"}]]}}, {"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "home-1.xml"}}}]}
        no  | S3 | {"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "auto-1.xml"}}}]}
        no  | S3 | {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "home-1.xml"}}}]}
        no  | S3 | {"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "auto-1"}}}, {"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "home-1"}}}]}
        yes | {"e": {"first": ["Anna"], "last": ["Smith"]}} | {"e": [{"first": "John", "last": "Doe"}, {"first": "Anna", "last": "Smith"}]}
        no  | {"e": {"first": ["Anna"], "last": ["Doe"]}} | {"e": [{"first": "John", "last": "Doe"}, {"first": "Anna", "last": "Smith"}]}
        // Exists looks at leaves only; null does not exist; null matches null.
        no  | {"a": [{"exists": true}]} | {"a": {"b": 1}}
        yes | {"a": [{"exists": false}]} | {"a": {"b": 1}}
        yes | {"a": {"b": [{"exists": true}]}} | {"a": {"b": 1}}
        no  | {"a": [{"exists": true}]} | {"a": null}
        no  | {"a": [{"exists": true}]} | {"a": []}
        yes | {"a": [null]} | {"a": null}
        no  | {"a": [null]} | {"b": 1}
        // Numbers, booleans and the other operators.
        yes | {"price_usd": [{"numeric": ["=", 301.5]}]} | {"price_usd": 3.015e2}
        yes | {"price": [{"numeric": [">", 100]}]} | {"price": 150}
        no  | {"price": [{"numeric": [">", 100]}]} | {"price": "150"}
        yes | {"flag": [true]} | {"flag": true}
        no  | {"flag": [true]} | {"flag": "true"}
        yes | {"s": [{"suffix": ".xml"}]} | {"s": "a.xml"}
        yes | {"s": [{"equals-ignore-case": "EC2"}]} | {"s": "ec2"}
        yes | {"s": [{"anything-but": {"prefix": "init"}}]} | {"s": "running"}
        no  | {"s": [{"anything-but": {"prefix": "init"}}]} | {"s": "initializing"}
        no  | {"s": [{"anything-but": "x"}]} | {"t": "y"}
        yes | {"ip": [{"cidr": "10.0.0.0/8"}]} | {"ip": "10.1.2.3"}
        // $or at the top and under a key (AWS's policy).
        yes | OR | {"metricName": "CPUUtilization", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}
        yes | OR | {"namespace": "AWS/ES", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}
        yes | OR | {"metricName": "ReadLatency", "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"}}
        no  | OR | {"metricName": "CPUUtilization", "detail": {"scope": "aws.cloudwatch", "type": "CloudWatch Alarm State Change"}}
        no  | OR | {"metricName": "CPUUtilization", "detail": {"scope": "Service", "type": "CPUUtilization"}}
        no  | OR | {"metricName": "CPUUtilization", "detail": {"type": "CloudWatch Alarm State Change"}}
        no  | OR | {"metricName": "CPUUtilization", "detail": {"scope": "Service"}}
        no  | OR | {"metricName": "CPUUtilization", "scope": "Service"}
        // Ruler's fallback: a $or that is not an array is a plain key.
        yes | {"$or": {"a": ["1"]}} | {"$or": {"a": "1"}}
        "#,
        Scope::MessageBody,
    );
}

#[test]
fn rejected_policies() {
    let table = r#"
        // Recorded against AWS.
        A | {"key": [["value"]]} | Match value must be String, number, true, false, or null
        A | {"key": [{"wrong-operator": true}]} | Unrecognized match type wrong-operator
        A | {"key": [{"suffix": "value", "prefix": "value2"}]} | Only one key allowed in match expression
        A | {"key": [{"suffix": 100}]} | suffix match pattern must be a string
        A | {"key": [{"suffix": null}]} | suffix match pattern must be a string
        A | {"key": [{"suffix": []}]} | suffix match pattern must be a string
        A | {"key": [{"suffix": ["test", "test2"]}]} | suffix match pattern must be a string
        A | {"key": {"suffix": "value"}} | "suffix" must be an object or an array
        A | {"key": {"not-an-operator": "value"}} | "not-an-operator" must be an object or an array
        B | {"key_a": "value_one"} | "key_a" must be an object or an array
        A | {"key": [{"numeric": []}]} | Invalid member in numeric match: ]
        A | {"key": [{"numeric": ["operator"]}]} | Unrecognized numeric range operator: operator
        A | {"key": [{"numeric": [1, "<="]}]} | Invalid member in numeric match: 1
        A | {"key": [{"numeric": ["=", "000"]}]} | Value of equals must be numeric
        A | {"key": [{"numeric": [">="]}]} | Value of >= must be numeric
        A | {"key": [{"numeric": ["<", 100, ">", 10]}]} | Too many elements in numeric expression
        A | {"key": [{"numeric": [">=", 1, ">", 2]}]} | Bad numeric range operator: >
        A | {"key": [{"numeric": [">", 3, "<", 1]}]} | Bottom must be less than top
        A | {"key": [{"numeric": [">", 20, "<="]}]} | Value of <= must be numeric
        A | {"key": [{"numeric": [">", 20, 30]}]} | Bad value in numeric range: 30
        A | {"key": [{"numeric": [">", 20, "test"]}]} | Bad numeric range operator: test
        A | {"key": [{"numeric": [">", "20", "<", "30"]}]} | Value of > must be numeric
        A | {"key": [{"numeric": [">", 20, "<", "30"]}]} | Value of < must be numeric
        A | {"key": [{"numeric": [">", 20, "<", 30, "<", 50]}]} | Too many terms in numeric range expression
        A | {"key": [{"exists": null}]} | exists match pattern must be either true or false.
        A | {"key": [{"exists": "no"}]} | exists match pattern must be either true or false.
        A | {"key": [{"anything-but": {"wrong-operator": null}}]} | Unsupported anything-but pattern: wrong-operator
        A | {"key": [{"anything-but": {"suffix": "test"}}]} | Unsupported anything-but pattern: suffix
        A | {"key": [{"anything-but": {"exists": false}}]} | Unsupported anything-but pattern: exists
        A | {"key": [{"anything-but": {"prefix": false}}]} | prefix match pattern must be a string
        A | {"k1": [1], "k2": [2], "k3": [3], "k4": [4], "k5": [5], "k6": [6]} | Filter policy can not have more than 5 keys
        A | {"Amount": []} | Empty arrays are not allowed
        A | OR_152 | Filter policy is too complex
        B | OR_160 | Filter policy is too complex
        B | {"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}}, "key_d": {"key_e": ["1", "2", "3"]}, "key_f": ["1", "2", "3"]} | Filter policy is too complex
        B | SIX_LEAVES | Filter policy can not have more than 5 keys
        // Ruler's wording for the rest.
        A | [] | Filter is not an object
        A | {} | Empty objects are not allowed
        B | {"a": {}} | Empty objects are not allowed
        A | {"a": [{}]} | Match expression name not found
        A | {"a": [{"equals-ignore-case": 1}]} | equals-ignore-case match pattern must be a string
        A | {"a": [{"prefix": ["x"]}]} | prefix match pattern must be a string
        A | {"a": [{"numeric": 5}]} | Value of numeric must be an array.
        A | {"a": [{"numeric": ["=", 5, "<", 6]}]} | Too many elements in numeric expression
        A | {"a": [{"numeric": [">", 0], "prefix": "x"}]} | Too many elements in numeric expression
        A | {"a": [{"numeric": [">", 1e10]}]} | Value must be between -1.0E9 and 1.0E9, inclusive
        A | {"a": [{"numeric": ["=", -1000000000.5]}]} | Value must be between -1.0E9 and 1.0E9, inclusive
        A | {"a": [{"anything-but": [1e10]}]} | Value must be between -1.0E9 and 1.0E9, inclusive
        A | {"a": [{"anything-but": []}]} | Inside anything but list, either all values are number or string, mixed type is not supported
        A | {"a": [{"anything-but": ["x", 1]}]} | Inside anything but list, either all values are number or string, mixed type is not supported
        A | {"a": [{"anything-but": [true]}]} | Inside anything but list, start|null|boolean is not supported.
        A | {"a": [{"anything-but": null}]} | Value of anything-but must be an array or single string/number value.
        A | {"a": [{"anything-but": {"prefix": ""}}]} | Null prefix not allowed
        A | {"a": [{"anything-but": {}}]} | Anything-But expression name not found
        A | {"a": [{"wildcard": "x*"}]} | Unrecognized match type wildcard
        A | {"a": [{"cidr": 5}]} | prefix match pattern must be a string
        A | {"a": [{"cidr": "10.0.0.0"}]} | Malformed CIDR, one '/' required
        A | {"a": [{"cidr": "10.0.0.0/x"}]} | Malformed CIDR, mask bits must be an integer
        A | {"a": [{"cidr": "10.0.0.0/-1"}]} | Malformed CIDR, mask bits must not be negative
        A | {"a": [{"cidr": "10.0.0.0/32"}]} | IPv4 mask bits must be < 32
        A | {"a": [{"cidr": "::/128"}]} | IPv6 mask bits must be < 128
        A | {"a": [{"cidr": "example.com/8"}]} | Nonstandard IP address: example.com
        A | {"a": [{"cidr": "999.0.0.1/8"}]} | Invalid IP address: 999.0.0.1
        // A $or that is not the operator is a plain key, and fails as one.
        A | {"$or": [{"a": ["x"]}]} | Unrecognized match type a
        A | {"$or": [{"prefix": ["a"]}, {"numeric": ["b"]}]} | prefix match pattern must be a string
    "#;
    let mut failures = Vec::new();
    let rows: Vec<Vec<&str>> = table.lines().filter_map(columns).collect();
    for row in &rows {
        let scope = if row[0] == "A" {
            Scope::MessageAttributes
        } else {
            Scope::MessageBody
        };
        let (policy, expected) = (row[1], fp(row[2]));
        match FilterPolicy::parse(policy, scope) {
            Err(e) if e == expected => {}
            Err(e) => failures.push(format!("{policy}: got {e:?}, want {expected:?}")),
            Ok(_) => failures.push(format!("{policy}: accepted, want {expected:?}")),
        }
    }
    assert!(rows.len() > 60, "the table lost its rows");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn limits_obeyed_and_violated() {
    let accepted = r#"
        // AWS: exactly 150 combinations.
        A | OR_150
        // The guide: (4 values x depth 4) x (3 x depth 3) = 144, two leaf keys.
        B | {"key_a": {"key_b": {"key_c": {"key_d": ["1", "2", "3", "4"]}}, "key_e": {"key_f": ["1", "2", "3"]}}}
        // The guide: (4 x 3) x (3 x 2) = 72.
        B | {"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}}, "key_d": {"key_e": ["1", "2", "3"]}}
        A | {"k1": [1], "k2": [2], "k3": [3], "k4": [4], "k5": [5]}
        // Five distinct keys across $or branches; z, in both, counts once.
        A | {"k": ["a"], "$or": [{"x": ["1"], "z": ["1"]}, {"y": ["1"], "z": ["2"], "w": ["3"]}]}
        // AWS takes these anything-but forms.
        A | {"key": [{"anything-but": {"prefix": "test-"}}]}
        A | {"key": [{"anything-but": ["test", "test2"]}]}
        A | {"key": [{"anything-but": "test"}]}
        // Exact numbers beyond ±1e9 are kept (and matched literally), as Ruler does.
        A | {"acct": [123456789012]}
    "#;
    for row in accepted.lines().filter_map(columns) {
        let scope = if row[0] == "A" {
            Scope::MessageAttributes
        } else {
            Scope::MessageBody
        };
        if let Err(e) = FilterPolicy::parse(row[1], scope) {
            panic!("{} rejected: {e}", row[1]);
        }
    }
    let list = |n: usize| {
        (0..n)
            .map(|i| format!("\"v{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let over = [
        format!(r#"{{"key": [{}]}}"#, list(151)),
        format!(r#"{{"key1": [{}], "key2": [{}]}}"#, list(100), list(51)),
    ];
    for policy in &over {
        let err = FilterPolicy::parse(policy, Scope::MessageAttributes).err();
        assert_eq!(err, Some(fp(TOO_COMPLEX)), "AWS refuses 151 and 100 x 51");
    }
    assert!(
        FilterPolicy::parse(
            &format!(r#"{{"key": [{}]}}"#, list(150)),
            Scope::MessageAttributes
        )
        .is_ok()
    );
    let sized = |n| format!(r#"{{"k": ["{}"]}}"#, "x".repeat(n - 11));
    assert!(FilterPolicy::parse(&sized(MAX_POLICY_BYTES), Scope::MessageAttributes).is_ok());
    let err = FilterPolicy::parse(&sized(MAX_POLICY_BYTES + 1), Scope::MessageAttributes).err();
    assert_eq!(err, Some(fp("Filter policy is too large")));
}

#[test]
fn nesting_is_for_the_body_only() {
    // AWS: refused for attributes, taken for the body; $or is not nesting.
    let policy = r#"{"object": {"key": [{"prefix": "auto-"}]}}"#;
    let err = FilterPolicy::parse(policy, Scope::MessageAttributes).err();
    assert_eq!(err.as_deref(), Some(NESTED));
    assert!(FilterPolicy::parse(policy, Scope::MessageBody).is_ok());
    let or = r#"{"$or": [{"a": ["1"]}, {"b": ["2"]}]}"#;
    assert!(FilterPolicy::parse(or, Scope::MessageAttributes).is_ok());
}

#[test]
fn or_forks_are_bounded() {
    // 2^40 branches would never finish; the fork stops at the complexity limit.
    let ors: Vec<String> = (0..40)
        .map(|i| format!(r#""k{i}": {{"$or": [{{"a": ["1"]}}, {{"b": ["2"]}}]}}"#))
        .collect();
    let policy = format!("{{{}}}", ors.join(","));
    assert_eq!(
        FilterPolicy::parse(&policy, Scope::MessageBody).err(),
        Some(fp(TOO_COMPLEX))
    );
}

#[test]
fn malformed_json_names_the_filter_policy() {
    let err = FilterPolicy::parse("{not json", Scope::MessageAttributes)
        .err()
        .unwrap_or_default();
    assert!(
        err.starts_with("Invalid parameter: FilterPolicy: "),
        "{err}"
    );
}

#[test]
fn subscribe_wording() {
    // AWS: Subscribe puts "Attributes Reason: " after "Invalid parameter: ".
    let policy = r#"{"key": [{"wrong-operator": true}]}"#;
    let err = FilterPolicy::parse(policy, Scope::MessageAttributes)
        .err()
        .unwrap_or_default();
    assert_eq!(
        for_subscribe(&err),
        "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type wrong-operator"
    );
}

/// `n` elements with keys a–d, `n` with e alone, and one with all five.
fn spread_body(n: usize) -> String {
    let mut items: Vec<Value> = Vec::new();
    items.extend((0..n).map(|_| serde_json::json!({"a": 1, "b": 1, "c": 1, "d": 1})));
    items.extend((0..n).map(|_| serde_json::json!({"e": 1})));
    items.push(serde_json::json!({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}));
    serde_json::json!({ "x": items }).to_string()
}

#[test]
fn a_crafted_body_hits_the_search_budget_instead_of_a_core() {
    let policy = FilterPolicy::parse(
        r#"{"x": {"a": [1], "b": [1], "c": [1], "d": [1], "e": [1]}}"#,
        Scope::MessageBody,
    )
    .unwrap();
    let none = BTreeMap::new();
    // Small: the one element with all five keys is found.
    assert!(policy.matches(&none, &spread_body(50)));
    // Crafted to need ~4·n² tries: past the budget it is no match (the
    // documented cap), where the full search would take far longer.
    assert!(!policy.matches(&none, &spread_body(400)));
}
