//! The actix application: routes, the GraphQL endpoint's HTTP rules, request ids, security
//! headers, CORS, health and metrics. It knows no SQL and no rules.
//!
//! The stock GraphQL integration is not used for `/graphql`, because it parses before it
//! checks: here the body is capped before parsing (413), only `application/json` is accepted
//! (415), batches are refused (400), and a mutation over GET is refused before anything runs
//! (405).

use crate::auth;
use crate::cases::CaseFilter;
use crate::graphql::{AppSchema, Loaders, RequestContext};
use crate::state::AppState;
use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{App, Error, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use async_graphql::http::WebSocketProtocols;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use tracing::Instrument;

/// The request id of a request (accepted from `X-Request-Id` when well-formed, else new).
#[derive(Clone)]
pub struct RequestId(pub String);

fn acceptable_request_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Request ids, a tracing span per request, security headers, `no-store`, and metrics.
async fn surround(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(auth::random_bytes(8)));
    req.extensions_mut().insert(RequestId(id.clone()));
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<Arc<AppState>>>().cloned();
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %path);
    let mut res = next.call(req).instrument(span.clone()).await?;
    let h = res.headers_mut();
    h.insert(
        header::HeaderName::from_static("x-request-id"),
        HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("invalid")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if path != "/graphiql" && !path.starts_with("/graphiql/") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let status = res.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(state) = state {
        state.metrics.observe(&path, status, elapsed);
    }
    span.in_scope(|| tracing::info!(status, elapsed_ms = elapsed * 1000.0, "done"));
    Ok(res)
}

/// A domain error as the body of a plain HTTP route: the same `errors` shape, code and field
/// as a GraphQL answer.
fn app_error_body(e: &crate::error::AppError) -> HttpResponse {
    let status = match e.code() {
        "BAD_USER_INPUT" => StatusCode::BAD_REQUEST,
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        // The persisted-query protocol answers "not found" as a GraphQL error, with 200.
        "PERSISTED_QUERY_NOT_FOUND" => StatusCode::OK,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut extensions = serde_json::json!({ "code": e.code() });
    if let crate::error::AppError::BadInput { field, .. } = e {
        extensions["field"] = serde_json::Value::String(field.clone());
    }
    HttpResponse::build(status)
        .content_type("application/json")
        .json(serde_json::json!({
            "errors": [{ "message": e.message(), "extensions": extensions }]
        }))
}

fn error_body(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .json(serde_json::json!({
            "errors": [{ "message": message, "extensions": { "code": code } }]
        }))
}

/// Which media type the client accepts for a GraphQL response.
fn negotiate(req: &HttpRequest) -> Option<&'static str> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.trim().is_empty() {
        return Some("application/json");
    }
    let types: Vec<String> = accept
        .split(',')
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    if types
        .iter()
        .any(|t| t == "application/graphql-response+json")
    {
        Some("application/graphql-response+json")
    } else if types
        .iter()
        .any(|t| t == "application/json" || t == "*/*" || t == "application/*")
    {
        Some("application/json")
    } else {
        None
    }
}

