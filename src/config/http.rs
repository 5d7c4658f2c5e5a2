//! `[webhook.http]` and `[admin.http]`: how long a client of either
//! listener may take, how large its headers may be, and HTTP/2. The two
//! listeners share the schema and its defaults; the limits that differ
//! between them (connections, body size, the request deadline) are keys of
//! `[webhook]` and `[admin]`.

use std::time::Duration;

use serde::Deserialize;

/// `[webhook.http]`, `[admin.http]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Time from a request's first byte to its last header line.
    pub header_read_timeout_ms: u64,
    /// Time a connection may stay open with no request in flight.
    pub idle_timeout_secs: u64,
    /// Slowest average body a request may send, after a start as long as
    /// `header_read_timeout_ms`; 0 leaves only the request deadline.
    pub min_body_rate_bytes_per_sec: u64,
    /// Largest request head (HTTP/1 read buffer, HTTP/2 header list).
    pub max_header_bytes: usize,
    /// Serve HTTP/2 (prior knowledge on plain TCP, ALPN `h2` on TLS).
    pub http2: bool,
    pub http2_max_concurrent_streams: u32,
    pub http2_stream_window_bytes: u32,
    pub http2_connection_window_bytes: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 5_000,
            idle_timeout_secs: 30,
            min_body_rate_bytes_per_sec: 1_024,
            max_header_bytes: 16 * 1024,
            http2: false,
            http2_max_concurrent_streams: 16,
            http2_stream_window_bytes: 65_535,
            http2_connection_window_bytes: 256 * 1024,
        }
    }
}

impl HttpSettings {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// `(key, reason)` for each value that makes no sense; `section` is
    /// `webhook` or `admin`.
    pub(super) fn problems(&self, section: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, reason: String| {
            if !ok {
                problems.push((format!("{section}.http.{key}"), reason));
            }
        };
        check(
            self.header_read_timeout_ms > 0,
            "header_read_timeout_ms",
            "must be greater than 0".into(),
        );
        check(
            self.idle_timeout_secs > 0,
            "idle_timeout_secs",
            "must be greater than 0".into(),
        );
        check(
            (8 * 1024..=1024 * 1024).contains(&self.max_header_bytes),
            "max_header_bytes",
            format!("{} is outside 8192..=1048576", self.max_header_bytes),
        );
        check(
            (1..=1_000).contains(&self.http2_max_concurrent_streams),
            "http2_max_concurrent_streams",
            format!("{} is outside 1..=1000", self.http2_max_concurrent_streams),
        );
        // HTTP/2 allows windows of 65,535 bytes up to 2^31 - 1; more than
        // 16 MiB per connection only pins memory.
        for (key, value) in [
            ("http2_stream_window_bytes", self.http2_stream_window_bytes),
            (
                "http2_connection_window_bytes",
                self.http2_connection_window_bytes,
            ),
        ] {
            check(
                (65_535..=16 * 1024 * 1024).contains(&value),
                key,
                format!("{value} is outside 65535..=16777216"),
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_bad_value_is_named() {
        assert!(HttpSettings::default().problems("webhook").is_empty());
        let bad = HttpSettings {
            header_read_timeout_ms: 0,
            idle_timeout_secs: 0,
            max_header_bytes: 1024,
            http2_max_concurrent_streams: 0,
            http2_stream_window_bytes: 1,
            http2_connection_window_bytes: u32::MAX,
            ..HttpSettings::default()
        };
        let keys: Vec<String> = bad.problems("admin").into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "admin.http.header_read_timeout_ms",
                "admin.http.idle_timeout_secs",
                "admin.http.max_header_bytes",
                "admin.http.http2_max_concurrent_streams",
                "admin.http.http2_stream_window_bytes",
                "admin.http.http2_connection_window_bytes",
            ]
        );
    }

    #[test]
    fn the_webhook_per_address_cap_is_the_listener_s_unless_set() {
        let per_source_problems = |s: &crate::config::Settings| {
            s.validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| e.starts_with("webhook.max_connections_per_source"))
                .count()
        };
        let mut s = crate::config::Settings::default();
        s.webhook.max_connections = 300;
        assert_eq!(s.webhook.per_source_cap(), 300);
        assert_eq!(per_source_problems(&s), 0);
        s.webhook.max_connections_per_source = Some(40);
        assert_eq!(s.webhook.per_source_cap(), 40);
        assert_eq!(per_source_problems(&s), 0);
        s.webhook.max_connections_per_source = Some(301);
        assert_eq!(per_source_problems(&s), 1);
    }

    #[test]
    fn settings_validation_reports_the_listener_limits() {
        let mut s = crate::config::Settings::default();
        s.webhook.max_connections_per_source = Some(s.webhook.max_connections + 1);
        s.admin.max_connections_per_source = 0;
        s.admin.http.idle_timeout_secs = 0;
        let errors = s.validate().unwrap_err();
        for key in [
            "webhook.max_connections_per_source:",
            "admin.max_connections_per_source:",
            "admin.http.idle_timeout_secs:",
        ] {
            assert!(
                errors.iter().any(|e| e.starts_with(key)),
                "{key} missing from {errors:#?}"
            );
        }
    }
}
