//! RevisionId: every function and alias read carries one, every write
//! changes it, and a write that names a stale one is refused, so two
//! clients updating at once cannot silently overwrite each other.

use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::{guest, json_of, start_server};
use serde_json::json;

fn set_memory(revision_id: &str, mb: i32) -> proto::UpdateFunctionConfigurationRequest {
    proto::UpdateFunctionConfigurationRequest {
        function_name: "f".into(),
        memory_size: Some(mb),
        revision_id: revision_id.into(),
        ..Default::default()
    }
}

fn assert_stale(err: funnel_client::Error) {
    assert_eq!(
        err.error_type.as_deref(),
        Some("PreconditionFailedException"),
        "{}",
        err.message
    );
    assert!(err.message.contains("Revision Id"), "{}", err.message);
}

#[tokio::test]
async fn a_stale_revision_id_is_refused_and_changes_nothing() {
    let server = start_server().await;
    let client = &server.client;
    let created = server.create("f", guests::HELLO).await;
    assert!(!created.revision_id.is_empty());
    let read = client.get_function("f").await.expect("get");
    let read = read.configuration.expect("configuration");
    assert_eq!(read.revision_id, created.revision_id);

    // Two clients read the same revision; the first write wins...
    let first = client
        .update_function_configuration(set_memory(&read.revision_id, 256))
        .await
        .expect("first writer");
    assert_ne!(first.revision_id, read.revision_id);
    // ...and the second is told, instead of overwriting it.
    let err = client
        .update_function_configuration(set_memory(&read.revision_id, 512))
        .await
        .unwrap_err();
    assert_stale(err);
    let err = client
        .update_function_code_with(proto::UpdateFunctionCodeRequest {
            function_name: "f".into(),
            zip_file: guest(guests::ECHO),
            revision_id: read.revision_id.clone(),
        })
        .await
        .unwrap_err();
    assert_stale(err);
    let err = client
        .publish_version(proto::PublishVersionRequest {
            function_name: "f".into(),
            revision_id: read.revision_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_stale(err);
    let now = client
        .get_function("f")
        .await
        .expect("get")
        .configuration
        .unwrap();
    assert_eq!(now.memory_size, 256);
    assert_eq!(now.revision_id, first.revision_id);
    assert_eq!(now.code_sha256, created.code_sha256, "code unchanged");
    let out = server.invoke("f", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));

    // With the current revision, each write goes through.
    let updated = client
        .update_function_code_with(proto::UpdateFunctionCodeRequest {
            function_name: "f".into(),
            zip_file: guest(guests::ECHO),
            revision_id: now.revision_id.clone(),
        })
        .await
        .expect("code with current revision");
    let v1 = client
        .publish_version(proto::PublishVersionRequest {
            function_name: "f".into(),
            revision_id: updated.revision_id.clone(),
            ..Default::default()
        })
        .await
        .expect("publish with current revision");
    assert_eq!(v1.version, "1");
    assert!(!v1.revision_id.is_empty());
}

#[tokio::test]
async fn concurrent_updates_with_one_revision_let_exactly_one_through() {
    let server = start_server().await;
    let created = server.create("f", guests::HELLO).await;
    let mut writers = Vec::new();
    for i in 0..8 {
        let client = server.client.clone();
        let revision = created.revision_id.clone();
        writers.push(tokio::spawn(async move {
            client
                .update_function_configuration(set_memory(&revision, 128 + 64 * i))
                .await
        }));
    }
    let mut won = 0;
    for writer in writers {
        match writer.await.expect("writer task") {
            Ok(_) => won += 1,
            Err(err) => assert_stale(err),
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn alias_updates_check_the_alias_revision() {
    let server = start_server().await;
    let client = &server.client;
    server.create("f", guests::HELLO).await;
    client
        .publish_version(proto::PublishVersionRequest {
            function_name: "f".into(),
            ..Default::default()
        })
        .await
        .expect("publish");
    let alias = client
        .create_alias(proto::CreateAliasRequest {
            function_name: "f".into(),
            name: "live".into(),
            function_version: "1".into(),
            ..Default::default()
        })
        .await
        .expect("create alias");
    assert!(!alias.revision_id.is_empty());
    let read = client.get_alias("f", "live").await.expect("get alias");
    assert_eq!(read.revision_id, alias.revision_id);

    let update = |revision: &str, description: &str| proto::UpdateAliasRequest {
        function_name: "f".into(),
        name: "live".into(),
        description: Some(description.into()),
        revision_id: revision.into(),
        ..Default::default()
    };
    let first = client
        .update_alias(update(&read.revision_id, "first"))
        .await
        .expect("first writer");
    assert_ne!(first.revision_id, read.revision_id);
    assert_stale(
        client
            .update_alias(update(&read.revision_id, "second"))
            .await
            .unwrap_err(),
    );
    let now = client.get_alias("f", "live").await.expect("get alias");
    assert_eq!(now.description, "first");
    // Without a RevisionId, an update is unconditional, as in Lambda.
    let last = client
        .update_alias(update("", "third"))
        .await
        .expect("unconditional");
    assert_eq!(last.description, "third");
}
