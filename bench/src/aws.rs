//! The AWS endpoint rows: `Invoke` of `echo` through the AWS-compatible
//! endpoint — each request signed with SigV4 by the `aws-sigv4` crate, a
//! fresh signature per request as boto3 makes them, one keep-alive
//! HTTP/1.1 connection per worker — against gRPC `Invoke` of the same
//! function by the same user, in the same run: c=32 throughput and c=1 p50.

use std::time::SystemTime;

use bytes::Bytes;
use funnel_client::Credentials;
use funnel_tests::{guests, test_config};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;

use crate::{CONCURRENCY, CONNECTIONS, LATENCY_CALLS, Latency, latency, throughput};

pub struct AwsRows {
    pub grpc_rate: f64,
    pub aws_rate: f64,
    pub grpc: Latency,
    pub aws: Latency,
}

/// Signs and sends one Invoke; checks the answer.
struct Signer {
    credentials: aws_credential_types::Credentials,
    addr: std::net::SocketAddr,
}

impl Signer {
    fn request(&self) -> http::Request<Full<Bytes>> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let host = self.addr.to_string();
        let path = "/2015-03-31/functions/echo/invocations";
        let url = format!("http://{host}{path}");
        let identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("local")
            .name("lambda")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/json"),
        ];
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(crate::PAYLOAD),
        )
        .expect("a signable request");
        let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(path)
            .header("host", &host)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(crate::PAYLOAD)))
            .expect("a request");
        instructions.apply_to_request_http1x(&mut request);
        request
    }

    async fn invoke(&self, sender: &mut SendRequest<Full<Bytes>>) {
        let request = self.request();
        sender.ready().await.expect("the connection stays open");
        let response = sender.send_request(request).await.expect("an answer");
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        assert_eq!(status, 200, "{body:?}");
        assert!(!function_error, "{body:?}");
    }
}

pub async fn measure() -> anyhow::Result<AwsRows> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path());
    config.runtime.max_instances = 64;
    let server = crate::start_server(config).await;
    server.create("echo", guests::ECHO).await;
    let clients = crate::member_clients(&server).await?;
    let member: Credentials = server.member("bench-aws", "FunnelFullAccess").await;
    let signer = std::sync::Arc::new(Signer {
        credentials: aws_credential_types::Credentials::new(
            member.access_key_id,
            member.secret_access_key,
            None,
            None,
            "bench",
        ),
        addr: server.aws,
    });

    let grpc = latency(LATENCY_CALLS, || crate::invoke(&clients[0])).await;
    let aws = {
        let mut sender = crate::http::connect(server.aws).await;
        let sender = &mut sender;
        let signer = signer.clone();
        let mut samples = Vec::with_capacity(LATENCY_CALLS);
        for i in 0..LATENCY_CALLS + LATENCY_CALLS / 10 {
            let started = std::time::Instant::now();
            signer.invoke(sender).await;
            if i >= LATENCY_CALLS / 10 {
                samples.push(started.elapsed());
            }
        }
        crate::percentiles(samples)
    };
    let grpc_rate = throughput(move |w| {
        let c = clients[w % CONNECTIONS].clone();
        async move { crate::invoke(&c).await }
    })
    .await;
    // One connection per worker, made before the clock starts.
    let mut senders = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        senders.push(tokio::sync::Mutex::new(
            crate::http::connect(server.aws).await,
        ));
    }
    let senders = std::sync::Arc::new(senders);
    let aws_rate = throughput(move |w| {
        let (senders, signer) = (senders.clone(), signer.clone());
        async move {
            let mut sender = senders[w].lock().await;
            signer.invoke(&mut sender).await;
        }
    })
    .await;
    server.stop().await;
    Ok(AwsRows {
        grpc_rate,
        aws_rate,
        grpc,
        aws,
    })
}

pub(crate) fn rows(a: &AwsRows) -> Vec<crate::Row> {
    vec![
        crate::Row {
            name: "AWS endpoint Invoke (SigV4, HTTP/1.1), c=32",
            value: format!("{:.0}/s", a.aws_rate),
            baseline_name: "gRPC Invoke, c=32",
            baseline: format!("{:.0}/s", a.grpc_rate),
            ratio: a.aws_rate / a.grpc_rate,
            target: "≥ 0.7×",
        },
        crate::Row {
            name: "AWS endpoint Invoke p50, c=1",
            value: crate::us(a.aws.p50),
            baseline_name: "gRPC Invoke p50, c=1",
            baseline: crate::us(a.grpc.p50),
            ratio: a.aws.p50.as_secs_f64() / a.grpc.p50.as_secs_f64(),
            target: "",
        },
    ]
}
