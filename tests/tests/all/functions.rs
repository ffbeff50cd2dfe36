//! The function control plane over gRPC: create, get, list, update, delete,
//! and every validation error with its AWS name.

use funnel_client::{Code, proto};
use funnel_tests::guests;
use funnel_tests::{create_request, guest, start_server};

fn error_type(err: &funnel_client::Error) -> &str {
    err.error_type.as_deref().unwrap_or("<none>")
}

#[tokio::test]
async fn create_get_list_update_delete() {
    let server = start_server().await;
    let client = &server.client;

    let mut request = create_request("hello", guest(guests::HELLO));
    request.description = "greets".into();
    request.memory_size = Some(256);
    request.timeout = Some(10);
    request.environment = Some(proto::Environment {
        variables: [("GREETING".to_string(), "Hi".to_string())].into(),
    });
    let created = client.create_function(request).await.expect("create");
    assert_eq!(created.function_name, "hello");
    assert_eq!(
        created.function_arn,
        "arn:funnel:lambda:local:000000000000:function:hello"
    );
    assert_eq!((created.memory_size, created.timeout), (256, 10));
    assert_eq!(created.version, "$LATEST");
    assert_eq!(created.state, "Active");
    assert_eq!(created.code_size as usize, guest(guests::HELLO).len());
    // Base64 of a SHA-256 is 44 characters, as Lambda reports CodeSha256.
    assert_eq!(created.code_sha256.len(), 44);
    assert!(
        created.last_modified.ends_with("+0000"),
        "{}",
        created.last_modified
    );

    let fetched = client.get_function("hello").await.expect("get");
    assert_eq!(fetched.configuration.as_ref(), Some(&created));
    // A function ARN names the same function.
    let by_arn = client
        .get_function(&created.function_arn)
        .await
        .expect("get by ARN");
    assert_eq!(by_arn.configuration.as_ref(), Some(&created));

    // Defaults as Lambda's: 128 MB, 3 s.
    let echo = server.create("echo", guests::ECHO).await;
    assert_eq!((echo.memory_size, echo.timeout), (128, 3));

    let listed = client.list_all_functions().await.expect("list");
    let names: Vec<_> = listed.iter().map(|f| f.function_name.as_str()).collect();
    assert_eq!(names, ["echo", "hello"]);

    let updated = client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "hello".into(),
            memory_size: Some(512),
            ..Default::default()
        })
        .await
        .expect("update configuration");
    assert_eq!(updated.memory_size, 512);
    assert_eq!(updated.timeout, 10, "fields not given keep their value");
    assert_eq!(updated.description, "greets");

    let recoded = client
        .update_function_code("hello", guest(guests::ECHO))
        .await
        .expect("update code");
    assert_eq!(recoded.code_sha256, echo.code_sha256);
    assert_ne!(recoded.code_sha256, created.code_sha256);
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(
        funnel_tests::json_of(&out),
        serde_json::json!({"name": "Ada"}),
        "new code runs"
    );

    client.delete_function("hello").await.expect("delete");
    let err = client.get_function("hello").await.unwrap_err();
    assert_eq!(error_type(&err), "ResourceNotFoundException");
    assert_eq!(err.code, Code::NotFound);
    // echo shares the code hello had last; deleting hello must not break it.
    let out = server.invoke("echo", r#"{"still":"here"}"#).await;
    assert_eq!(
        funnel_tests::json_of(&out),
        serde_json::json!({"still": "here"})
    );
    server.stop().await;
}

#[tokio::test]
async fn list_pages_with_markers() {
    let server = start_server().await;
    let code = guest(guests::ECHO);
    for i in 0..5 {
        server
            .client
            .create_function(create_request(&format!("f{i}"), code.clone()))
            .await
            .expect("create");
    }
    let mut seen = Vec::new();
    let mut marker = String::new();
    let mut pages = 0;
    loop {
        let page = server
            .client
            .list_functions(&marker, Some(2))
            .await
            .expect("page");
        pages += 1;
        assert!(page.functions.len() <= 2);
        seen.extend(page.functions.into_iter().map(|f| f.function_name));
        if page.next_marker.is_empty() {
            break;
        }
        marker = page.next_marker;
    }
    assert_eq!(seen, ["f0", "f1", "f2", "f3", "f4"]);
    assert_eq!(pages, 3);
    let err = server.client.list_functions("", Some(0)).await.unwrap_err();
    assert_eq!(error_type(&err), "InvalidParameterValueException");
    server.stop().await;
}

