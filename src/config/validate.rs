//! Semantic validation: values of the right type that still make no sense
//! (bad URLs, zero durations, contradictory timeouts). Pure: no I/O, so a
//! missing TLS file or dialplan directory is reported by whoever opens it.

use std::net::SocketAddr;

use redis::IntoConnectionInfo;

use super::rate::RateLimit;
use super::secret::RedisUrl;
use super::sections::{MAX_WORKER_THREADS, ProviderKind, RedisMode, Settings};
use crate::domain::{CampaignId, OfficialId, PhoneNumber};

/// Collects `(key, reason)` pairs so every problem is reported at once.
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn check(&mut self, ok: bool, key: &str, reason: impl FnOnce() -> String) {
        if !ok {
            self.0.push((key.to_owned(), reason()));
        }
    }

    fn positive(&mut self, value: u64, key: &str) {
        self.check(value > 0, key, || "must be greater than 0".into());
    }

    fn listen(&mut self, value: &str, key: &str) {
        self.check(value.parse::<SocketAddr>().is_ok(), key, || {
            format!("{value:?} is not an IP:port socket address (e.g. 0.0.0.0:8080)")
        });
    }

    fn http_url(&mut self, value: &str, key: &str) {
        if let Err(reason) = check_http_url(value) {
            self.0.push((key.to_owned(), reason));
        }
    }

    fn rate(&mut self, limit: &RateLimit, key: &str) {
        self.check(limit.burst >= 1, &format!("{key}.burst"), || {
            "must be at least 1".into()
        });
        self.check(
            limit.per_secs.is_finite() && limit.per_secs >= 0.001,
            &format!("{key}.per_secs"),
            || {
                format!(
                    "{} is not a period of at least 0.001 seconds",
                    limit.per_secs
                )
            },
        );
    }
}

fn check_http_url(value: &str) -> Result<(), String> {
    let uri: http::Uri = value
        .parse()
        .map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!("{value:?} must start with http:// or https://"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{value:?} has no host"));
    }
    if uri.query().is_some() || value.contains('#') {
        return Err(format!("{value:?} must not have a query or fragment"));
    }
    Ok(())
}

impl Settings {
    /// `[redis.tls]` only where it can take effect: with `rediss://` URLs.
    fn check_redis_tls(&self, p: &mut Problems) {
        let r = &self.redis;
        let t = &r.tls;
        p.check(
            t.client_cert_path.is_some() == t.client_key_path.is_some(),
            "redis.tls",
            || "set both client_cert_path and client_key_path, or neither".into(),
        );
        if !t.is_set() {
            return;
        }
        let plain = |url: &RedisUrl| {
            redis::parse_redis_url(url.expose()).is_none_or(|u| u.scheme() != "rediss")
        };
        match r.mode {
            RedisMode::Standalone => p.check(!plain(&r.url), "redis.tls", || {
                "is set but redis.url is not rediss://; use rediss:// for TLS".into()
            }),
            RedisMode::Cluster => p.check(!r.cluster_nodes.iter().any(plain), "redis.tls", || {
                "is set but a redis.cluster_nodes URL is not rediss://; use rediss:// for every node".into()
            }),
            RedisMode::Sentinel => p.check(r.sentinel_tls, "redis.tls", || {
                "is set but redis.sentinel_tls is false; set it to reach the Sentinels and the primary over TLS".into()
            }),
        }
    }
}

