//! A tiny scripted HTTP server on 127.0.0.1:0 for the I/O tests: it records every request and
//! answers with what the test's responder returns.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Seen {
    /// The value of one query parameter, percent-decoded.
    pub fn param(&self, key: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

pub type Responder = dyn Fn(&Seen, usize) -> (u16, String) + Send + Sync;

pub struct FakeServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    respond: Box<Responder>,
}

impl FakeServer {
    /// Starts a server whose answers come from `respond(request, index of the request)`.
    pub async fn start(
        respond: impl Fn(&Seen, usize) -> (u16, String) + Send + Sync + 'static,
    ) -> FakeServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            seen: seen.clone(),
            respond: Box::new(respond),
        });
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeServer { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let index = {
        let mut log = shared.seen.lock().unwrap();
        log.push(seen.clone());
        log.len() - 1
    };
    let (status, text) = (shared.respond)(&seen, index);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "text/xml")], Body::from(text)).into_response()
}