/// The signed-in viewer of a request: `Ok(None)` without a valid token. A database that
/// cannot answer is an error, never "signed out": a client told UNAUTHENTICATED would throw
/// away a token that is still good.
async fn viewer_of(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<crate::access::Viewer>, crate::error::AppError> {
    let Some(token) = bearer(req) else {
        return Ok(None);
    };
    match auth::resolve_viewer(
        &state.db,
        &state.directory,
        &state.auth,
        &state.clock,
        &token,
    )
    .await
    {
        Ok(v) => Ok(v.map(|(viewer, _)| viewer)),
        Err(e) => {
            tracing::error!(
                error = e.message_for_operator(),
                code = e.code(),
                "could not resolve the viewer"
            );
            Err(e)
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    Some(token.to_string())
}

/// The checks every operation passes before it runs, over HTTP and WebSocket alike: no text
/// with a NUL character (PostgreSQL cannot store it, SQLite would store it silently) — in the
/// variables, naming the field, or written into the query — and at most one field that checks
/// credentials.
fn edge_refusal(gql: &mut async_graphql::Request) -> Option<crate::error::AppError> {
    use crate::error::bad_input;
    let nul = "text may not contain NUL characters";
    if let Some(path) = nul_in(
        &serde_json::to_value(&gql.variables).unwrap_or_default(),
        "",
    ) {
        return Some(bad_input(path, nul));
    }
    if gql.query.contains('\0') || gql.query.to_ascii_lowercase().contains("\\u0000") {
        return Some(bad_input("query", nul));
    }
    if gql
        .parsed_query()
        .is_ok_and(|doc| crate::graphql::credential_fields(doc) > 1)
    {
        return Some(bad_input(
            "query",
            "a request may sign in, sign up, refresh or change a password once, not several times",
        ));
    }
    None
}

/// Gives an operation its document once — kept, persisted or freshly parsed — and runs the
/// edge checks on it; a freshly parsed document is kept only once it has passed them.
fn prepare(
    documents: &crate::graphql::Documents,
    gql: &mut async_graphql::Request,
) -> Result<(), crate::error::AppError> {
    let fresh = documents.resolve(gql)?;
    if let Some(refused) = edge_refusal(gql) {
        return Err(refused);
    }
    if let Some(fresh) = fresh {
        documents.keep(fresh);
    }
    Ok(())
}

/// What a socket's operations run on: the schema, with fresh DataLoaders for every operation
/// (a socket's loaders would otherwise cache what a case looked like, and whether it was in
/// sight, for as long as the socket lives), and the edge checks of HTTP requests.
#[derive(Clone)]
struct SocketExecutor {
    schema: AppSchema,
    /// The pool the loaders read through (`AppState::pages`).
    pages: crate::state::Db,
    directory: Arc<crate::directory::Directory>,
    viewer: Arc<Mutex<Option<crate::access::Viewer>>>,
    documents: Arc<crate::graphql::Documents>,
}

impl SocketExecutor {
    fn fresh(&self, request: async_graphql::Request) -> async_graphql::Request {
        let viewer = self.viewer.lock().ok().and_then(|v| v.clone());
        request.data(Loaders::new(
            self.pages.clone(),
            self.directory.clone(),
            viewer.as_ref(),
        ))
    }
}

impl async_graphql::Executor for SocketExecutor {
    async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
        if let Err(refused) = prepare(&self.documents, &mut request) {
            return async_graphql::Response::from_errors(vec![refused_error(&refused)]);
        }
        self.schema.execute(self.fresh(request)).await
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<async_graphql::Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        if let Err(refused) = prepare(&self.documents, &mut request) {
            let response = async_graphql::Response::from_errors(vec![refused_error(&refused)]);
            return Box::pin(futures_util::stream::once(async move { response }));
        }
        self.schema
            .execute_stream_with_session_data(self.fresh(request), session_data.unwrap_or_default())
    }
}

fn refused_error(e: &crate::error::AppError) -> async_graphql::ServerError {
    crate::graphql::gql_error(e).into_server_error(async_graphql::Pos::default())
}

/// The longest error message a request error may carry back.
const ERROR_MESSAGE_MAX: usize = 200;

/// The path (`variables.input.title`, say) of the first string holding a NUL character.
fn nul_in(value: &serde_json::Value, path: &str) -> Option<String> {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => {
            // Mutations take one `input`: name the field inside it, as every other check does.
            Some(path.strip_prefix("input.").unwrap_or(path).to_string())
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| nul_in(v, &child(k))),
        _ => None,
    }
}

/// The answer to a request whose viewer could not be resolved: 503 SERVICE_UNAVAILABLE when
/// the database is out of reach, 500 INTERNAL otherwise, in the shape of every error.
fn viewer_failure(e: &crate::error::AppError) -> HttpResponse {
    if e.is_unavailable() {
        error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "the service is temporarily unavailable; try again shortly",
        )
    } else {
        error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error",
        )
    }
}

async fn execute(
    state: &Arc<AppState>,
    schemas: &Schemas,
    req: &HttpRequest,
    mut gql: async_graphql::Request,
    media: &'static str,
) -> HttpResponse {
    if let Err(refused) = prepare(&state.documents, &mut gql) {
        return app_error_body(&refused);
    }
    let viewer = match viewer_of(state, req).await {
        Ok(v) => v,
        Err(e) => return viewer_failure(&e),
    };
    // The standard introspection query is deeper and larger than any data query should be;
    // where introspection is on, an operation that reads nothing but the schema runs without
    // the data limits.
    let run = match &schemas.introspection {
        Some(open)
            if gql
                .parsed_query()
                .is_ok_and(crate::graphql::introspection_only) =>
        {
            Run::Open(open)
        }
        _ => Run::Checked(Box::new(cost_check(&mut gql))),
    };
    let client_addr = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let loaders = Loaders::new(
        state.pages.clone(),
        state.directory.clone(),
        viewer.as_ref(),
    );
    let gql = gql
        .data(RequestContext {
            viewer,
            client_addr,
        })
        .data(loaders);
    let mut response = match run {
        Run::Open(open) => open.execute(gql).await,
        Run::Checked(check) => {
            let checked = schemas.full.execute(*check).await;
            if checked.errors.is_empty() {
                let mut response = schemas.fast.execute(gql).await;
                response.extensions.extend(checked.extensions);
                response
            } else {
                checked
            }
        }
    };
    crate::graphql::code_limit_errors(&mut response.errors);
    // A request error (parse, validation) may quote the request; quote a short excerpt at most.
    for e in response.errors.iter_mut().filter(|e| e.path.is_empty()) {
        if e.message.chars().count() > ERROR_MESSAGE_MAX {
            e.message = e
                .message
                .chars()
                .take(ERROR_MESSAGE_MAX)
                .collect::<String>()
                + "…";
        }
    }
    for e in &response.errors {
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|v| v.to_string().trim_matches('"').to_string());
        state
            .metrics
            .count_error(code.as_deref().unwrap_or("GRAPHQL_VALIDATION"));
    }
    // A request error (it could not be parsed or validated: nothing ran) is a 400 for clients
    // that speak application/graphql-response+json; field errors keep 200.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if media == "application/graphql-response+json" && request_error {
        // Nothing ran, so there is no `data` entry at all (GraphQL over HTTP).
        return HttpResponse::BadRequest()
            .content_type(format!("{media}; charset=utf-8"))
            .json(serde_json::json!({ "errors": response.errors }));
    }
    HttpResponse::Ok()
        .content_type(format!("{media}; charset=utf-8"))
        .json(&response)
}

