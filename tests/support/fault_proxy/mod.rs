//! A fault-injecting TCP proxy to put between the daemon and a real
//! redis-server, switched between faults while the test runs.
//!
//! Owns: the listener on 127.0.0.1:0, one task per proxied connection, the
//! current [`Mode`] and the counters. Does not own: Redis (see
//! `redis_server`) or anything RESP-specific — it moves chunks of bytes, one
//! chunk being whatever one `read` returned (a single command, or several
//! when the client pipelines).
//!
//! | mode | client → server | server → client | new connections |
//! |---|---|---|---|
//! | `Pass` | forwarded | forwarded | proxied |
//! | `Delay(d)` | each chunk forwarded `d` after it arrived | forwarded | proxied |
//! | `BlackHole` | read and held | read and held | proxied (and held) |
//! | `ResetAfterForward` | the next chunk forwarded, then the client reset, its reply dropped | — | proxied |
//! | `RefuseNew` | forwarded | forwarded | reset at once |
//!
//! `hold_from(needle)` is a trip wire: the first client chunk holding
//! `needle` switches the proxy to `BlackHole` before it is
//! forwarded; `needle_hits` counts the needle in every client chunk.
//!
//! Held bytes are never lost: leaving `BlackHole` (by `set_mode` or at the end
//! of `stall_for`) sends them on in order, even for a client that gave up and
//! closed meanwhile — a frozen Redis still executes what sat in its socket.
//! That is the "authorisation executes after the client's timeout" case. To
//! lose them instead, `cut_all` while holding.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use connection::{connection, reset};

mod connection;

/// What the proxy does to traffic (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Delay(Duration),
    BlackHole,
    /// The next `remaining` client → server chunks (counted across every
    /// connection) each reach Redis, then their client is reset without the
    /// reply. Back to `Pass` once used up. A client's connection set-up
    /// (e.g. redis-rs's `CLIENT SETINFO`) is a chunk too: switch to this
    /// mode once the connection to break is established.
    ResetAfterForward {
        remaining: u32,
    },
    RefuseNew,
}

/// A snapshot of the proxy's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted, refused ones included.
    pub accepted: u64,
    /// Connections reset at once in `RefuseNew`.
    pub refused: u64,
    /// Connections proxied right now.
    pub open: u64,
    /// Chunks read from clients (forwarded or not yet).
    pub chunks_received: u64,
    /// Chunks written to Redis.
    pub chunks_forwarded: u64,
    pub bytes_forwarded: u64,
    /// Bytes of replies written back to clients.
    pub bytes_returned: u64,
    /// Client connections reset by `ResetAfterForward`.
    pub resets_after_forward: u64,
    /// Connections reset by `cut_all`.
    pub cut: u64,
    /// Times `hold_from`'s needle was seen in client chunks.
    pub needle_hits: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    open: AtomicU64,
    chunks_received: AtomicU64,
    chunks_forwarded: AtomicU64,
    bytes_forwarded: AtomicU64,
    bytes_returned: AtomicU64,
    resets_after_forward: AtomicU64,
    cut: AtomicU64,
    needle_hits: AtomicU64,
}

struct Shared {
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Bumped by every mode change, so a `stall_for` timer only ends its own stall.
    epoch: AtomicU64,
    root: CancellationToken,
    /// Cancelled by `cut_all` (then replaced); a child of `root`.
    generation: Mutex<CancellationToken>,
    counters: Counters,
    /// `hold_from`'s needle, and whether it has tripped the hold yet.
    needle: Mutex<Option<(Vec<u8>, bool)>>,
}

