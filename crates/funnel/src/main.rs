//! # funnel — the command line
//!
//! Parses the command line, starts tracing, then either serves (`up`: the
//! `funnel-server` library's `Server`) or makes client calls: every other
//! verb is a thin call of `funnel-client` over gRPC, and `build` packages a
//! folder with `funnel-build`.
//!
//! # Layout
//!
//! - [`cli`]: the verbs and their flags (clap), one module per API area.
//! - [`stack`]: `funnel.toml` stack files and idempotent deploys, made of
//!   the same client calls.

mod cli;
mod stack;

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use cli::{Cli, Command, ServeArgs};
use funnel_server::Server;

/// mimalloc: measured with `cargo run --release -p funnel-bench`, warm
/// invokes at c=32 went from 17.6k/s to 25.4-25.9k/s and durable async
/// accepts from 17.8k/s to 22.9k/s on a 2-core machine (the bench uses it
/// too, so its rows are what this binary does). Built without transparent
/// huge pages (the workspace's `no_thp`; why is written there).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FUNNEL_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(default_filter(&cli.command))
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Servers log their progress; client verbs only warn.
fn default_filter(command: &Command) -> &'static str {
    match command {
        Command::Serve(_) | Command::Up(_) => "info",
        _ => "warn",
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args, None).await,
        Command::Build(args) => tokio::task::spawn_blocking(move || args.run()).await?,
        Command::AwsProfile(args) => {
            eprintln!("{}", cli::aws_profile::write(args, cli.profile.as_deref())?);
            Ok(())
        }
        Command::Admin(cli::AdminCommand::Restore { from, data_dir }) => {
            cli::restore(from, data_dir).await
        }
        Command::Admin(cli::AdminCommand::RotateMasterKey {
            data_dir,
            master_key_file,
        }) => cli::rotate_master_key(data_dir, master_key_file).await,
        Command::Up(args) => {
            let stack = args.stack.is_file().then_some(args.stack);
            serve(args.serve, stack.as_deref()).await
        }
        command => {
            let target = cli::Target {
                endpoint: cli.endpoint.as_deref(),
                profile: cli.profile.as_deref(),
                ca_bundle: cli.ca_bundle.as_deref(),
            };
            cli::run_client(target, command).await
        }
    }
}

async fn serve(args: ServeArgs, stack: Option<&Path>) -> anyhow::Result<()> {
    let mut config = args.config();
    if let Some(stack) = stack {
        // The stack's buckets are folders next to it.
        let folder = match stack.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        config.buckets.roots.push(folder.to_path_buf());
    }
    config.check_listener(args.listen)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let http_listener = match args.http_listen {
        cli::HttpListen::Off => None,
        cli::HttpListen::At(addr) => {
            config.check_http_listener(addr)?;
            Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("listening for HTTP on {addr} (--http-listen; `off` for none)")
            })?)
        }
    };
    let aws_listener = match args.aws_listen {
        cli::HttpListen::Off => None,
        cli::HttpListen::At(addr) => {
            config.check_aws_listener(addr)?;
            Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("listening for AWS clients on {addr} (--aws-listen; `off` for none)")
            })?)
        }
    };
    let http_addr = http_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let aws_addr = aws_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let mut server = Server::open_with_clock(config, args.clock.clock()).await?;
    let scheme = if args.tls.is_some() || args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    if let Some(listener) = http_listener {
        server = server.with_http_listener(listener)?;
    }
    if let Some(listener) = aws_listener {
        server = server.with_aws_listener(listener)?;
    }
    let endpoint = server.endpoint(listener.local_addr()?);
    let credentials_file = server.write_credentials(listener.local_addr()?)?;
    let serving = tokio::spawn(server.serve(listener, shutdown_signal()));
    if let Some(stack) = stack {
        let deployed = async {
            let profile = funnel_client::Profile::read(&credentials_file, "default")
                .map_err(anyhow::Error::msg)?
                .unwrap_or_default();
            let client = funnel_client::Client::connect_profile(&endpoint, &profile).await?;
            stack::deploy(&client, stack).await
        };
        match deployed.await {
            Ok(changes) => {
                for (name, change) in changes {
                    tracing::info!(function = %name, %change, "deployed");
                }
            }
            Err(err) => {
                tracing::error!(stack = %stack.display(), cause = format!("{err:#}"), "deploy failed")
            }
        }
    }
    eprintln!(
        "funnel is up at {endpoint} (Ctrl-C to stop); the operator's credentials are in {}",
        args.data_dir
            .join(funnel_server::CREDENTIALS_FILE)
            .display()
    );
    if let Some(addr) = http_addr {
        eprintln!("function URLs are served at http://{addr}/url/<url-id>/");
        eprintln!(
            "routes are served at http://{addr}/ (funnel api get-routes, funnel api get-api)"
        );
    }
    if let Some(addr) = aws_addr {
        // The credentials file is the aws CLI's INI shape: it reads it as is.
        eprintln!(
            "for the aws CLI and SDKs: export AWS_ENDPOINT_URL={scheme}://{addr} \
             AWS_SHARED_CREDENTIALS_FILE={} AWS_DEFAULT_REGION=local",
            credentials_file.display()
        );
    }
    serving.await.context("server task")?
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(term) => term,
            Err(err) => {
                tracing::warn!(cause = %err, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