/// How an HTTP operation runs: one that reads nothing but the schema on the open schema, as
/// it is; any other checked on the full schema (this request) and then run on the fast one.
enum Run<'a> {
    Open(&'a AppSchema),
    Checked(Box<async_graphql::Request>),
}

/// The same operation as `gql`, to be checked on the full schema and not run.
fn cost_check(gql: &mut async_graphql::Request) -> async_graphql::Request {
    let mut check = async_graphql::Request::new(gql.query.clone())
        .variables(gql.variables.clone())
        .data(crate::graphql::cost::CostOnly);
    check.operation_name = gql.operation_name.clone();
    if let Ok(document) = gql.parsed_query() {
        check.set_parsed_query(document.clone());
    }
    check
}

/// Reads a request body within the size cap and the time allowed: a client that sends its
/// body a byte at a time gets 408 and its connection closed, instead of holding a worker.
async fn read_body(
    state: &AppState,
    mut payload: web::Payload,
) -> Result<web::Bytes, HttpResponse> {
    let limit = state.settings.body_limit;
    let allowed = std::time::Duration::from_millis(state.settings.body_timeout_ms);
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| {
                error_body(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "the body could not be read",
                )
            })?;
            if body.len() + chunk.len() > limit {
                return Err(error_body(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    &format!("the body is larger than {limit} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    match tokio::time::timeout(allowed, read).await {
        Ok(read) => read,
        Err(_) => {
            let mut res = error_body(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "the body took too long to arrive",
            );
            res.head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            Err(res)
        }
    }
}

async fn graphql_post(
    state: web::Data<Arc<AppState>>,
    schema: web::Data<Schemas>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as application/json",
        );
    }
    let Some(media) = negotiate(&req) else {
        return error_body(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "accept application/graphql-response+json or application/json",
        );
    };
    let body = match read_body(&state, payload).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the body is not valid JSON",
            );
        }
    };
    if value.is_array() {
        return error_body(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "batched requests are not supported",
        );
    }
    let gql: async_graphql::Request = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(_) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the body must be a GraphQL request object with a string `query`",
            );
        }
    };
    execute(&state, &schema, &req, gql, media).await
}

#[derive(serde::Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// Whether the operation a GET would run is a mutation (or a subscription): those are refused.
fn is_read_only(gql: &mut async_graphql::Request, operation_name: Option<&str>) -> bool {
    let Ok(doc) = gql.parsed_query() else {
        return true; // let execution report the syntax error
    };
    let ty = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    };
    !matches!(
        ty,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}

async fn graphql_get(
    state: web::Data<Arc<AppState>>,
    schema: web::Data<Schemas>,
    req: HttpRequest,
) -> HttpResponse {
    let Some(media) = negotiate(&req) else {
        return error_body(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "accept application/graphql-response+json or application/json",
        );
    };
    let params = match web::Query::<GetParams>::from_query(req.query_string()) {
        Ok(p) => p.into_inner(),
        Err(_) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "malformed query string",
            );
        }
    };
    let extensions = match params.extensions.as_deref().map(serde_json::from_str) {
        None => None,
        Some(Ok(serde_json::Value::Object(map))) => Some(map),
        Some(_) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "`extensions` is not a JSON object",
            );
        }
    };
    let persisted = extensions
        .as_ref()
        .is_some_and(|e| e.contains_key("persistedQuery"));
    // A persisted query may come by its hash alone.
    let query = match params.query {
        Some(query) => query,
        None if persisted => String::new(),
        None => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "a `query` parameter is required",
            );
        }
    };
    let mut gql = async_graphql::Request::new(query);
    for (key, value) in extensions.into_iter().flatten() {
        if let Ok(value) = async_graphql::Value::from_json(value) {
            gql.extensions.insert(key, value);
        }
    }
    if let Err(refused) = prepare(&state.documents, &mut gql) {
        return app_error_body(&refused);
    }
    if !is_read_only(&mut gql, params.operation_name.as_deref()) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .json(serde_json::json!({"errors": [{"message": "mutations are sent with POST", "extensions": {"code": "METHOD_NOT_ALLOWED"}}]}));
    }
    if let Some(name) = params.operation_name {
        gql = gql.operation_name(name);
    }
    if let Some(vars) = params.variables {
        match serde_json::from_str::<serde_json::Value>(&vars) {
            Ok(v) => gql = gql.variables(async_graphql::Variables::from_json(v)),
            Err(_) => {
                return error_body(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "`variables` is not valid JSON",
                );
            }
        }
    }
    execute(&state, &schema, &req, gql, media).await
}

