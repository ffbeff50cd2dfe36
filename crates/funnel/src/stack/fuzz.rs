//! Property-based fuzzing of stack files (untrusted TOML): `Stack::load`
//! returns a stack or an error naming what is wrong; it never panics.
//! Run longer with `PROPTEST_CASES=100000 cargo test -p funnel stack::fuzz`.

use proptest::prelude::*;

use super::Stack;

/// TOML text in a stack's shape, from its own keys and values, sometimes
/// malformed.
fn stack_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("name".to_string()),
        Just("crate".to_string()),
        Just("code".to_string()),
        Just("memory".to_string()),
        Just("timeout".to_string()),
        Just("description".to_string()),
        Just("path".to_string()),
        Just("function".to_string()),
        Just("events".to_string()),
        Just("prefix".to_string()),
        Just("suffix".to_string()),
        Just("schedule".to_string()),
        Just("layers".to_string()),
        Just("bucket_access".to_string()),
        Just("secret_access".to_string()),
        Just("routing".to_string()),
        Just("version".to_string()),
        Just("env".to_string()),
        Just("filter_policy".to_string()),
        Just("input".to_string()),
        Just("route_key".to_string()),
        Just("payload_format_version".to_string()),
        Just("qualifier".to_string()),
        Just("auth_type".to_string()),
        Just("cors".to_string()),
        Just("url".to_string()),
        "[a-z_]{1,10}",
    ];
    let value = prop_oneof![
        "\"[a-z0-9*:/.()_ -]{0,16}\"".prop_map(|s| s.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("[\"s3:ObjectCreated:*\"]".to_string()),
        Just("{ photos = \"read\" }".to_string()),
        Just("{ \"2\" = 0.1 }".to_string()),
        Just("\"rate(1 hour)\"".to_string()),
        Just("\"GET /hello/{name}\"".to_string()),
        Just("\"1.0\"".to_string()),
        Just("\"NONE\"".to_string()),
        Just("{ allow_origins = [\"*\"], max_age = 300 }".to_string()),
        Just("{ auth_type = \"FUNNEL\" }".to_string()),
        ".{0,8}",
    ];
    let table = prop_oneof![
        Just("[[function]]"),
        Just("[[bucket]]"),
        Just("[[bucket.notification]]"),
        Just("[[topic]]"),
        Just("[[topic.subscription]]"),
        Just("[[rule]]"),
        Just("[[rule.target]]"),
        Just("[[layer]]"),
        Just("[[alias]]"),
        Just("[[route]]"),
        Just("[function.url]"),
        Just("[function.url.cors]"),
        Just("[x]"),
    ];
    let line = prop_oneof![
        1 => table.prop_map(str::to_string),
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
    ];
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn stack_files_load_or_say_what_is_wrong(text in stack_text()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("funnel.toml");
        std::fs::write(&path, &text).unwrap();
        let _ = Stack::load(&path);
    }
}