/// The proxy; dropping it stops every task it started.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tracker: TaskTracker,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:0 and proxies to `upstream`, in `Pass`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let root = CancellationToken::new();
        let shared = Arc::new(Shared {
            upstream,
            mode: watch::Sender::new(Mode::Pass),
            epoch: AtomicU64::new(0),
            generation: Mutex::new(root.child_token()),
            root,
            counters: Counters::default(),
            needle: Mutex::new(None),
        });
        let tracker = TaskTracker::new();
        tracker.spawn(accept_loop(listener, shared.clone(), tracker.clone()));
        FaultProxy {
            addr,
            shared,
            tracker,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `redis://127.0.0.1:PORT/`, for the daemon or a client.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub fn mode(&self) -> Mode {
        *self.shared.mode.borrow()
    }

    /// Switches mode now; also cancels the end of a pending `stall_for`.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.mode.send_replace(mode);
    }

    /// `BlackHole` for `duration`, then `Pass` with every held byte sent on
    /// in order (unless the mode was changed meanwhile).
    pub fn stall_for(&self, duration: Duration) {
        let epoch = self.shared.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.mode.send_replace(Mode::BlackHole);
        let shared = self.shared.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = shared.root.cancelled() => {}
                _ = tokio::time::sleep(duration) => {
                    if shared.epoch.load(Ordering::SeqCst) == epoch {
                        shared.mode.send_replace(Mode::Pass);
                    }
                }
            }
        });
    }

    /// Arms the trip wire: the first client chunk holding `needle` (e.g.
    /// a script's SHA-1) puts the proxy in `BlackHole`, that chunk held.
    pub fn hold_from(&self, needle: &[u8]) {
        *self
            .shared
            .needle
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((needle.to_vec(), false));
    }

    /// `ResetAfterForward` for the next `n` client → server chunks.
    pub fn reset_after_forward(&self, n: u32) {
        self.set_mode(if n == 0 {
            Mode::Pass
        } else {
            Mode::ResetAfterForward { remaining: n }
        });
    }

    /// Resets every open connection now (both sides), dropping held bytes.
    /// The mode is unchanged: new connections are proxied as before.
    pub fn cut_all(&self) {
        let mut generation = self
            .shared
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        generation.cancel();
        *generation = self.shared.root.child_token();
    }

    /// "Redis is gone": refuse new connections and reset the open ones.
    pub fn go_down(&self) {
        self.set_mode(Mode::RefuseNew);
        self.cut_all();
    }

    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        ProxyStats {
            accepted: get(&c.accepted),
            refused: get(&c.refused),
            open: get(&c.open),
            chunks_received: get(&c.chunks_received),
            chunks_forwarded: get(&c.chunks_forwarded),
            bytes_forwarded: get(&c.bytes_forwarded),
            bytes_returned: get(&c.bytes_returned),
            resets_after_forward: get(&c.resets_after_forward),
            cut: get(&c.cut),
            needle_hits: get(&c.needle_hits),
        }
    }

    /// Stops every task and waits until they have all ended.
    pub async fn shutdown(self) {
        self.shared.root.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.root.cancel();
        self.tracker.close();
    }
}

impl Shared {
    /// Counts `hold_from`'s needle in a client chunk just read, and trips
    /// the hold on its first sighting.
    fn look_at(&self, chunk: &[u8]) {
        let mut needle = self.needle.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((bytes, tripped)) = needle.as_mut() else {
            return;
        };
        let hits = chunk.windows(bytes.len()).filter(|w| w == bytes).count() as u64;
        if hits == 0 {
            return;
        }
        self.counters.needle_hits.fetch_add(hits, Ordering::SeqCst);
        if !*tripped {
            *tripped = true;
            self.epoch.fetch_add(1, Ordering::SeqCst);
            self.mode.send_replace(Mode::BlackHole);
        }
    }

    /// Takes one `ResetAfterForward` ticket, if the mode has one left.
    fn take_reset_ticket(&self) -> bool {
        self.mode.send_if_modified(|mode| match mode {
            Mode::ResetAfterForward { remaining } if *remaining > 1 => {
                *remaining -= 1;
                true
            }
            Mode::ResetAfterForward { .. } => {
                *mode = Mode::Pass;
                true
            }
            _ => false,
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tracker: TaskTracker) {
    loop {
        let accepted = tokio::select! {
            _ = shared.root.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of descriptors or similar: try again shortly.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        shared.counters.accepted.fetch_add(1, Ordering::SeqCst);
        if *shared.mode.borrow() == Mode::RefuseNew {
            shared.counters.refused.fetch_add(1, Ordering::SeqCst);
            reset(stream);
            continue;
        }
        let cut = shared
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        tracker.spawn(connection(stream, shared.clone(), cut));
    }
}