/// The close code sent when a socket's access token expires or its token is refused.
const WS_UNAUTHORIZED: u16 = 4401;
const WS_FORBIDDEN: u16 = 4403;
/// graphql-transport-ws: no `connection_init` in time.
const WS_INIT_TIMEOUT: u16 = 4408;
/// How async-graphql reports a refused `connection_init`; we turn it into 4403.
const INIT_REFUSED: &str = "the connection_init payload carries no valid access token";

/// Whether a browser's `Origin` may open a socket: one from the CORS allowlist, or the
/// server's own. Clients that send no `Origin` (mobile apps, services) are not browsers.
fn origin_allowed(req: &HttpRequest, origins: &[String]) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if origins.iter().any(|o| o.trim() == origin) {
        return true;
    }
    let host = req.connection_info().host().to_string();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// `graphql-transport-ws` (and the older `graphql-ws`) at `/graphql/ws`. Authentication is
/// the `authorization: Bearer …` entry of the `connection_init` payload; a refused token
/// closes the socket with 4403, and the socket closes with 4401 when the token expires.
async fn graphql_ws(
    state: web::Data<Arc<AppState>>,
    schemas: web::Data<Schemas>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, Error> {
    if !origin_allowed(&req, &state.settings.cors_origins) {
        return Ok(error_body(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this origin may not open a socket",
        ));
    }
    let offered = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let protocol = offered
        .split(',')
        .map(str::trim)
        .find_map(|p| p.parse::<WebSocketProtocols>().ok())
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let (response, session, messages) =
        actix_ws::handle_with_protocols(&req, body, &[protocol.sec_websocket_protocol()])?;
    let client_addr = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let state = state.get_ref().clone();
    let schema = schemas.full.clone();
    actix_web::rt::spawn(run_socket(
        state,
        schema,
        protocol,
        session,
        messages,
        client_addr,
    ));
    Ok(response)
}

async fn run_socket(
    state: Arc<AppState>,
    schema: AppSchema,
    protocol: WebSocketProtocols,
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
    client_addr: String,
) {
    let expires: Arc<Mutex<Option<chrono::DateTime<chrono::Utc>>>> = Arc::default();
    let (to_engine, from_client) = tokio::sync::mpsc::unbounded_channel::<String>();
    let input = futures_util::stream::unfold(from_client, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    });
    let init_state = state.clone();
    let init_expires = expires.clone();
    // The token the socket signed in with: the session behind it is re-checked while the socket
    // lives, so revoking it (sign-out, deactivation, a new role or unit) ends the socket too.
    let token_slot: Arc<Mutex<Option<String>>> = Arc::default();
    let init_token = token_slot.clone();
    // The viewer the socket signed in as: its operations' loaders read through its scope, and
    // its subscriptions count against its account.
    let viewer_slot: Arc<Mutex<Option<crate::access::Viewer>>> = Arc::default();
    let init_viewer = viewer_slot.clone();
    let mut subscriptions = Subscriptions::default();
    let executor = SocketExecutor {
        schema,
        pages: state.pages.clone(),
        directory: state.directory.clone(),
        viewer: viewer_slot.clone(),
        documents: state.documents.clone(),
    };
    let engine = async_graphql::http::WebSocket::new(executor, input, protocol).on_connection_init(
        move |payload| async move {
            let token = ["authorization", "Authorization"]
                .iter()
                .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .unwrap_or_default()
                .to_string();
            let resolved = auth::resolve_viewer(
                &init_state.db,
                &init_state.directory,
                &init_state.auth,
                &init_state.clock,
                &token,
            )
            .await;
            let Ok(Some((viewer, expiry))) = resolved else {
                return Err(async_graphql::Error::new(INIT_REFUSED));
            };
            if let Ok(mut e) = init_expires.lock() {
                *e = Some(expiry);
            }
            if let Ok(mut t) = init_token.lock() {
                *t = Some(token.clone());
            }
            let mut data = async_graphql::Data::default();
            data.insert(Arc::new(crate::live::EventSight::default()));
            if let Ok(mut v) = init_viewer.lock() {
                *v = Some(viewer.clone());
            }
            data.insert(RequestContext {
                viewer: Some(viewer),
                client_addr,
            });

            Ok(data)
        },
    );
    let mut engine = Box::pin(engine);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    let mut ticks: u64 = 0;
    let opened = std::time::Instant::now();
    let init_timeout = std::time::Duration::from_millis(state.settings.ws_init_timeout_ms);
    let mut stopping = state.stopping.subscribe();
    let close = |code: u16, reason: &str| {
        Some(actix_ws::CloseReason {
            code: actix_ws::CloseCode::Other(code),
            description: Some(reason.to_string()),
        })
    };
    loop {
        tokio::select! {
            incoming = messages.next() => match incoming {
                Some(Ok(actix_ws::Message::Text(text))) => {
                    if !session_live(&state, &token_slot).await {
                        let _ = session.close(close(WS_UNAUTHORIZED, "the session has ended")).await;
                        subscriptions.release(&state);
                        return;
                    }
                    let user = viewer_slot.lock().ok().and_then(|v| v.as_ref().map(|v| v.user_id));
                    if let Some(refusal) = subscriptions.on_client(&state, user, &text) {
                        if session.text(refusal).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    if to_engine.send(text.to_string()).is_err() {
                        break;
                    }
                }
                Some(Ok(actix_ws::Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        subscriptions.release(&state);
                        return;
                    }
                }
                Some(Ok(actix_ws::Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            outgoing = engine.next() => match outgoing {
                Some(async_graphql::http::WsMessage::Text(text)) => {
                    subscriptions.on_server(&state, &text);
                    if session.text(text).await.is_err() {
                        break;
                    }
                }
                Some(async_graphql::http::WsMessage::Close(code, reason)) => {
                    let code = if reason == INIT_REFUSED { WS_FORBIDDEN } else { code };
                    let _ = session.close(close(code, &reason)).await;
                    subscriptions.release(&state);
                    return;
                }
                None => break,
            },
            _ = stopping.changed() => {
                let _ = session.close(Some(actix_ws::CloseReason {
                    code: actix_ws::CloseCode::Away,
                    description: Some("the server is stopping; reconnect shortly".into()),
                })).await;
                subscriptions.release(&state);
                return;
            }
            _ = tick.tick() => {
                ticks += 1;
                // graphql-transport-ws: a socket that never sends connection_init is closed.
                let initialised = token_slot.lock().ok().is_some_and(|t| t.is_some());
                if !initialised && opened.elapsed() > init_timeout {
                    let _ = session.close(close(WS_INIT_TIMEOUT, "connection initialisation timeout")).await;
                    subscriptions.release(&state);
                    return;
                }
                let mut expired = expires.lock().ok().and_then(|e| *e).is_some_and(|at| state.clock.now() > at);
                if !expired && ticks.is_multiple_of(10) {
                    expired = !session_live(&state, &token_slot).await;
                }
                if expired {
                    let _ = session.close(close(WS_UNAUTHORIZED, "the access token expired; reconnect with a fresh one")).await;
                    subscriptions.release(&state);
                    return;
                }
            }
        }
    }
    subscriptions.release(&state);
    let _ = session.close(None).await;
}

/// Subscriptions a socket may hold at once, and an account across all its sockets in this
/// process: each one re-reads every event, so their number multiplies the work of an event.
pub const SUBSCRIPTIONS_PER_SOCKET: usize = 20;
pub const SUBSCRIPTIONS_PER_ACCOUNT: usize = 50;

/// The subscriptions a socket holds, counted from the protocol messages that start and end
/// them (graphql-transport-ws `subscribe`/`complete`, the older `start`/`stop`).
#[derive(Default)]
struct Subscriptions {
    /// Each live subscription's id, and whether it was counted against the account (one sent
    /// before `connection_ack`, while the account is not known yet, is not).
    active: std::collections::HashMap<String, bool>,
    account: Option<i64>,
}

impl Subscriptions {
    /// Counts a client message; a subscription past a cap is refused here with an `error`
    /// message for its id (returned, to send), and never reaches the engine.
    fn on_client(&mut self, state: &AppState, user: Option<i64>, text: &str) -> Option<String> {
        let message: serde_json::Value = serde_json::from_str(text).ok()?;
        let id = message["id"].as_str()?.to_string();
        match message["type"].as_str()? {
            "subscribe" | "start" => {
                if self.active.contains_key(&id) {
                    return None; // the engine answers a duplicate id itself
                }
                let account_count = user.map(|u| state.subscription_count(u)).unwrap_or(0);
                let refusal = if self.active.len() >= SUBSCRIPTIONS_PER_SOCKET {
                    Some(format!(
                        "at most {SUBSCRIPTIONS_PER_SOCKET} subscriptions per socket"
                    ))
                } else if account_count >= SUBSCRIPTIONS_PER_ACCOUNT {
                    Some(format!(
                        "at most {SUBSCRIPTIONS_PER_ACCOUNT} subscriptions per account"
                    ))
                } else {
                    None
                };
                if let Some(why) = refusal {
                    return Some(
                        serde_json::json!({"id": id, "type": "error", "payload": [
                            {"message": why, "extensions": {"code": "RATE_LIMITED"}}]})
                        .to_string(),
                    );
                }
                if let Some(u) = user {
                    self.account = Some(u);
                    state.count_subscription(u, 1);
                }
                self.active.insert(id, user.is_some());
            }
            "complete" | "stop" => self.end(state, &id),
            _ => {}
        }
        None
    }

    /// Counts a server message: `complete` and `error` end a subscription.
    fn on_server(&mut self, state: &AppState, text: &str) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        if let (Some(id), Some("complete" | "error")) =
            (message["id"].as_str(), message["type"].as_str())
        {
            self.end(state, id);
        }
    }

    fn end(&mut self, state: &AppState, id: &str) {
        if self.active.remove(id) == Some(true)
            && let Some(u) = self.account
        {
            state.count_subscription(u, -1);
        }
    }

    /// Ends every subscription of a closing socket.
    fn release(&mut self, state: &AppState) {
        if let Some(u) = self.account {
            let counted = self.active.values().filter(|c| **c).count();
            state.count_subscription(u, -(counted as i64));
        }
        self.active.clear();
    }
}

/// The filter of `/export/cases.csv`, from its query string: the `cases` filter's own input
/// type (`CaseFilterInput`), its fields as parameters, lists comma-separated. One filter
/// type and one set of checks for both routes; refusals in the shape of every error.
fn export_filter(query: &str) -> Result<CaseFilter, crate::error::AppError> {
    use crate::error::bad_input;
    const LISTS: [&str; 4] = ["status", "category", "channel", "subject"];
    const FLAGS: [&str; 6] = [
        "overdue",
        "warning",
        "repeat",
        "group",
        "registeredLate",
        "urgent",
    ];
    const TEXTS: [&str; 7] = [
        "townshipId",
        "leadUnitId",
        "matterId",
        "receivedFrom",
        "receivedTo",
        "search",
        "deadline",
    ];
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| bad_input("filter", "malformed query string"))?
        .into_inner();
    let mut filter = serde_json::Map::new();
    for (name, value) in pairs {
        if value.contains('\0') {
            return Err(bad_input(name, "text may not contain NUL characters"));
        }
        let json = if LISTS.contains(&name.as_str()) {
            serde_json::Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| serde_json::Value::String(v.to_string()))
                    .collect(),
            )
        } else if FLAGS.contains(&name.as_str()) {
            match value.as_str() {
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                _ => return Err(bad_input(name, "write true or false")),
            }
        } else if TEXTS.contains(&name.as_str()) {
            serde_json::Value::String(value)
        } else {
            return Err(bad_input(name, "not a filter of the case list"));
        };
        if filter.insert(name.clone(), json).is_some() {
            return Err(bad_input(name, "given twice"));
        }
    }
    crate::graphql::case_filter(serde_json::Value::Object(filter))
}

