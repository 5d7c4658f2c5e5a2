//! A generated campaign file of any size and `campaign submit` of it with
//! the real binary, measuring the child's peak resident memory (`VmHWM`
//! from `/proc/<pid>/status`, sampled every 5 ms until it exits: the high
//! water mark only grows, so the last sample is the peak up to the
//! process's teardown). Used by `tests/streaming_submit.rs` and
//! `benches/scale.rs` (included with `#[path]`, not through `mod.rs`).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The campaign id of generated files.
pub const CAMPAIGN: &str = "stream-big";

/// Writes a JSON campaign document of `contacts` valid contacts over
/// `officials` officials, streamed to disk; returns its size in bytes.
pub fn write_json(path: &Path, contacts: usize, officials: usize) -> u64 {
    let file = std::fs::File::create(path).expect("create the campaign file");
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write!(
        out,
        r#"{{"version": 1, "id": "{CAMPAIGN}", "name": "Streaming submit", "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000", "department": "revenue", "contacts": ["#
    )
    .unwrap();
    for i in 0..contacts {
        let sep = if i == 0 { "" } else { "," };
        write!(
            out,
            r#"{sep}
  {{"id": "c-{i:07}", "phone": "+9198{i:08}", "language": "or", "official_id": "off-{:04}", "office": "Cuttack Sadar Tahasil", "service": "Mutation of land records", "visit_at": "2026-11-28T10:30:00+05:30"}}"#,
            i % officials
        )
        .unwrap();
    }
    writeln!(out, "\n]}}").unwrap();
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// What one submission did.
#[derive(Debug)]
pub struct Submitted {
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory, bytes.
    pub peak_rss: u64,
    pub elapsed: Duration,
}

/// Runs `sampark campaign submit FILE --redis URL` and samples its memory.
pub fn submit_measured(binary: &Path, file: &Path, redis_url: &str) -> Submitted {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let started = Instant::now();
    let mut cmd = Command::new(binary);
    for (k, _) in std::env::vars() {
        if k.starts_with("SAMPARK__") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["campaign", "submit"])
        .arg(file)
        .args(["--redis", redis_url])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("sampark runs");
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let exit = loop {
        if let Some(kb) = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| vm_hwm_kb(&s))
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(exit) = child.try_wait().expect("wait for sampark") {
            break exit;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Submitted {
        exit: exit.code(),
        stdout: std::fs::read_to_string(out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(err_path).unwrap_or_default(),
        peak_rss: peak_kb * 1024,
        elapsed: started.elapsed(),
    }
}

fn vm_hwm_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
