//! Any gRPC client can find its way around a running server: health
//! checking (`grpc.health.v1`) and reflection list and describe the API.

use funnel_tests::start_server;
use prost::Message as _;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

async fn channel(endpoint: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(endpoint.to_string())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

#[tokio::test]
async fn health_reports_serving() {
    let server = start_server().await;
    let mut health = HealthClient::new(channel(&server.endpoint).await);
    for service in ["", "funnel.v1.Functions"] {
        let response = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("check")
            .into_inner();
        assert_eq!(
            response.status(),
            ServingStatus::Serving,
            "service {service:?}"
        );
    }
    server.stop().await;
}

async fn reflect(endpoint: &str, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(channel(endpoint).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection")
        .into_inner();
    let response: ServerReflectionResponse = responses
        .message()
        .await
        .expect("message")
        .expect("one response");
    response.message_response.expect("a response body")
}

#[tokio::test]
async fn reflection_lists_and_describes_the_api() {
    let server = start_server().await;
    let MessageResponse::ListServicesResponse(list) = reflect(
        &server.endpoint,
        MessageRequest::ListServices(String::new()),
    )
    .await
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"funnel.v1.Functions"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    assert!(names.contains(&"funnel.v1.Logs"), "{names:?}");
    assert!(names.contains(&"funnel.v1.Layers"), "{names:?}");
    assert!(names.contains(&"funnel.v1.AsyncInvocation"), "{names:?}");
    assert!(names.contains(&"funnel.v1.SecretsManager"), "{names:?}");
    assert!(names.contains(&"funnel.v1.Ssm"), "{names:?}");
    assert!(names.contains(&"funnel.v1.Recordings"), "{names:?}");

    let MessageResponse::FileDescriptorResponse(files) = reflect(
        &server.endpoint,
        MessageRequest::FileContainingSymbol("funnel.v1.Functions".into()),
    )
    .await
    else {
        panic!("expected a file descriptor");
    };
    let file = prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
        .expect("descriptor");
    assert_eq!(file.name(), "funnel/v1/functions.proto");
    let methods: Vec<_> = file.service[0].method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "CreateFunction",
            "GetFunction",
            "GetFunctionConfiguration",
            "ListFunctions",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "DeleteFunction",
            "PublishVersion",
            "ListVersionsByFunction",
            "CreateAlias",
            "GetAlias",
            "UpdateAlias",
            "DeleteAlias",
            "ListAliases",
            "PutFunctionConcurrency",
            "GetFunctionConcurrency",
            "DeleteFunctionConcurrency",
            "PutProvisionedConcurrencyConfig",
            "GetProvisionedConcurrencyConfig",
            "DeleteProvisionedConcurrencyConfig",
            "GetAccountSettings",
            "Invoke",
            "RestartEnvironments"
        ]
    );
    // Field names are Lambda's, as a client in any language sees them.
    let invoke = file
        .message_type
        .iter()
        .find(|m| m.name() == "InvokeRequest")
        .expect("InvokeRequest");
    let fields: Vec<_> = invoke.field.iter().map(|f| f.name()).collect();
    assert_eq!(
        fields,
        [
            "FunctionName",
            "InvocationType",
            "LogType",
            "ClientContext",
            "Payload",
            "Qualifier"
        ]
    );
    server.stop().await;
}
