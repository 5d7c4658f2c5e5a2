//! Realistic campaign documents and Redis's own accounting, shared by the
//! memory test (`tests/scale_memory.rs`) and the intake benchmark
//! (`benches/intake.rs`).

use sampark::policy::CallingWindow;
use serde_json::json;

/// Contacts per document, as `campaign submit` chunks a file.
pub const CHUNK: usize = 5_000;

/// Campaign `id`'s document with contacts `from..to`: first name, language,
/// office (200 distinct), service (3), visit time, 500 officials; contact
/// `i` is `c-{i:07}` with number `+9198{11_000_000 + i}`.
pub fn document(id: &str, from: usize, to: usize) -> String {
    const NAMES: [&str; 4] = ["Sanjukta", "Pradeep", "Mamata", "Bikash"];
    const SERVICES: [&str; 3] = [
        "Passport verification",
        "FIR registration",
        "Character certificate",
    ];
    let contacts: Vec<_> = (from..to)
        .map(|i| {
            json!({
                "id": format!("c-{i:07}"),
                "phone": format!("+9198{:08}", 11_000_000 + i),
                "language": "or",
                "first_name": NAMES[i % 4],
                "official_id": format!("off-{:04}", i % 500),
                "office": format!("Puri Sadar Police Station {}", i % 200),
                "service": SERVICES[i % 3],
                "visit_at": "2026-11-28T10:30:00+05:30",
            })
        })
        .collect();
    json!({
        "version": 1, "id": id, "name": "Police feedback, November",
        "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000",
        "department": "home", "contacts": contacts,
        "retry": {"max_attempts": 3, "no_answer": ["30m", "2h"], "busy": ["10m", "1h"]},
    })
    .to_string()
}

/// A field of `INFO <section>` (the type's default if absent).
pub async fn info<T: std::str::FromStr + Default>(
    conn: &mut redis::aio::MultiplexedConnection,
    section: &str,
    field: &str,
) -> T {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_default()
}

/// Redis's `used_memory` (bytes).
pub async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> i64 {
    info(conn, "memory", "used_memory").await
}

/// A window open one minute a week, on the weekday of two days ago: closed
/// at ingest, its next opening days away.
pub fn closed_window() -> CallingWindow {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    // 1970-01-01 was a Thursday.
    let names = ["thu", "fri", "sat", "sun", "mon", "tue", "wed"];
    let day = names[usize::try_from((days + 7 - 2) % 7).unwrap()].to_owned();
    CallingWindow::from_spec(&sampark::policy::WindowSpec {
        weekdays: vec![day],
        ranges: vec!["00:00-00:01".into()],
        ..Default::default()
    })
    .unwrap()
}
