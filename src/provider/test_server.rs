//! A scripted HTTP server on 127.0.0.1:0 for the REST client tests: it
//! records each request and answers from a script, one entry per request.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A request as the server saw it.
#[derive(Debug)]
pub(crate) struct Seen {
    pub method: String,
    pub uri: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

/// What the server does with the next request.
pub(crate) enum Canned {
    Reply {
        status: u16,
        retry_after: Option<&'static str>,
        body: String,
    },
    /// Reads the request, then never answers.
    Never,
}

pub(crate) fn reply(status: u16, body: &str) -> Canned {
    Canned::Reply {
        status,
        retry_after: None,
        body: body.to_owned(),
    }
}

/// Serves `script` in order, one entry per request, on 127.0.0.1:0.
pub(crate) async fn serve(script: Vec<Canned>) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, script) = (tx.clone(), script.clone());
            let service = service_fn(move |req: Request<Incoming>| {
                let (tx, script) = (tx.clone(), script.clone());
                async move { Ok::<_, Infallible>(answer(req, &tx, &script).await) }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (base, rx)
}

async fn answer(
    req: Request<Incoming>,
    tx: &mpsc::UnboundedSender<Seen>,
    script: &Mutex<VecDeque<Canned>>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let header = |name: http::HeaderName| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let body = body.collect().await.unwrap().to_bytes();
    tx.send(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        authorization: header(http::header::AUTHORIZATION),
        content_type: header(http::header::CONTENT_TYPE),
        body: String::from_utf8(body.to_vec()).unwrap(),
    })
    .unwrap();
    let next = script.lock().unwrap().pop_front();
    match next.expect("the client sent more requests than scripted") {
        Canned::Never => std::future::pending().await,
        Canned::Reply {
            status,
            retry_after,
            body,
        } => {
            let mut response = Response::builder()
                .status(status)
                .header("content-type", "application/json");
            if let Some(value) = retry_after {
                response = response.header("retry-after", value);
            }
            response.body(Full::new(Bytes::from(body))).unwrap()
        }
    }
}
