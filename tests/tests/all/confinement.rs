//! Host paths as an attacker aims at them: `/etc` as a bucket, the data
//! dir as a bucket, a symlink planted through a read-write grant. Every
//! refusal carries its AWS error name.

use funnel_client::{Code, Error, proto};
use funnel_tests::{TestServer, create_request, guest, guests, start_server, start_server_with};

fn refused(result: Result<impl std::fmt::Debug, Error>, code: Code, name: &str) -> Error {
    let err = result.expect_err("refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(err.error_type.as_deref(), Some(name), "{err}");
    err
}

#[tokio::test]
async fn etc_as_a_bucket_is_refused() {
    let server = start_server().await;
    let err = refused(
        server.client.create_bucket("etc", Some("/etc")).await,
        Code::InvalidArgument,
        "InvalidArgument",
    );
    assert!(err.message.contains("outside the bucket roots"), "{err}");
    assert!(err.message.contains("--bucket-root"), "{err}");
    refused(
        server.client.get_object("etc", "shadow").await,
        Code::NotFound,
        "NoSuchBucket",
    );

    // A member with every permission still may not name a host folder, not
    // even one under a root; its buckets live under the data dir.
    let admin = server.member("admin", "FunnelFullAccess").await;
    let admin = server.client_as(Some(admin)).await;
    let err = refused(
        admin.create_bucket("etc", Some("/etc")).await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    assert!(err.message.contains("only the operator"), "{err}");
    admin
        .create_bucket("mine", None)
        .await
        .expect("a bucket under the data dir");
    server.stop().await;
}

#[tokio::test]
async fn the_data_dir_as_a_bucket_is_refused() {
    // The stack's folder is a root (as `funnel up` makes it) and holds the
    // data dir, as `./.funnel` does.
    let stack = tempfile::tempdir().expect("temp dir");
    let data = stack.path().join(".funnel");
    let mut config = funnel_tests::test_config(&data);
    config.buckets.roots.push(stack.path().to_path_buf());
    let server = start_server_with(config).await;
    server.create("hello", guests::HELLO).await;
    let canonical = std::fs::canonicalize(&data).expect("data dir");
    for (name, folder) in [
        ("data", canonical.clone()),
        ("compiled", canonical.join("compiled")),
        ("database", canonical.join("db")),
        ("buckets", canonical.join("buckets")),
        ("stack", std::fs::canonicalize(stack.path()).unwrap()),
    ] {
        let err = refused(
            server
                .client
                .create_bucket(name, Some(&folder.to_string_lossy()))
                .await,
            Code::InvalidArgument,
            "InvalidArgument",
        );
        assert!(
            err.message.contains("overlaps the data dir"),
            "{name}: {err}"
        );
    }
    let uploads = stack.path().join("uploads");
    std::fs::create_dir(&uploads).unwrap();
    server
        .client
        .create_bucket("uploads", Some(&uploads.to_string_lossy()))
        .await
        .expect("a folder beside the data dir, under the root");
    server.stop().await;
}

/// Whether the listing of `bucket` names any of `keys`.
async fn listed(server: &TestServer, bucket: &str) -> Vec<String> {
    server
        .client
        .list_objects_v2(proto::ListObjectsV2Request {
            bucket: bucket.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .contents
        .into_iter()
        .map(|object| object.key)
        .collect()
}

#[tokio::test]
async fn a_planted_symlink_reaches_nothing_outside_its_bucket() {
    let server = start_server().await;
    let created = server
        .client
        .create_bucket("shared", None)
        .await
        .expect("bucket");
    let folder = std::path::PathBuf::from(&created.path);
    let mut request = create_request("escape", guest(guests::ESCAPE));
    request.bucket_access = Some(proto::BucketAccess {
        buckets: [("shared".to_string(), "read-write".to_string())].into(),
    });
    server
        .client
        .create_function(request)
        .await
        .expect("create");

    // The guest plants `escape -> ../../..` and `passwd -> /etc/passwd`
    // through its read-write grant; it cannot read through them itself.
    let response = server.invoke("escape", r#"{"plant":"shared"}"#).await;
    let report = funnel_tests::json_of(&response);
    for read in ["read escape/etc/passwd", "read passwd"] {
        let outcome = report[read].as_str().unwrap_or_default();
        assert!(outcome.starts_with("denied"), "{read}: {report}");
    }
    // Whatever the guest could plant, plant the same from the host (as
    // anyone writing the folder could).
    for (link, target) in [("escape", "../../.."), ("passwd", "/etc/passwd")] {
        let path = folder.join(link);
        if std::fs::symlink_metadata(&path).is_err() {
            std::os::unix::fs::symlink(target, &path).expect("plant");
        }
    }
    std::fs::create_dir(folder.join("real")).unwrap();
    std::fs::write(folder.join("real/note.txt"), "inside").unwrap();

    for key in ["escape/etc/passwd", "passwd", "escape/etc/hostname"] {
        refused(
            server.client.get_object("shared", key).await,
            Code::NotFound,
            "NoSuchKey",
        );
    }
    // Listing reads the object index: the file is there once the watcher
    // saw it, and the links never are.
    funnel_tests::eventually("the file is indexed", || async {
        (!listed(&server, "shared").await.is_empty()).then_some(())
    })
    .await;
    assert_eq!(listed(&server, "shared").await, vec!["real/note.txt"]);
    // Writing through the link is refused; deleting through it removes
    // nothing.
    let err = refused(
        server
            .client
            .put_object("shared", "escape/tmp/funnel-planted", b"x".to_vec())
            .await,
        Code::InvalidArgument,
        "InvalidArgument",
    );
    assert!(err.message.contains("symlink"), "{err}");
    server
        .client
        .delete_object("shared", "passwd")
        .await
        .expect("a missing key deletes as S3's does");
    assert!(std::fs::symlink_metadata(folder.join("passwd")).is_ok());
    assert!(std::path::Path::new("/etc/passwd").exists());
    let object = server
        .client
        .get_object("shared", "real/note.txt")
        .await
        .expect("a real object still reads");
    assert_eq!(object.body, b"inside");
    server.stop().await;
}

/// The compiled-code files in a data dir.
fn compiled(data: &std::path::Path) -> std::collections::BTreeSet<std::path::PathBuf> {
    std::fs::read_dir(data.join("compiled"))
        .expect("the compiled-code cache")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

#[tokio::test]
async fn a_planted_cwasm_is_refused_and_recompiled() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(funnel_tests::test_config(data.path())).await;
    server.create("hello", guests::HELLO).await;
    let hello = compiled(data.path());
    server.create("echo", guests::ECHO).await;
    let both = compiled(data.path());
    server.stop().await;
    let hello: Vec<_> = hello.into_iter().collect();
    let echo: Vec<_> = both
        .difference(&hello.iter().cloned().collect())
        .cloned()
        .collect();
    let ([hello], [echo]) = (hello.as_slice(), echo.as_slice()) else {
        panic!("one compiled file per function: {both:?}");
    };

    // Native code compiled by this install, but for another function, put
    // under hello's name; then a bare wasmtime artifact with no MAC.
    std::fs::copy(echo, hello).expect("plant");
    let again = start_server_with(funnel_tests::test_config(data.path())).await;
    assert_eq!(again.startup_cache.misses, 1, "{:?}", again.startup_cache);
    let out = again.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(
        funnel_tests::json_of(&out),
        serde_json::json!({"message": "Hello, Ada!"})
    );
    again.stop().await;

    let written = std::fs::read(hello).expect("recompiled and written again");
    let bare = &written[40..];
    std::fs::write(hello, bare).expect("plant");
    let again = start_server_with(funnel_tests::test_config(data.path())).await;
    assert_eq!(again.startup_cache.misses, 1, "{:?}", again.startup_cache);
    let out = again.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(
        funnel_tests::json_of(&out),
        serde_json::json!({"message": "Hello, Ada!"})
    );
    again.stop().await;
    // What was recompiled loads on the next start.
    let again = start_server_with(funnel_tests::test_config(data.path())).await;
    assert_eq!(again.startup_cache.misses, 0, "{:?}", again.startup_cache);
    again.stop().await;
}
