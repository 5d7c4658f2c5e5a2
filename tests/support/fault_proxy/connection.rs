//! One proxied connection: a task owning the client and upstream sockets,
//! pumping each direction as the proxy's current `Mode` says.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Mode, Shared};

/// Closes with RST (SO_LINGER 0), as a crashed peer or a cut network would.
pub(super) fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// How a proxied connection ended.
enum End {
    Closed,
    Cut,
    ResetAfterForward,
}

/// How one direction ended.
enum Flow {
    Done,
    /// Client → server only: the chunk was forwarded, the client must be reset.
    Reset,
}

pub(super) async fn connection(mut client: TcpStream, shared: Arc<Shared>, cut: CancellationToken) {
    let counters = &shared.counters;
    counters.open.fetch_add(1, Ordering::SeqCst);
    let _ = client.set_nodelay(true);
    let upstream = tokio::select! {
        _ = cut.cancelled() => None,
        connected = TcpStream::connect(shared.upstream) => connected.ok(),
    };
    let Some(mut upstream) = upstream else {
        reset(client);
        counters.open.fetch_sub(1, Ordering::SeqCst);
        return;
    };
    let _ = upstream.set_nodelay(true);
    let muted = AtomicBool::new(false);
    let end = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = upstream.split();
        let up = client_to_server(client_read, server_write, &shared, &muted);
        let down = server_to_client(server_read, client_write, &shared, &muted);
        relay(up, down, &cut).await
    };
    match end {
        End::Closed => {}
        End::Cut => {
            counters.cut.fetch_add(1, Ordering::SeqCst);
            reset(client);
            reset(upstream);
        }
        End::ResetAfterForward => {
            counters.resets_after_forward.fetch_add(1, Ordering::SeqCst);
            reset(client);
            drain_reply(upstream, &cut).await;
        }
    }
    counters.open.fetch_sub(1, Ordering::SeqCst);
}

/// Runs both directions until both are done, one asks for a reset, or the
/// connection is cut.
async fn relay(
    up: impl Future<Output = Flow>,
    down: impl Future<Output = Flow>,
    cut: &CancellationToken,
) -> End {
    let mut up = pin!(up);
    let mut down = pin!(down);
    let (mut up_done, mut down_done) = (false, false);
    loop {
        tokio::select! {
            _ = cut.cancelled() => return End::Cut,
            flow = &mut up, if !up_done => match flow {
                Flow::Reset => return End::ResetAfterForward,
                Flow::Done => up_done = true,
            },
            _ = &mut down, if !down_done => down_done = true,
        }
        if up_done && down_done {
            return End::Closed;
        }
    }
}

/// Waits (briefly) for Redis to answer the forwarded chunk, so it has
/// certainly executed it before the upstream socket closes; the reply is
/// thrown away.
async fn drain_reply(mut upstream: TcpStream, cut: &CancellationToken) {
    let mut buf = [0u8; 4096];
    tokio::select! {
        _ = cut.cancelled() => {}
        _ = tokio::time::timeout(Duration::from_secs(5), upstream.read(&mut buf)) => {}
    }
}

/// When a held chunk that arrived at `at` may go, in `mode`; `None`: not yet.
fn release_at(mode: Mode, at: Instant) -> Option<Instant> {
    match mode {
        Mode::BlackHole => None,
        Mode::Delay(d) => Some(at + d),
        Mode::Pass | Mode::RefuseNew | Mode::ResetAfterForward { .. } => Some(at),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Client → server: every chunk read is queued with its arrival time and
/// released when the mode allows. Ends once the client closed (or failed)
/// and the queue is flushed, or after a `ResetAfterForward` chunk.
async fn client_to_server(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    shared: &Shared,
    muted: &AtomicBool,
) -> Flow {
    let counters = &shared.counters;
    let mut mode_rx = shared.mode.subscribe();
    let mut held: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut open = true;
    loop {
        if !open && held.is_empty() {
            let _ = to.shutdown().await;
            return Flow::Done;
        }
        let mode = *mode_rx.borrow_and_update();
        let due = held.front().and_then(|(at, _)| release_at(mode, *at));
        tokio::select! {
            changed = mode_rx.changed() => {
                if changed.is_err() {
                    return Flow::Done;
                }
            }
            _ = sleep_until(due) => {
                // INVARIANT: `due` is Some only when a chunk is held.
                let (_, chunk) = held.pop_front().expect("a held chunk");
                let reset = shared.take_reset_ticket();
                if reset {
                    muted.store(true, Ordering::SeqCst);
                }
                if to.write_all(&chunk).await.is_err() {
                    return Flow::Done;
                }
                counters.chunks_forwarded.fetch_add(1, Ordering::SeqCst);
                counters.bytes_forwarded.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                if reset {
                    return Flow::Reset;
                }
            }
            read = from.read(&mut buf), if open => match read {
                Ok(0) | Err(_) => open = false,
                Ok(n) => {
                    counters.chunks_received.fetch_add(1, Ordering::SeqCst);
                    shared.look_at(&buf[..n]);
                    held.push_back((Instant::now(), buf[..n].to_vec()));
                }
            },
        }
    }
}

/// Server → client: replies forwarded, held while in `BlackHole`, dropped
/// once the connection is muted. Keeps reading Redis after the client went
/// away, so Redis is never reset with commands unread. Ends when Redis closes.
async fn server_to_client(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    shared: &Shared,
    muted: &AtomicBool,
) -> Flow {
    let mut mode_rx = shared.mode.subscribe();
    let mut held: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut open = true;
    let mut client_ok = true;
    loop {
        let holding = *mode_rx.borrow_and_update() == Mode::BlackHole;
        if !holding && !held.is_empty() {
            client_ok = deliver(&mut to, &held, client_ok, shared, muted).await;
            held.clear();
        }
        if !open && held.is_empty() {
            let _ = to.shutdown().await;
            return Flow::Done;
        }
        tokio::select! {
            changed = mode_rx.changed() => {
                if changed.is_err() {
                    return Flow::Done;
                }
            }
            read = from.read(&mut buf), if open => match read {
                Ok(0) | Err(_) => open = false,
                Ok(n) if holding => held.extend_from_slice(&buf[..n]),
                Ok(n) => client_ok = deliver(&mut to, &buf[..n], client_ok, shared, muted).await,
            },
        }
    }
}

/// Writes a reply to the client unless muted or already failed; returns
/// whether the client can still be written to.
async fn deliver(
    to: &mut WriteHalf<'_>,
    bytes: &[u8],
    client_ok: bool,
    shared: &Shared,
    muted: &AtomicBool,
) -> bool {
    if !client_ok || muted.load(Ordering::SeqCst) {
        return client_ok;
    }
    if to.write_all(bytes).await.is_err() {
        return false;
    }
    shared
        .counters
        .bytes_returned
        .fetch_add(bytes.len() as u64, Ordering::SeqCst);
    true
}
