//! `funnel record …` (recordings of the events reaching functions) and
//! `funnel replay …` (sending them again, comparing two recordings).

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use funnel_client::{Client, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Trigger {
    S3,
    Sns,
    Schedule,
    Invoke,
    Http,
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Start recording every event that reaches the functions (all of
    /// the account's when no --function is given) by the triggers (all
    /// when none is given), with its outcome.
    Start {
        name: String,
        #[arg(long = "function")]
        functions: Vec<String>,
        #[arg(long = "trigger", value_enum)]
        triggers: Vec<Trigger>,
        /// Stop (as full) before holding more events (default 10000).
        #[arg(long)]
        max_events: Option<u64>,
        /// Stop (as full) before holding more payload and response bytes
        /// (default 16 MiB).
        #[arg(long)]
        max_bytes: Option<u64>,
    },
    /// Stop a recording: it keeps what it has.
    Stop { name: String },
    /// List the account's recordings.
    List,
    /// A recording and its first events (no payloads: export has them).
    Show {
        name: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write a recording as JSON Lines (one event per line) to stdout.
    Export { name: String },
    /// Make a new recording from a JSON Lines file (`-` for stdin).
    Import {
        file: String,
        #[arg(long)]
        name: String,
    },
    /// Delete a recording and its events.
    Delete { name: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Timing {
    /// The recorded spacing, on the real clock (divided by --speed).
    Original,
    /// As fast as --concurrency allows.
    Fast,
    /// On a virtual-clock server: the clock moves to each event's time.
    Virtual,
}

/// `funnel replay NAME --to FUNCTION[:QUALIFIER]`, or `funnel replay diff A B`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReplayArgs {
    #[command(subcommand)]
    pub command: Option<ReplayCommand>,
    /// The recording to replay.
    #[arg(required = true)]
    pub name: Option<String>,
    /// The target: FUNCTION or FUNCTION:QUALIFIER.
    #[arg(long, required = true)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "fast")]
    pub timing: Timing,
    /// How many times faster than recorded (original, virtual).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Sync events in flight at once (fast).
    #[arg(long, default_value_t = 1)]
    pub concurrency: u32,
    /// The new recording's name (default NAME-replay-N).
    #[arg(long = "as")]
    pub as_name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Compare two recordings event by event, with a summary.
    Diff { a: String, b: String },
}

fn view(recording: &proto::Recording) -> Value {
    json!({
        "Name": recording.name,
        "FunctionNames": recording.function_names,
        "Triggers": recording.triggers,
        "State": recording.state,
        "Started": recording.started,
        "Stopped": recording.stopped,
        "Events": recording.events,
        "Bytes": recording.bytes,
        "MaxEvents": recording.max_events,
        "MaxBytes": recording.max_bytes,
        "Origin": recording.origin,
    })
}

pub async fn record(client: &Client, command: RecordCommand) -> anyhow::Result<()> {
    match command {
        RecordCommand::Start {
            name,
            functions,
            triggers,
            max_events,
            max_bytes,
        } => {
            let recording = client
                .start_recording(proto::StartRecordingRequest {
                    name,
                    function_names: functions,
                    triggers: triggers
                        .iter()
                        .filter_map(|t| t.to_possible_value())
                        .map(|v| v.get_name().to_string())
                        .collect(),
                    max_events: max_events.unwrap_or_default(),
                    max_bytes: max_bytes.unwrap_or_default(),
                })
                .await?;
            print_json(&view(&recording))
        }
        RecordCommand::Stop { name } => print_json(&view(&client.stop_recording(&name).await?)),
        RecordCommand::List => {
            let recordings = client.list_recordings().await?;
            print_json(&json!({ "Recordings": recordings.iter().map(view).collect::<Vec<_>>() }))
        }
        RecordCommand::Show { name, limit } => {
            let (recording, lines) = client.export_recording(&name, Some(limit)).await?;
            print!("{}", show(&recording, &lines));
            Ok(())
        }
        RecordCommand::Export { name } => {
            let (_, lines) = client.export_recording(&name, None).await?;
            let mut out = std::io::stdout().lock();
            for line in lines {
                writeln!(out, "{line}")?;
            }
            Ok(())
        }
        RecordCommand::Import { file, name } => {
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading stdin")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?
            };
            let lines = text.lines().map(str::to_string).collect();
            print_json(&view(&client.import_recording(&name, lines).await?))
        }
        RecordCommand::Delete { name } => {
            client.delete_recording(&name).await?;
            Ok(())
        }
    }
}

/// `record show`: the recording, then one row per event.
fn show(recording: &proto::Recording, lines: &[String]) -> String {
    let or_all = |list: &[String]| {
        if list.is_empty() {
            "all".to_string()
        } else {
            list.join(",")
        }
    };
    let mut out = format!(
        "{}: {}, {} events, {} bytes; functions {}, triggers {}; started {}{}{}\n",
        recording.name,
        recording.state,
        recording.events,
        recording.bytes,
        or_all(&recording.function_names),
        or_all(&recording.triggers),
        recording.started,
        if recording.stopped.is_empty() {
            String::new()
        } else {
            format!(", stopped {}", recording.stopped)
        },
        if recording.origin.is_empty() {
            String::new()
        } else {
            format!(" ({})", recording.origin)
        },
    );
    out.push_str(&format!(
        "{:>5}  {:<24}  {:<8}  {:<15}  {:<16}  {:<9}  {:<24}  {:>10}  {:<4}  {}\n",
        "SEQ",
        "TIME",
        "DOOR",
        "INVOCATION",
        "FUNCTION",
        "STATUS",
        "ERROR",
        "DURATION",
        "COLD",
        "ATTEMPTS"
    ));
    for line in lines {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let text = |field: &str| event[field].as_str().unwrap_or_default().to_string();
        let function = match text("qualifier").as_str() {
            "" => text("function"),
            q => format!("{}:{q}", text("function")),
        };
        out.push_str(&format!(
            "{:>5}  {:<24}  {:<8}  {:<15}  {:<16}  {:<9}  {:<24}  {:>10}  {:<4}  {}\n",
            event["seq"].as_u64().unwrap_or_default(),
            text("time"),
            text("door"),
            text("invocation"),
            function,
            text("status"),
            text("error_type"),
            format!(
                "{:.2} ms",
                event["duration_ms"].as_f64().unwrap_or_default()
            ),
            if event["cold"].as_bool().unwrap_or_default() {
                "yes"
            } else {
                "no"
            },
            event["attempts"].as_u64().unwrap_or_default(),
        ));
    }
    out
}

pub async fn replay(client: &Client, args: ReplayArgs) -> anyhow::Result<()> {
    if let Some(ReplayCommand::Diff { a, b }) = args.command {
        let parse = |lines: Vec<String>| -> anyhow::Result<Vec<Value>> {
            lines
                .iter()
                .map(|l| serde_json::from_str(l).context("a recording's line is not JSON"))
                .collect()
        };
        let (_, left) = client.export_recording(&a, None).await?;
        let (_, right) = client.export_recording(&b, None).await?;
        let (left, right) = (parse(left)?, parse(right)?);
        print!("{}", super::diff::report((&a, &left), (&b, &right)));
        return Ok(());
    }
    let (Some(name), Some(to)) = (args.name, args.to) else {
        anyhow::bail!("funnel replay NAME --to FUNCTION[:QUALIFIER], or funnel replay diff A B");
    };
    // An ARN holds colons of its own: the server splits it.
    let (function_name, qualifier) = match to.split_once(':') {
        Some((function, qualifier)) if !to.starts_with("arn:") => {
            (function.to_string(), qualifier.to_string())
        }
        _ => (to, String::new()),
    };
    let timing = args
        .timing
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let recording = client
        .replay_recording(proto::ReplayRecordingRequest {
            name,
            function_name,
            qualifier,
            timing,
            speed: args.speed,
            concurrency: args.concurrency,
            r#as: args.as_name.unwrap_or_default(),
        })
        .await?;
    print_json(&view(&recording))
}
