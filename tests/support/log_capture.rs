//! Captures the tracing output of a test as text, so `invariants` can look
//! for phone numbers in it.
//!
//! Owns: a subscriber writing plain fmt lines (no colour, span fields
//! included) into a shared buffer, at `trace` for everything except the
//! HTTP/2 and hyper internals. Does not own: the daemon's own subscriber
//! (`telemetry`), which the in-process tests never install.
//!
//! Two ways in:
//! - `LogCapture::global()` installs one process-wide subscriber on first use
//!   and hands every caller the same buffer. It sees every thread, so it
//!   suits multi-threaded runtimes; it also sees the other tests running in
//!   the same binary, which only makes a "nothing leaked" check stricter.
//!   Use `mark()`/`text_since()` to look at one stretch.
//! - `LogCapture::scoped()` captures the current thread only, until its
//!   guard drops: for `current_thread` runtime tests.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

const FILTER: &str = "trace,h2=info,hyper=info,hyper_util=info,rustls=info";

/// A handle on a capture buffer; clones share it.
#[derive(Clone, Default)]
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
}

/// A position in the buffer, from `mark`.
#[derive(Clone, Copy, Debug)]
pub struct Mark(usize);

impl LogCapture {
    /// The process-wide capture (installed on first call). Panics if another
    /// global subscriber was installed first.
    pub fn global() -> LogCapture {
        static GLOBAL: OnceLock<LogCapture> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let capture = LogCapture::default();
                tracing::subscriber::set_global_default(capture.subscriber())
                    .expect("no other global tracing subscriber");
                capture
            })
            .clone()
    }

    /// A capture of the current thread until the guard drops.
    pub fn scoped() -> (LogCapture, DefaultGuard) {
        let capture = LogCapture::default();
        let guard = tracing::subscriber::set_default(capture.subscriber());
        (capture, guard)
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(FILTER))
            .with_ansi(false)
            .with_writer(self.clone())
            .finish()
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// The current end of the buffer.
    pub fn mark(&self) -> Mark {
        Mark(self.lock().len())
    }

    /// What was captured after `mark`.
    pub fn text_since(&self, mark: Mark) -> String {
        let buf = self.lock();
        String::from_utf8_lossy(buf.get(mark.0..).unwrap_or_default()).into_owned()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.buf.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = Writer<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Writer(&self.buf)
    }
}

/// Appends one event's bytes to the buffer.
pub struct Writer<'a>(&'a Mutex<Vec<u8>>);

impl io::Write for Writer<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