/// A document rendered to PDF off the async threads, as an attachment-free inline answer
/// that no cache keeps (it carries personal data).
async fn pdf_response(view: crate::documents::DocumentView) -> HttpResponse {
    let id = view.row.id;
    match web::block(move || crate::documents::pdf(&view)).await {
        Ok(Ok(bytes)) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"document-{id}.pdf\""),
            ))
            .body(bytes),
        Ok(Err(e)) => app_error_body(&e),
        Err(_) => error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "the document could not be rendered",
        ),
    }
}

fn document_id(req: &HttpRequest) -> Option<i64> {
    req.match_info().get("id")?.parse().ok()
}

/// `GET /documents/{id}.pdf`: a document of a case the bearer may see. A petitioner opening
/// their own document records its delivery in the app.
async fn document_pdf(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    let viewer = match viewer_of(&state, &req).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return error_body(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "send a valid access token as Authorization: Bearer …",
            );
        }
        Err(e) => return viewer_failure(&e),
    };
    let not_found = || app_error_body(&crate::error::AppError::NotFound("document"));
    let Some(id) = document_id(&req) else {
        return not_found();
    };
    let view = match crate::documents::find_visible(&state.db, &viewer, id).await {
        Ok(Some((_, view))) => view,
        Ok(None) => return not_found(),
        Err(e) => return app_error_body(&e),
    };
    let caller = crate::workflow::Caller {
        db: &state.db,
        clock: &state.clock,
        viewer: &viewer,
        bus: &state.bus,
        idempotency: None,
    };
    if let Err(e) = crate::documents::opened_by_petitioner(&caller, &view).await {
        return app_error_body(&e);
    }
    pdf_response(view).await
}

