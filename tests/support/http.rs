//! A tiny HTTP/1.1 client for posting signed webhooks, as the provider would.

use std::net::SocketAddr;

use sampark::provider::twilio::signature::sign;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Posts a form to `path` and returns (status, body). `token` signs the
/// request over `http://{addr}{path}` as Twilio does; `None` sends no signature.
pub async fn post_form(
    addr: SocketAddr,
    path: &str,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> (u16, String) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&owned)
        .finish();
    let signature = token
        .map(|t| {
            format!(
                "X-Twilio-Signature: {}\r\n",
                sign(t, &format!("http://{addr}{path}"), &owned)
            )
        })
        .unwrap_or_default();
    raw(addr, &format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{signature}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await
}

/// Sends a raw request and splits the response into (status, body).
pub async fn raw(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Posts `body` as JSON to the admin listener at `addr` (no token).
pub async fn post_json(addr: SocketAddr, path: &str, body: &serde_json::Value) -> (u16, String) {
    let body = body.to_string();
    raw(addr, &format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await
}
