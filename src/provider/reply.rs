//! Reading a provider's REST reply under a bound, so a broken or hostile
//! provider cannot make the daemon buffer without limit. A reply over it
//! is not read; the adapter treats it as a reply lost after its request was
//! sent (`Unknown` for a request with an effect, to be reconciled;
//! `Transient` for a read, retried).
//!
//! Owns: the bound. Does not own: what a reply means (each adapter's `wire`).

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

/// The largest reply read, in bytes. A page of 200 calls (Twilio's list
/// page as sampark asks for it) is about 300 KiB.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// The whole body of a reply with HTTP `status`, or why it was not read.
pub(crate) async fn read_reply(status: u16, body: Incoming) -> Result<Bytes, String> {
    match Limited::new(body, MAX_REPLY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(format!(
            "HTTP {status}, reply larger than {MAX_REPLY_BYTES} bytes (1 MiB): not read"
        )),
        Err(e) => Err(format!("HTTP {status}, reply body lost: {e}")),
    }
}