#[tokio::test]
async fn bad_code_is_refused_with_a_reason() {
    let server = start_server().await;
    // The smallest valid core module: magic + version 1.
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "garbage",
            b"definitely not wasm".to_vec(),
            "not WebAssembly",
        ),
        ("empty", Vec::new(), "empty"),
        (
            "core",
            core_module,
            "core WebAssembly module, not a component",
        ),
        (
            "wrong",
            guest(guests::WRONG_WORLD),
            "exports neither the funnel:function/handler world",
        ),
    ];
    for (name, code, why) in cases {
        let err = server
            .client
            .create_function(create_request(name, code))
            .await
            .expect_err(name);
        assert_eq!(
            error_type(&err),
            "InvalidParameterValueException",
            "{name}: {err}"
        );
        assert_eq!(err.code, Code::InvalidArgument);
        assert!(err.message.contains(why), "{name}: {err}");
        let missing = server.client.get_function(name).await.unwrap_err();
        assert_eq!(
            error_type(&missing),
            "ResourceNotFoundException",
            "nothing was stored for {name}"
        );
    }
    // Code updates are checked the same way.
    server.create("echo", guests::ECHO).await;
    let err = server
        .client
        .update_function_code("echo", guest(guests::WRONG_WORLD))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "InvalidParameterValueException");
    let out = server.invoke("echo", "[1]").await;
    assert_eq!(
        funnel_tests::json_of(&out),
        serde_json::json!([1]),
        "the old code still runs"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_parameters_get_lambdas_error_names() {
    let server = start_server().await;
    let client = &server.client;
    let code = guest(guests::ECHO);

    for bad in ["", "has space", "dots.not.allowed", &"x".repeat(65)] {
        let err = client
            .create_function(create_request(bad, code.clone()))
            .await
            .unwrap_err();
        assert_eq!(
            error_type(&err),
            "InvalidParameterValueException",
            "name {bad:?}"
        );
        assert!(err.message.contains("FunctionName"), "{err}");
    }
    for memory in [0, 127, 10_241, -1] {
        let mut request = create_request("f", code.clone());
        request.memory_size = Some(memory);
        let err = client.create_function(request).await.unwrap_err();
        assert_eq!(
            error_type(&err),
            "InvalidParameterValueException",
            "memory {memory}"
        );
        assert!(err.message.contains("MemorySize"), "{err}");
    }
    for timeout in [0, 901] {
        let mut request = create_request("f", code.clone());
        request.timeout = Some(timeout);
        let err = client.create_function(request).await.unwrap_err();
        assert_eq!(
            error_type(&err),
            "InvalidParameterValueException",
            "timeout {timeout}"
        );
        assert!(err.message.contains("Timeout"), "{err}");
    }
    let mut request = create_request("f", code.clone());
    request.environment = Some(proto::Environment {
        variables: [("AWS_REGION".to_string(), "x".to_string())].into(),
    });
    let err = client.create_function(request).await.unwrap_err();
    assert_eq!(error_type(&err), "InvalidParameterValueException");

    // The edges of the ranges are accepted.
    let mut request = create_request("edges", code.clone());
    request.memory_size = Some(128);
    request.timeout = Some(900);
    client
        .create_function(request)
        .await
        .expect("edges are valid");

    let err = client
        .create_function(create_request("edges", code.clone()))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "ResourceConflictException");
    assert_eq!(err.code, Code::AlreadyExists);

    for unknown in ["nope", "arn:funnel:lambda:local:000000000000:function:nope"] {
        let err = client.get_function(unknown).await.unwrap_err();
        assert_eq!(error_type(&err), "ResourceNotFoundException");
        assert!(err.message.contains("function:nope"), "{err}");
    }
    let err = client
        .update_function_code("nope", code.clone())
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "ResourceNotFoundException");
    let err = client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "nope".into(),
            timeout: Some(5),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "ResourceNotFoundException");
    let err = client.delete_function("nope").await.unwrap_err();
    assert_eq!(error_type(&err), "ResourceNotFoundException");
    let err = client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "edges".into(),
            memory_size: Some(99_999),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "InvalidParameterValueException");
    server.stop().await;
}