/// `GET /public/documents/{id}.pdf` with the header `X-Query-Code`: a document of the case
/// the code opens, under the same per-address limit as `caseByQueryCode`.
async fn public_document_pdf(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    let not_found = || app_error_body(&crate::error::AppError::NotFound("document"));
    let Some(code) = req
        .headers()
        .get("x-query-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return error_body(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send the case's query code as the X-Query-Code header",
        );
    };
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    if let Err(e) = crate::documents::take_lookup(&state.db, &address, state.clock.now()).await {
        return app_error_body(&e);
    }
    let Some(id) = document_id(&req) else {
        return not_found();
    };
    let public = match crate::documents::by_code(&state.db, &code).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(),
        Err(e) => return app_error_body(&e),
    };
    match public.documents.into_iter().find(|d| d.row.id == id) {
        Some(view) => pdf_response(view).await,
        None => not_found(),
    }
}

/// The signed-in viewer of a plain route, or the response that refuses the request.
async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<crate::access::Viewer, HttpResponse> {
    match viewer_of(state, req).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(error_body(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send a valid access token as Authorization: Bearer …",
        )),
        Err(e) => Err(viewer_failure(&e)),
    }
}

/// The media type a part of an upload is sent as (the tus protocol's): never one a browser
/// sends without asking first, so no page of another origin can write to an upload.
const UPLOAD_PART_TYPE: &str = "application/offset+octet-stream";

