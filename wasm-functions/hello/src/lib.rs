//! Reads `{"name": ...}`, prints a log line, returns a greeting.
use funnel_function::{Context, Error};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Request {
    name: String,
}

#[derive(Serialize)]
struct Response {
    message: String,
}

fn hello(event: Request, ctx: Context) -> Result<Response, Error> {
    println!(
        "hello: greeting {} ({} MB, request {})",
        event.name, ctx.memory_limit_in_mb, ctx.request_id
    );
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_string());
    Ok(Response {
        message: format!("{greeting}, {}!", event.name),
    })
}

funnel_function::handler!(hello);
