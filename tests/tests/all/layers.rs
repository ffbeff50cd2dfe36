//! Layers: published as numbered versions, merged read-only at /opt in
//! order, limited to 5 per function and 250 MB with the code, hostile
//! archives refused, and deleted versions still serving their functions.

use funnel_tests::guests;
use std::path::Path;

use funnel_client::proto;
use funnel_tests::{
    create_request, guest, invoke_request, json_of, layer_request, start_server, start_server_with,
    test_config, zip_of,
};
use serde_json::json;

fn with_layers(name: &str, layers: &[&str]) -> proto::CreateFunctionRequest {
    let mut request = create_request(name, guest(guests::LAYER_READER));
    request.layers = layers.iter().map(|l| l.to_string()).collect();
    request
}

#[tokio::test]
async fn publish_get_list_and_delete_layer_versions() {
    let server = start_server().await;
    let client = &server.client;
    let mut request = layer_request("shared", zip_of(&[("config.json", b"{}")]));
    request.description = "first".into();
    request.compatible_runtimes = vec!["provided.al2023".into()];
    request.license_info = "MIT".into();
    let v1 = client
        .publish_layer_version(request)
        .await
        .expect("publish");
    assert_eq!(v1.version, 1);
    assert_eq!(
        v1.layer_version_arn,
        "arn:funnel:lambda:local:000000000000:layer:shared:1"
    );
    assert_eq!(
        v1.layer_arn,
        "arn:funnel:lambda:local:000000000000:layer:shared"
    );
    let content = v1.content.clone().expect("content");
    assert_eq!(content.unpacked_size, 2);
    assert_eq!(content.code_sha256.len(), 44, "base64 of a SHA-256");
    assert_eq!(
        (v1.description.as_str(), v1.license_info.as_str()),
        ("first", "MIT")
    );

    let v2 = client
        .publish_layer_version(layer_request("shared", zip_of(&[("config.json", b"[]")])))
        .await
        .expect("publish v2");
    assert_eq!(v2.version, 2);
    let other = client
        .publish_layer_version(layer_request("other", zip_of(&[("x", b"x")])))
        .await
        .expect("publish other");
    assert_eq!(other.version, 1);

    assert_eq!(
        client.get_layer_version("shared", 1).await.expect("get"),
        v1
    );
    assert_eq!(
        client
            .get_layer_version_by_arn(&v1.layer_version_arn)
            .await
            .expect("get by arn"),
        v1
    );

    let layers = client
        .list_layers(proto::ListLayersRequest::default())
        .await
        .expect("list");
    let newest: Vec<(&str, i64)> = layers
        .layers
        .iter()
        .map(|l| {
            let version = l.latest_matching_version.as_ref().expect("newest").version;
            (l.layer_name.as_str(), version)
        })
        .collect();
    assert_eq!(newest, [("other", 1), ("shared", 2)]);
    // Only version 1 of `shared` says it fits provided.al2023.
    let matching = client
        .list_layers(proto::ListLayersRequest {
            compatible_runtime: "provided.al2023".into(),
            ..Default::default()
        })
        .await
        .expect("list by runtime");
    assert_eq!(matching.layers.len(), 1);
    assert_eq!(
        matching.layers[0]
            .latest_matching_version
            .as_ref()
            .unwrap()
            .version,
        1
    );

    let page = client
        .list_layer_versions(proto::ListLayerVersionsRequest {
            layer_name: "shared".into(),
            max_items: Some(1),
            ..Default::default()
        })
        .await
        .expect("versions");
    assert_eq!(page.layer_versions[0].version, 2, "newest first");
    let rest = client
        .list_layer_versions(proto::ListLayerVersionsRequest {
            layer_name: "shared".into(),
            marker: page.next_marker,
            ..Default::default()
        })
        .await
        .expect("next page");
    assert_eq!(rest.layer_versions.len(), 1);
    assert_eq!(rest.layer_versions[0].version, 1);
    assert!(rest.next_marker.is_empty());

    client
        .delete_layer_version("shared", 1)
        .await
        .expect("delete");
    let err = client.get_layer_version("shared", 1).await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    // Deleting again is not an error, as in Lambda; numbers are not reused.
    client
        .delete_layer_version("shared", 1)
        .await
        .expect("delete again");
    let v3 = client
        .publish_layer_version(layer_request("shared", zip_of(&[("config.json", b"{}")])))
        .await
        .expect("publish v3");
    assert_eq!(v3.version, 3);

    for bad in [
        "",
        "has space",
        "arn:funnel:lambda:elsewhere:000000000000:layer:x",
    ] {
        let err = client
            .publish_layer_version(layer_request(bad, zip_of(&[("x", b"x")])))
            .await
            .unwrap_err();
        assert_eq!(
            err.error_type.as_deref(),
            Some("InvalidParameterValueException"),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn layers_are_merged_read_only_at_opt_in_order() {
    let server = start_server().await;
    let client = &server.client;
    let first = client
        .publish_layer_version(layer_request(
            "first",
            zip_of(&[
                ("config.json", br#"{"from":"first"}"#),
                ("lib/first.txt", b"only in first"),
            ]),
        ))
        .await
        .expect("publish first");
    let second = client
        .publish_layer_version(layer_request(
            "second",
            zip_of(&[
                ("config.json", br#"{"from":"second"}"#),
                ("lib/second.txt", b"only in second"),
            ]),
        ))
        .await
        .expect("publish second");
    let (a, b) = (
        first.layer_version_arn.as_str(),
        second.layer_version_arn.as_str(),
    );

    let created = client
        .create_function(with_layers("reader", &[a, b]))
        .await
        .expect("create");
    let arns: Vec<&str> = created.layers.iter().map(|l| l.arn.as_str()).collect();
    assert_eq!(arns, [a, b]);
    assert!(created.layers.iter().all(|l| l.code_size > 0));

    let out = server.invoke("reader", "{}").await;
    assert_eq!(
        json_of(&out),
        json!({"from": "second"}),
        "the later layer wins"
    );
    for (path, text) in [
        ("/opt/lib/first.txt", "only in first"),
        ("/opt/lib/second.txt", "only in second"),
    ] {
        let out = server
            .invoke("reader", &json!({ "path": path }).to_string())
            .await;
        assert_eq!(json_of(&out), json!(text), "{path}");
    }
    let out = server.invoke("reader", r#"{"write":"/opt/new.txt"}"#).await;
    assert_eq!(json_of(&out)["written"], json!(false), "/opt is read-only");

    // The other order: the first layer now wins, on the next call.
    let updated = client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            layers: Some(proto::LayerArns {
                arns: vec![b.into(), a.into()],
            }),
            ..Default::default()
        })
        .await
        .expect("reorder");
    assert_eq!(updated.layers[0].arn, b);
    let out = server.invoke("reader", "{}").await;
    assert_eq!(json_of(&out), json!({"from": "first"}));

    // No layers: no /opt.
    client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            layers: Some(proto::LayerArns { arns: Vec::new() }),
            ..Default::default()
        })
        .await
        .expect("remove layers");
    let out = server.invoke("reader", "{}").await;
    assert_eq!(out.function_error, "Handled");
    assert_eq!(json_of(&out)["errorType"], "FileNotFound");

    // A published version keeps the layers it was published with.
    client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            layers: Some(proto::LayerArns {
                arns: vec![a.into()],
            }),
            ..Default::default()
        })
        .await
        .expect("one layer");
    let v1 = client
        .publish_version(proto::PublishVersionRequest {
            function_name: "reader".into(),
            ..Default::default()
        })
        .await
        .expect("publish");
    client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            layers: Some(proto::LayerArns {
                arns: vec![b.into()],
            }),
            ..Default::default()
        })
        .await
        .expect("other layer");
    let mut request = invoke_request("reader", "{}");
    request.qualifier = v1.version.clone();
    let out = client.invoke(request).await.expect("invoke v1");
    assert_eq!(json_of(&out), json!({"from": "first"}));
    let out = server.invoke("reader", "{}").await;
    assert_eq!(json_of(&out), json!({"from": "second"}));
}