/// `PATCH /uploads/{id}`: the next bytes of the caller's upload, sent from `Upload-Offset`.
/// The body is read as it streams, never past what the upload still lacks; if the connection
/// is cut midway, what arrived is kept and `HEAD` tells where to resume.
async fn upload_patch(
    state: web::Data<Arc<AppState>>,
    req: HttpRequest,
    mut body: web::Payload,
) -> HttpResponse {
    use futures_util::StreamExt;
    let viewer = match signed_in(&state, &req).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != UPLOAD_PART_TYPE {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "send the bytes as application/offset+octet-stream",
        );
    }
    let Some(offset) = req
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|o| *o >= 0)
    else {
        return app_error_body(&crate::error::bad_input(
            "Upload-Offset",
            "send the offset the bytes start at as Upload-Offset",
        ));
    };
    let id = req.match_info().get("id").unwrap_or_default().to_string();
    let upload = match crate::attachments::own_upload(&state.db, &viewer, &id).await {
        Ok(u) => u,
        Err(e) => return app_error_body(&e),
    };
    if offset != upload.received {
        return HttpResponse::Conflict()
            .insert_header(("Upload-Offset", upload.received.to_string()))
            .json(serde_json::json!({"errors": [{
                "message": format!("the upload is at offset {}; resume from there", upload.received),
                "extensions": {"code": "CONFLICT"}}]}));
    }
    let room = (upload.size - upload.received).max(0) as usize;
    let mut bytes = Vec::with_capacity(room.min(1 << 20));
    let mut cut = false;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                if bytes.len() + chunk.len() > room {
                    return app_error_body(&crate::error::bad_input(
                        "Upload-Offset",
                        "more bytes than the upload declared",
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    let received = bytes.len();
    let now = state.clock.now();
    match crate::attachments::receive(&state.db, &state.storage, &viewer, &id, offset, bytes, now)
        .await
    {
        Ok(now_at) => {
            if cut {
                tracing::info!(received, "upload cut off midway; kept what arrived");
            }
            HttpResponse::NoContent()
                .insert_header(("Upload-Offset", now_at.to_string()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Err(e) => app_error_body(&e),
    }
}

/// `HEAD /uploads/{id}`: where the caller's upload stands (`Upload-Offset`, `Upload-Length`).
async fn upload_head(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    let viewer = match signed_in(&state, &req).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let id = req.match_info().get("id").unwrap_or_default().to_string();
    match crate::attachments::own_upload(&state.db, &viewer, &id).await {
        Ok(u) => HttpResponse::Ok()
            .insert_header(("Upload-Offset", u.received.to_string()))
            .insert_header(("Upload-Length", u.size.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) => app_error_body(&e),
    }
}

/// `GET /attachments/{id}`: a file the bearer may see, as stored (a photo without its
/// metadata), never cached.
async fn attachment_get(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    let viewer = match signed_in(&state, &req).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let Some(id) = req
        .match_info()
        .get("id")
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return app_error_body(&crate::error::AppError::NotFound("attachment"));
    };
    match crate::attachments::content(&state.db, &state.storage, &viewer, id).await {
        Ok((row, bytes)) => HttpResponse::Ok()
            .content_type(row.content_type.as_str())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"attachment-{}\"", row.id),
            ))
            .body(bytes),
        Err(e) => app_error_body(&e),
    }
}

/// `GET /export/cases.csv`: the viewer's visible cases as CSV, with the `cases` filters,
/// authenticated by bearer token, streamed.
async fn export_cases(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    let viewer = match viewer_of(&state, &req).await {
        Ok(v) => v,
        Err(e) => return viewer_failure(&e),
    };
    let Some(viewer) = viewer else {
        return error_body(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send a valid access token as Authorization: Bearer …",
        );
    };
    let filter = match export_filter(req.query_string()).and_then(|f| {
        f.check_viewer(&viewer)?;
        Ok(f)
    }) {
        Ok(f) => f,
        Err(e) => return app_error_body(&e),
    };
    let body =
        crate::export::csv(state.get_ref().clone(), viewer, filter).map(|chunk| match chunk {
            Ok(text) => Ok::<_, Error>(web::Bytes::from(text)),
            Err(e) => {
                tracing::error!(error = e.message_for_operator(), "export failed midway");
                Err(actix_web::error::ErrorInternalServerError("export failed"))
            }
        });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"cases.csv\"",
        ))
        .streaming(body)
}

