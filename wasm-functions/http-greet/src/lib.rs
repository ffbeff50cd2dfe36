//! An HTTP JSON handler for a route like `GET /hello/{name}`: greets
//! `pathParameters.name` in plain text, with the SDK's typed 2.0 request
//! and response.
use funnel_function::http::{HttpRequest, HttpResponse};
use funnel_function::{Context, Error};

fn greet(request: HttpRequest, _ctx: Context) -> Result<HttpResponse, Error> {
    let name = request.path_parameter("name").unwrap_or("world");
    Ok(HttpResponse::text(200, format!("Hello, {name}!")))
}

funnel_function::handler!(greet);