#[tokio::test]
async fn a_deleted_layer_version_still_serves_its_functions_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    let layer = server
        .client
        .publish_layer_version(layer_request(
            "settings",
            zip_of(&[("config.json", br#"{"mode":"kept"}"#)]),
        ))
        .await
        .expect("publish");
    let arn = layer.layer_version_arn.clone();
    server
        .client
        .create_function(with_layers("reader", &[&arn]))
        .await
        .expect("create");
    server
        .client
        .delete_layer_version("settings", 1)
        .await
        .expect("delete");
    let out = server.invoke("reader", "{}").await;
    assert_eq!(json_of(&out), json!({"mode": "kept"}));
    // A new function cannot start using the deleted version.
    let err = server
        .client
        .create_function(with_layers("late", &[&arn]))
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(err.message.contains("does not exist"), "{}", err.message);
    server.stop().await;

    // Even with the unpacked files gone, the archive is still in the
    // store and the next start unpacks it again.
    std::fs::remove_dir_all(dir.path().join("layers")).expect("clear layers folder");
    let server = start_server_with(test_config(dir.path())).await;
    let out = server.invoke("reader", "{}").await;
    assert_eq!(json_of(&out), json!({"mode": "kept"}));

    // Once no function uses it, its files go too (at the next start).
    server
        .client
        .delete_function("reader")
        .await
        .expect("delete function");
    server.stop().await;
    let server = start_server_with(test_config(dir.path())).await;
    let unpacked = std::fs::read_dir(dir.path().join("layers/unpacked"))
        .expect("unpacked folder")
        .count();
    assert_eq!(unpacked, 0);
    server.stop().await;
}

#[tokio::test]
async fn five_layers_at_most_and_250_mb_with_the_code() {
    let server = start_server().await;
    let client = &server.client;
    let mut arns = Vec::new();
    for i in 0..6 {
        let name = format!("l{i}");
        let file = format!("{name}.txt");
        let published = client
            .publish_layer_version(layer_request(&name, zip_of(&[(&file, b"x")])))
            .await
            .expect("publish");
        arns.push(published.layer_version_arn);
    }
    let refs: Vec<&str> = arns.iter().map(String::as_str).collect();
    let err = client
        .create_function(with_layers("six", &refs))
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(err.message.contains("at most 5"), "{}", err.message);
    client
        .create_function(with_layers("five", &refs[..5]))
        .await
        .expect("five layers are fine");
    // Two versions of one layer are not.
    let again = client
        .publish_layer_version(layer_request("l0", zip_of(&[("other", b"y")])))
        .await
        .expect("publish l0 v2");
    let err = client
        .create_function(with_layers("twice", &[refs[0], &again.layer_version_arn]))
        .await
        .unwrap_err();
    assert!(err.message.contains("same layer"), "{}", err.message);

    // Three layers of 90 MB each fit alone, not together (270 MB > 250 MB).
    let big = vec![0u8; 90 * 1024 * 1024];
    let mut big_arns = Vec::new();
    for name in ["big-a", "big-b", "big-c"] {
        let published = client
            .publish_layer_version(layer_request(name, zip_of(&[("zeros.bin", &big)])))
            .await
            .expect("publish 90 MB layer");
        assert_eq!(published.content.unwrap().unpacked_size, 90 * 1024 * 1024);
        big_arns.push(published.layer_version_arn);
    }
    let refs: Vec<&str> = big_arns.iter().map(String::as_str).collect();
    client
        .create_function(with_layers("two-big", &refs[..2]))
        .await
        .expect("180 MB fits");
    let err = client
        .create_function(with_layers("three-big", &refs))
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(
        err.message.contains("262144000"),
        "names the limit: {}",
        err.message
    );
    // Nor by adding the third layer later.
    let err = client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "two-big".into(),
            layers: Some(proto::LayerArns {
                arns: big_arns.clone(),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.message.contains("262144000"), "{}", err.message);
}

/// Byte offsets of a zip's local headers and central directory entries.
fn patch_sizes(zip: &mut [u8], uncompressed: u32) {
    for i in 0..zip.len().saturating_sub(30) {
        match &zip[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => {
                zip[i + 22..i + 26].copy_from_slice(&uncompressed.to_le_bytes())
            }
            [0x50, 0x4b, 0x01, 0x02] => {
                zip[i + 24..i + 28].copy_from_slice(&uncompressed.to_le_bytes())
            }
            _ => {}
        }
    }
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    for i in 0..=bytes.len() - from.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
        }
    }
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn hostile_archives_are_refused_and_write_nothing_outside() {
    use std::io::Write as _;
    let root = tempfile::tempdir().expect("temp dir");
    let data_dir = root.path().join("data");
    let server = start_server_with(test_config(&data_dir)).await;
    let before = files_under(root.path());

    let symlink = {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.add_symlink("evil-link", "/etc/passwd", options)
            .expect("symlink entry");
        zip.finish().unwrap().into_inner()
    };
    let duplicate = {
        let mut zip = zip_of(&[("evil-a.txt", b"1"), ("evil-b.txt", b"2")]);
        replace_all(&mut zip, b"evil-b.txt", b"evil-a.txt");
        zip
    };
    let declared_bomb = {
        let mut zip = zip_of(&[("evil-big.bin", b"small")]);
        patch_sizes(&mut zip, 300 * 1024 * 1024);
        zip
    };
    let lying_bomb = {
        let mut zip = zip_of(&[("evil-bomb.bin", &vec![0u8; 4 * 1024 * 1024])]);
        patch_sizes(&mut zip, 16);
        zip
    };
    let mut not_a_zip = b"PK\x03\x04".to_vec();
    not_a_zip.write_all(b"nonsense").unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("traversal", zip_of(&[("../../evil.txt", b"x")]), ".."),
        ("nested", zip_of(&[("a/../../../evil.txt", b"x")]), ".."),
        ("absolute", zip_of(&[("/tmp/evil.txt", b"x")]), "absolute"),
        ("backslash", zip_of(&[("..\\evil.txt", b"x")]), "backslash"),
        ("symlink", symlink, "symbolic link"),
        ("duplicate", duplicate, "more than once"),
        ("declared", declared_bomb, "declare"),
        ("lying", lying_bomb, "evil-bomb.bin"),
        ("garbage", not_a_zip, "zip"),
    ];
    for (case, zip, why) in cases {
        let err = server
            .client
            .publish_layer_version(layer_request("evil", zip))
            .await
            .expect_err(case);
        assert_eq!(
            err.error_type.as_deref(),
            Some("InvalidParameterValueException"),
            "{case}: {}",
            err.message
        );
        assert!(err.message.contains(why), "{case}: {}", err.message);
    }
    let after = files_under(root.path());
    let new: Vec<&String> = after
        .iter()
        .filter(|f| !before.contains(f) && !f.starts_with("data/db"))
        .collect();
    assert!(new.is_empty(), "written by refused archives: {new:?}");
    assert!(!after.iter().any(|f| f.contains("evil")), "{after:?}");
    let err = server
        .client
        .get_layer_version("evil", 1)
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    server.stop().await;
}