/// Whether the session a socket signed in with is still live (true before sign-in).
async fn session_live(state: &AppState, token_slot: &Mutex<Option<String>>) -> bool {
    let token = token_slot.lock().ok().and_then(|t| t.clone());
    match token {
        None => true,
        Some(t) => matches!(
            auth::resolve_viewer(&state.db, &state.directory, &state.auth, &state.clock, &t).await,
            Ok(Some(_))
        ),
    }
}

/// GraphiQL and everything it loads, built into the binary (pinned versions; see
/// `api/assets/graphiql/README.md`): the page works with no way out to the internet.
const GRAPHIQL_ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "xinfang-graphiql.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/xinfang-graphiql.js"),
    ),
];

/// What the GraphiQL page may load and reach: only this server (its styles are partly inline,
/// its fonts data: URLs).
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     font-src 'self' data:; img-src 'self' data:; connect-src 'self' ws: wss:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(include_str!("../assets/graphiql/index.html"))
}

async fn graphiql_asset(name: web::Path<String>) -> HttpResponse {
    match GRAPHIQL_ASSETS.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, content_type, bytes)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header((header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .body(*bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain")
            .body("no such file"),
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<Arc<AppState>>) -> HttpResponse {
    // A load balancer asks often and must hear within a second, database or not.
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), state.db.ping()).await;
    match ping.unwrap_or_else(|_| Err(sea_orm::DbErr::Custom("no answer within a second".into()))) {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "database unreachable");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unreachable")
        }
    }
}

fn pool_usage(state: &AppState) -> Option<(u32, usize)> {
    match state.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            Some((pool.size(), pool.num_idle()))
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            Some((pool.size(), pool.num_idle()))
        }
        _ => None,
    }
}

async fn metrics(state: web::Data<Arc<AppState>>) -> HttpResponse {
    let mut text = state
        .metrics
        .render(pool_usage(&state), state.statements.get());
    text.push_str(&state.directory.render());
    if let Some(replica) = &state.replica {
        text.push_str(&replica.render());
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        // PATCH and HEAD for resumable uploads.
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::HEAD])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("upload-offset"),
            header::HeaderName::from_static("x-query-code"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("upload-offset"),
            header::HeaderName::from_static("upload-length"),
        ])
        .max_age(600);
    for o in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        cors = cors.allowed_origin(o);
    }
    cors
}

/// The schemas requests run on.
///
/// async-graphql sends every field and every list item through its extension path as soon as
/// a schema has any extension at all, and a list answer has hundreds of them. So an HTTP
/// request is first checked on `full` (every validation rule, the limits, its cost, nothing
/// run: [`crate::graphql::cost::CostOnly`]) and then run on `fast`, which has no extension and
/// skips the rules already checked; its answer carries the cost `full` reported. Sockets run
/// on `full`. Where introspection is enabled, `introspection` is the schema without the depth
/// and complexity limits, for operations that read nothing but the schema.
#[derive(Clone)]
pub struct Schemas {
    pub full: AppSchema,
    pub fast: AppSchema,
    pub introspection: Option<AppSchema>,
}

/// Configures the application's routes for one worker.
pub fn configure(
    state: Arc<AppState>,
    schemas: Schemas,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        let body_limit = state.settings.body_limit;
        let production = state.settings.production();
        cfg.app_data(web::Data::new(state.clone()))
            .app_data(web::Data::new(schemas.clone()))
            .app_data(web::PayloadConfig::new(body_limit))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
            .service(
                web::resource("/graphql")
                    .route(web::post().to(graphql_post))
                    .route(web::get().to(graphql_get)),
            )
            .route("/graphql/ws", web::get().to(graphql_ws))
            .route("/export/cases.csv", web::get().to(export_cases))
            .route("/documents/{id}.pdf", web::get().to(document_pdf))
            .route(
                "/public/documents/{id}.pdf",
                web::get().to(public_document_pdf),
            )
            .service(
                web::resource("/uploads/{id}")
                    .route(web::patch().to(upload_patch))
                    .route(web::head().to(upload_head)),
            )
            .route("/attachments/{id}", web::get().to(attachment_get));
        if !production {
            cfg.route("/graphiql", web::get().to(graphiql))
                .route("/graphiql/assets/{name}", web::get().to(graphiql_asset));
        }
    }
}

/// Binds and returns the running server (not yet awaited) and the address it bound.
pub fn start(
    state: Arc<AppState>,
    schemas: Schemas,
    bind: &str,
) -> std::io::Result<(actix_web::dev::Server, std::net::SocketAddr)> {
    let origins = state.settings.cors_origins.clone();
    let routes = configure(state, schemas);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(cors(&origins))
            .wrap(actix_web::middleware::from_fn(surround))
            .configure(routes.clone())
    })
    .workers(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(8),
    )
    .bind(bind)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("no address bound"))?;
    Ok((server.run(), addr))
}
