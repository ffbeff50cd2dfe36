//! The `funnel` binary's tests, in one test binary (one link of wasmtime,
//! not one per file): the real binary started as a user starts it, driven
//! through its CLI.
//!
//! - `usage`: usage errors and unreachable servers fail clearly.
//! - `up`: `funnel up` with the example stack, invoked from the CLI.
//! - `buckets`, `topics`, `rules`, `languages`: each door and each
//!   language from the command line, as the README shows them.
//! - `crash`: the async queue survives SIGKILL (every accepted event is
//!   delivered at least once).
//! - `admin`: a backup taken from the command line, restored into a new
//!   data dir that then serves.
//! - `chaos`: SIGKILL at random moments under mixed load, several times;
//!   nothing acknowledged is lost.
//! - `iam`: credentials found as the aws CLI finds them; `iam` and `sts`
//!   verbs.
//! - `aws`, `aws_lambda`, `aws_services`, `aws_s3`: the real aws CLI against
//!   the AWS-compatible endpoint (SigV4, Lambda, SNS, EventBridge, Logs, STS,
//!   S3).
//! - `aws_secrets`: Secrets Manager and Parameter Store through the
//!   endpoint, with the aws CLI.
//! - `aws_shapes`: the same boto3 calls against funnel and moto's server,
//!   their answers' shapes compared against a list of known differences.
//! - `image_pipeline`: the image-pipeline example, end to end (thumbnails,
//!   catalog, routes, failures, memory and decoder limits).
//! - `aws_cli`: the aws CLI pointed at one `funnel up`.
//! - `secret_access`: `--secret-access` grants and
//!   `function restart-environments`.
//! - `secrets`: `secretsmanager` and `ssm` verbs, and
//!   `admin rotate-master-key` on a stopped server's data dir.
//! - `recordings`: `record` and `replay` verbs against the example stack
//!   on a virtual clock (export/import byte for byte, the diff).
//! - `common`: starting `funnel up` and calling the CLI.

mod admin;
mod aws;
mod aws_cli;
mod aws_lambda;
mod aws_s3;
mod aws_secrets;
mod aws_services;
mod aws_shapes;
mod buckets;
mod chaos;
mod common;
mod crash;
mod faults;
mod http;
mod iam;
mod image_pipeline;
mod languages;
mod recordings;
mod rules;
mod secret_access;
mod secrets;
mod topics;
mod traces;
mod up;
mod usage;
