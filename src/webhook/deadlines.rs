//! What a client of either listener is allowed to take in time: the
//! deadlines of one connection and of one request body.
//!
//! | a connection with…                       | is closed after                         |
//! |------------------------------------------|-----------------------------------------|
//! | no request in flight and no byte since   | `idle` from the end of its last request (or from its start) |
//! | no request in flight, bytes of a head    | `header` from that head's first byte    |
//! | a request in flight                      | never by these (the request's own deadline ends it) |
//! | been chosen to give way ([`Slots`](super::slots::Slots)) | its request in flight, if any, ends |
//!
//! A request's body must arrive by the request deadline and, when a
//! minimum rate is set, reach `n` bytes by `header + n / rate` from the
//! start of the body; otherwise it is answered 408 and the connection
//! closed.
//!
//! hyper's own header-read timer starts whenever a connection waits for a
//! request head, idle keep-alive included, so it cannot tell an idle
//! provider connection (allowed `idle`) from a slow client (allowed
//! `header`); it is set to `idle` as a backstop and this module applies
//! the stricter deadline from a head's first byte.
//!
//! Owns: the per-connection record of activity, the watchdog, reading a
//! body against its deadlines. Does not own: choosing a connection to give
//! way, routing.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;

/// The deadlines of one listener's connections.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    pub header: Duration,
    pub idle: Duration,
    /// Bytes per second a body must average after a start of `header`;
    /// `None`: only the request deadline.
    pub min_body_rate: Option<u64>,
}

/// What one connection is doing, as its reads and its requests report it.
pub(super) struct Activity {
    state: Mutex<State>,
}

struct State {
    in_flight: usize,
    /// When the connection last had no request in flight (or opened).
    idle_since: Instant,
    /// When the first byte of a request head arrived, while no request was
    /// in flight.
    head_started: Option<Instant>,
}

impl Activity {
    pub(super) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                head_started: None,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_some(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
        }
    }

    /// A request's head has been read; the request is in flight until the
    /// returned guard drops.
    pub(super) fn request(self: &Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.head_started = None;
        InFlight(self.clone())
    }

    /// Since when the connection has had no request in flight (`None`
    /// while one is).
    pub(super) fn idle_since(&self) -> Option<Instant> {
        let state = self.state();
        (state.in_flight == 0).then_some(state.idle_since)
    }
}

/// A request in flight on a connection.
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
    }
}

/// Why a connection is closed by its watchdog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Closing {
    Idle,
    SlowHeaders,
    GaveWay,
}

impl Closing {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Closing::Idle => "idle",
            Closing::SlowHeaders => "headers too slow",
            Closing::GaveWay => "gave way to a new connection",
        }
    }

    /// Its reason in `sampark_http_connections_closed_total`.
    pub(super) fn counted(self) -> crate::telemetry::ConnectionClosed {
        use crate::telemetry::ConnectionClosed;
        match self {
            Closing::Idle => ConnectionClosed::Idle,
            Closing::SlowHeaders => ConnectionClosed::SlowHeaders,
            Closing::GaveWay => ConnectionClosed::GaveWay,
        }
    }
}

/// Resolves when the connection may be closed: no request is in flight and
/// it has been idle too long, is too slow with a head, or must give way.
/// The caller polls the connection in the same task, so no request can
/// start between this answer and the close.
pub(super) async fn closable(
    activity: &Activity,
    deadlines: Deadlines,
    give_way: &CancellationToken,
) -> Closing {
    let tick = (deadlines.header / 2).max(Duration::from_millis(50));
    loop {
        let now = Instant::now();
        let next = {
            let state = activity.state();
            if state.in_flight > 0 {
                now + tick
            } else if give_way.is_cancelled() {
                return Closing::GaveWay;
            } else if let Some(head) = state.head_started {
                let due = head + deadlines.header;
                if now >= due {
                    return Closing::SlowHeaders;
                }
                due
            } else {
                let due = state.idle_since + deadlines.idle;
                if now >= due {
                    return Closing::Idle;
                }
                // A head may start meanwhile: look again within a tick.
                due.min(now + tick)
            }
        };
        tokio::select! {
            _ = sleep_until(next) => {}
            _ = give_way.cancelled(), if !give_way.is_cancelled() => {}
        }
    }
}

/// A connection's byte stream, reporting reads to its [`Activity`].
pub(super) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BodyError {
    TooLarge,
    /// Slower than the minimum rate.
    TooSlow,
    /// Not complete by the request deadline.
    Deadline,
    /// The client broke off or sent a malformed body.
    Broken,
}

/// Reads `body` up to `limit` bytes, by `deadline` and at the minimum rate
/// of `deadlines` counted from now.
pub(super) async fn read_body(
    mut body: Incoming,
    limit: usize,
    deadline: Instant,
    deadlines: Deadlines,
) -> Result<Bytes, BodyError> {
    let start = Instant::now();
    let mut received = BytesMut::new();
    loop {
        let due = match deadlines.min_body_rate {
            Some(rate) => {
                let allowed = Duration::from_secs_f64(received.len() as f64 / rate.max(1) as f64);
                (start + deadlines.header + allowed).min(deadline)
            }
            None => deadline,
        };
        let frame = match timeout_at(due, body.frame()).await {
            Ok(frame) => frame,
            Err(_) if due < deadline => return Err(BodyError::TooSlow),
            Err(_) => return Err(BodyError::Deadline),
        };
        let Some(frame) = frame else {
            return Ok(received.freeze());
        };
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if received.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            received.extend_from_slice(&data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadlines() -> Deadlines {
        Deadlines {
            header: Duration::from_secs(5),
            idle: Duration::from_secs(30),
            min_body_rate: Some(1024),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_closes_after_the_idle_deadline() {
        let activity = Activity::new();
        let opened = Instant::now();
        let closing = closable(&activity, deadlines(), &CancellationToken::new()).await;
        assert_eq!(closing, Closing::Idle);
        assert_eq!(opened.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_head_closes_after_the_header_deadline_from_its_first_byte() {
        let activity = Activity::new();
        tokio::time::sleep(Duration::from_secs(20)).await;
        activity.read_some();
        let first_byte = Instant::now();
        let closing = closable(&activity, deadlines(), &CancellationToken::new()).await;
        assert_eq!(closing, Closing::SlowHeaders);
        let waited = first_byte.elapsed();
        // Within a tick (half the header deadline) after it.
        assert!(waited >= Duration::from_secs(5) && waited <= Duration::from_millis(7_500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_keeps_the_connection_even_when_asked_to_give_way() {
        let activity = Activity::new();
        let give_way = CancellationToken::new();
        give_way.cancel();
        let request = activity.request();
        let watch = closable(&activity, deadlines(), &give_way);
        tokio::pin!(watch);
        assert!(
            tokio::time::timeout(Duration::from_secs(120), &mut watch)
                .await
                .is_err(),
            "a request in flight is never cut"
        );
        drop(request);
        assert_eq!(watch.await, Closing::GaveWay);
        assert!(activity.idle_since().is_some(), "no request in flight");
    }
}