fn check_redis_url(value: &str) -> Result<(), String> {
    // Never echo the URL itself: it may carry a password.
    let url = redis::parse_redis_url(value).ok_or_else(|| "is not a valid Redis URL".to_owned())?;
    if !matches!(url.scheme(), "redis" | "rediss") {
        return Err(format!(
            "has scheme {:?}; use redis:// or rediss://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    // The client's own parser catches the rest (bad db number, TLS not built in).
    value.into_connection_info().map(drop).map_err(|e| {
        format!(
            "is not usable: {}",
            e.detail().unwrap_or("rejected by the Redis client")
        )
    })
}

impl Settings {
    /// Settings that are valid but work against each other, in words, for
    /// `serve` to log at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let attempts = self.dialer.max_attempts;
        for (key, cap, span) in [
            (
                "policy.max_calls_per_citizen_per_day",
                self.policy.max_calls_per_citizen_per_day,
                "the next day",
            ),
            (
                "policy.max_calls_per_citizen_per_week",
                self.policy.max_calls_per_citizen_per_week,
                "the next week",
            ),
        ] {
            if cap != 0 && cap < attempts {
                warnings.push(format!(
                    "{key} = {cap} is below dialer.max_attempts = {attempts}: a contact's attempts beyond {cap} wait for {span} (raise the cap or lower the attempts)"
                ));
            }
        }
        warnings
    }

    /// Checks what types cannot: every semantic problem, as `key: reason`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        Err(problems
            .into_iter()
            .map(|(key, reason)| format!("{key}: {reason}"))
            .collect())
    }

    /// The semantic problems as `(key, reason)` pairs.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut p = Problems::default();
        self.check_redis(&mut p);
        self.check_provider(&mut p);
        self.check_http(&mut p);
        self.check_dialer(&mut p);
        self.check_policy(&mut p);
        self.check_inbound(&mut p);
        self.check_reports(&mut p);
        if let Err(e) = PhoneNumber::parse(&self.officials.caller_id) {
            p.0.push(("officials.caller_id".into(), e.to_string()));
        }
        p.check(
            !self.officials.dialplan.trim().is_empty(),
            "officials.dialplan",
            || "must not be empty".into(),
        );
        p.check(
            !self.dialplans.dir.as_os_str().is_empty(),
            "dialplans.dir",
            || "must not be empty".into(),
        );
        p.positive(self.shutdown.grace_secs, "shutdown.grace_secs");
        p.check(
            self.runtime.worker_threads <= MAX_WORKER_THREADS,
            "runtime.worker_threads",
            || {
                format!(
                    "{} is more than {}",
                    self.runtime.worker_threads, MAX_WORKER_THREADS
                )
            },
        );
        p.check(
            self.intake.max_document_bytes >= 1024,
            "intake.max_document_bytes",
            || format!("{} is less than 1024", self.intake.max_document_bytes),
        );
        p.positive(
            u64::from(self.intake.max_deliveries),
            "intake.max_deliveries",
        );
        p.check(
            self.intake.max_contacts_per_document >= crate::intake::CHUNK_SIZE,
            "intake.max_contacts_per_document",
            || {
                format!(
                    "{} is less than {}, the contacts per entry `campaign submit` and the admin API write",
                    self.intake.max_contacts_per_document,
                    crate::intake::CHUNK_SIZE
                )
            },
        );
        p.check(
            tracing_subscriber::EnvFilter::try_new(&self.log.level).is_ok(),
            "log.level",
            || format!("{:?} is not a valid filter directive", self.log.level),
        );
        p.0
    }

    fn check_redis(&self, p: &mut Problems) {
        let r = &self.redis;
        if let Err(reason) = check_redis_url(r.url.expose()) {
            p.0.push(("redis.url".into(), reason));
        }
        p.check(
            !r.key_prefix.is_empty()
                && !r
                    .key_prefix
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '{' | '}')),
            "redis.key_prefix",
            || "must be non-empty, without spaces or braces (braces are hash tags)".into(),
        );
        p.check((1..=1024).contains(&r.shards), "redis.shards", || {
            format!("{} is outside 1..=1024", r.shards)
        });
        p.positive(r.connect_timeout_ms, "redis.connect_timeout_ms");
        p.positive(r.response_timeout_ms, "redis.response_timeout_ms");
        match r.mode {
            RedisMode::Standalone => {}
            RedisMode::Sentinel => {
                p.check(!r.sentinels.is_empty(), "redis.sentinels", || {
                    "must name at least one sentinel (host:port) in mode sentinel".into()
                });
                if let Err(reason) = r.sentinel_addresses() {
                    p.check(false, "redis.sentinels", || reason);
                }
                p.check(
                    !r.sentinel_master.is_empty(),
                    "redis.sentinel_master",
                    || "must name the monitored primary in mode sentinel".into(),
                );
            }
            RedisMode::Cluster => {
                p.check(!r.cluster_nodes.is_empty(), "redis.cluster_nodes", || {
                    "must name at least one node URL in mode cluster".into()
                });
                for node in &r.cluster_nodes {
                    if let Err(reason) = check_redis_url(node.expose()) {
                        p.check(false, "redis.cluster_nodes", || {
                            format!("{}: {reason}", node.redacted())
                        });
                    }
                }
            }
        }
        self.check_redis_tls(p);
        if r.wait_replicas > 0 {
            p.positive(r.wait_timeout_ms, "redis.wait_timeout_ms");
            p.check(
                r.wait_timeout_ms < r.response_timeout_ms,
                "redis.wait_timeout_ms",
                || {
                    format!(
                        "{} must be below redis.response_timeout_ms ({}): a WAIT longer \
                         than the reply timeout would count Redis as down",
                        r.wait_timeout_ms, r.response_timeout_ms
                    )
                },
            );
        }
    }

    fn check_provider(&self, p: &mut Problems) {
        let v = &self.provider;
        match v.kind {
            ProviderKind::Twilio => {
                p.http_url(&v.base_url, "provider.base_url");
                p.check(
                    !v.account_sid.is_empty()
                        && !v
                            .account_sid
                            .contains(|c: char| c == '/' || c.is_whitespace()),
                    "provider.account_sid",
                    || "must be set (no spaces or '/') for provider kind twilio".into(),
                );
                p.check(!v.auth_token.is_empty(), "provider.auth_token", || {
                    "must be set for provider kind twilio".into()
                });
            }
            ProviderKind::Exotel => self.check_exotel(p),
        }
        p.positive(v.request_timeout_ms, "provider.request_timeout_ms");
        // Twilio accepts ring timeouts of 5 to 600 seconds.
        p.check(
            (5..=600).contains(&v.ring_timeout_secs),
            "provider.ring_timeout_secs",
            || format!("{} is outside 5..=600", v.ring_timeout_secs),
        );
        p.positive(v.calls_per_second.into(), "provider.calls_per_second");
        p.positive(
            v.max_concurrent_calls.into(),
            "provider.max_concurrent_calls",
        );
    }

    /// `[provider.exotel]`, and the shared keys as Exotel reads them.
    fn check_exotel(&self, p: &mut Problems) {
        let v = &self.provider;
        let e = &v.exotel;
        let plain = |s: &str| !s.is_empty() && !s.contains(|c: char| c == '/' || c.is_whitespace());
        p.check(plain(&v.account_sid), "provider.account_sid", || {
            "must be set (no spaces or '/') for provider kind exotel".into()
        });
        p.check(
            plain(&e.api_key) && !e.api_key.contains(':'),
            "provider.exotel.api_key",
            || "must be set (no spaces, '/' or ':') for provider kind exotel".into(),
        );
        p.check(!e.api_token.is_empty(), "provider.exotel.api_token", || {
            "must be set for provider kind exotel".into()
        });
        if !e.base_url.is_empty() {
            p.http_url(&e.base_url, "provider.exotel.base_url");
        }
        // Tokens under a short key could be brute-forced offline from one
        // callback URL.
        p.check(
            e.webhook_secret.expose().chars().count() >= 32,
            "provider.exotel.webhook_secret",
            || "must be at least 32 characters for provider kind exotel".into(),
        );
        let user = &e.webhook_username;
        p.check(
            !user.contains([':', '@', '/']) && !user.contains(char::is_whitespace),
            "provider.exotel.webhook_username",
            || "must not contain ':', '@', '/' or spaces".into(),
        );
        p.check(
            user.is_empty() == e.webhook_password.is_empty(),
            "provider.exotel.webhook_password",
            || "webhook_username and webhook_password are set together or not at all".into(),
        );
    }

    fn check_http(&self, p: &mut Problems) {
        let w = &self.webhook;
        p.listen(&w.listen, "webhook.listen");
        p.http_url(&w.public_url, "webhook.public_url");
        p.check(
            (1..=16 * 1024 * 1024).contains(&w.body_limit_bytes),
            "webhook.body_limit_bytes",
            || format!("{} is outside 1..=16777216", w.body_limit_bytes),
        );
        p.positive(w.request_timeout_ms, "webhook.request_timeout_ms");
        p.positive(w.max_connections as u64, "webhook.max_connections");
        let a = &self.admin;
        p.positive(a.request_timeout_ms, "admin.request_timeout_ms");
        p.positive(a.max_connections as u64, "admin.max_connections");
        for (section, per_source, max) in [
            ("webhook", w.per_source_cap(), w.max_connections),
            ("admin", a.max_connections_per_source, a.max_connections),
        ] {
            // One source must leave room for others (see docs/configuration.md).
            p.check(
                (1..=max).contains(&per_source),
                &format!("{section}.max_connections_per_source"),
                || format!("{per_source} is outside 1..={max} ({section}.max_connections)"),
            );
        }
        for (section, http) in [("webhook", &w.http), ("admin", &a.http)] {
            p.0.extend(http.problems(section));
        }
        for (tls, key) in [(&w.tls, "webhook.tls"), (&self.admin.tls, "admin.tls")] {
            p.check(
                tls.cert_path.is_some() == tls.key_path.is_some(),
                key,
                || "set both cert_path and key_path, or neither".into(),
            );
        }
        p.listen(&self.admin.listen, "admin.listen");
        // Port 0 (tests) picks distinct ports; anything else must differ.
        let same = match (
            w.listen.parse::<SocketAddr>(),
            self.admin.listen.parse::<SocketAddr>(),
        ) {
            (Ok(a), Ok(b)) => a == b && a.port() != 0,
            _ => false,
        };
        p.check(!same, "admin.listen", || {
            "must differ from webhook.listen".into()
        });
        p.0.extend(self.admin.access_problems());
    }

    fn check_dialer(&self, p: &mut Problems) {
        let d = &self.dialer;
        p.check(
            d.instance.len() <= 64 && !d.instance.contains(char::is_whitespace),
            "dialer.instance",
            || "must be at most 64 characters, without spaces".into(),
        );
        p.check(
            (1..=10_000).contains(&d.batch_size),
            "dialer.batch_size",
            || format!("{} is outside 1..=10000", d.batch_size),
        );
        p.positive(d.poll_interval_ms, "dialer.poll_interval_ms");
        p.positive(d.originate_lease_secs, "dialer.originate_lease_secs");
        p.positive(d.max_call_secs, "dialer.max_call_secs");
        p.positive(d.reclaim_after_secs, "dialer.reclaim_after_secs");
        p.check(
            (1..=20).contains(&d.max_attempts),
            "dialer.max_attempts",
            || format!("{} is outside 1..=20", d.max_attempts),
        );
        p.check(
            d.max_attempts == 1 || !d.retry_backoff_secs.is_empty(),
            "dialer.retry_backoff_secs",
            || "must list at least one delay when max_attempts > 1".into(),
        );
        p.check(
            d.retry_backoff_secs.iter().all(|s| *s > 0),
            "dialer.retry_backoff_secs",
            || "every delay must be greater than 0".into(),
        );
        // Reconciling an originate while its request may still be in flight
        // could see "no call" and redial: a second call for one attempt (G2).
        p.check(
            d.originate_lease_secs.saturating_mul(1000) > self.provider.request_timeout_ms,
            "dialer.originate_lease_secs",
            || "must be longer than provider.request_timeout_ms".into(),
        );
        p.check(
            d.max_call_secs > self.provider.ring_timeout_secs,
            "dialer.max_call_secs",
            || "must be longer than provider.ring_timeout_secs".into(),
        );
    }

    fn check_inbound(&self, p: &mut Problems) {
        let i = &self.inbound;
        if !i.enabled {
            return;
        }
        p.check(!i.dialplan.trim().is_empty(), "inbound.dialplan", || {
            "must not be empty".into()
        });
        p.check(
            !i.callback_dialplan.trim().is_empty(),
            "inbound.callback_dialplan",
            || "must not be empty".into(),
        );
        p.check(
            (1..=366).contains(&i.lookback_days),
            "inbound.lookback_days",
            || format!("{} is not in 1..=366", i.lookback_days),
        );
        p.positive(i.max_concurrent.into(), "inbound.max_concurrent");
        if let Err(e) = PhoneNumber::parse(&i.number) {
            p.0.push(("inbound.number".into(), e.to_string()));
        }
        if let Err(e) = CampaignId::parse(&i.callback_campaign) {
            p.0.push(("inbound.callback_campaign".into(), e.to_string()));
        }
    }

    fn check_reports(&self, p: &mut Problems) {
        let departments = &self.reports.departments;
        for (i, department) in departments.iter().enumerate() {
            let key = format!("reports.departments[{i}]");
            if department.is_empty()
                || department
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control())
            {
                p.0.push((
                    key,
                    format!("{department:?} is not a department id (non-empty, without spaces or control characters)"),
                ));
            } else if department == crate::telemetry::DeclaredLabel::OTHER {
                p.0.push((
                    key,
                    "\"other\" is reserved: metrics count every department not listed as other"
                        .into(),
                ));
            } else if let Some(first) = departments[..i].iter().position(|d| d == department) {
                p.0.push((
                    key,
                    format!("{department:?} is listed twice (also reports.departments[{first}])"),
                ));
            }
        }
    }

    fn check_policy(&self, p: &mut Problems) {
        if let Err(problems) = crate::domain::NumberPlan::parse(&self.policy.number_plan) {
            p.0.push(("policy.number_plan".into(), problems.join("; ")));
        }
        let hours = self.policy.retention_hours;
        if !(1..=8_760).contains(&hours) {
            p.0.push((
                "policy.retention_hours".into(),
                format!("{hours} is outside 1..=8760 (an hour to a year)"),
            ));
        }
        p.positive(
            self.policy.max_calls_per_citizen_per_day.into(),
            "policy.max_calls_per_citizen_per_day",
        );
        let (day, week) = (
            self.policy.max_calls_per_citizen_per_day,
            self.policy.max_calls_per_citizen_per_week,
        );
        if week != 0 && week < day {
            p.0.push((
                "policy.max_calls_per_citizen_per_week".into(),
                format!("{week} is less than max_calls_per_citizen_per_day ({day}); use 0 for no weekly cap"),
            ));
        }
        if let Some(secret) = &self.policy.citizen_key_secret
            && let Err(e) = crate::store::keys::CitizenKey::new(secret.expose())
        {
            p.0.push(("policy.citizen_key_secret".into(), e));
        }
        for (department, limit) in &self.rate.departments {
            let key = format!("rate.departments.{department}");
            if department.trim().is_empty() {
                p.0.push((key.clone(), "a department name cannot be empty".into()));
            }
            p.rate(limit, &key);
        }
        p.rate(&self.rate.default, "rate.default");
        for (id, limit) in &self.rate.overrides {
            let key = format!("rate.overrides.{id}");
            if let Err(e) = OfficialId::parse(id) {
                p.0.push((key.clone(), e.to_string()));
            }
            p.rate(limit, &key);
        }
    }
}
