//! Compiles `funnel/v1/*.proto` with protox (pure Rust, no protoc on the
//! machine) and generates the tonic/prost code, plus the encoded descriptor
//! set that the server's reflection service publishes.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "funnel/v1/admin.proto",
        "funnel/v1/apis.proto",
        "funnel/v1/async.proto",
        "funnel/v1/buckets.proto",
        "funnel/v1/clock.proto",
        "funnel/v1/events.proto",
        "funnel/v1/faults.proto",
        "funnel/v1/functions.proto",
        "funnel/v1/iam.proto",
        "funnel/v1/layers.proto",
        "funnel/v1/logs.proto",
        "funnel/v1/metrics.proto",
        "funnel/v1/permissions.proto",
        "funnel/v1/recordings.proto",
        "funnel/v1/secrets.proto",
        "funnel/v1/ssm.proto",
        "funnel/v1/topics.proto",
        "funnel/v1/traces.proto",
        "funnel/v1/urls.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(protos, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("funnel_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
