//! The Redis-bound ceiling measured with sampark's own commands: a run is
//! recorded with `MONITOR` (every command a client sent, in the order
//! Redis executed them, with its arguments), then replayed against a fresh
//! redis-server as fast as it takes them, and the calls of the recorded
//! run ÷ the replay's wall time is what Redis alone sustains with that
//! mix: the scripts run on the same keys with the same arguments, so they
//! find the same jobs in the same states and do the same work.
//!
//! What the replay cannot reproduce, and what it does instead:
//! - stream entry ids (`XADD *`) and `TIME` are the replay's own, so a
//!   command naming an id the recorded run got back (a ready entry in
//!   `authorize`, outbox entries in `ack_outbox`) acknowledges and deletes
//!   nothing: the same commands, each cheaper;
//! - one connection in the recorded order instead of the daemons' several
//!   (the order is what keeps the jobs' states right), with at most
//!   `window` commands outstanding, written in bursts of half of that;
//! - blocking reads (`XREAD … BLOCK`) are replayed without `BLOCK`, and a
//!   connection's own set-up (`HELLO`, `CLIENT …`, `SUBSCRIBE`), the
//!   bench's `INFO` and its markers are left out.
//!
//! The recorded and replayed runs' executed commands (scripts' own
//! included) are both counted, so the bench shows how close the replay's
//! work is to the recorded run's.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One command: its name and arguments.
pub type Command = Vec<Vec<u8>>;

/// The marker that opens the counted part of a recording.
const BEGIN: &[u8] = b"sampark-bench:begin";
/// The marker that ends a recording.
const END: &[u8] = b"sampark-bench:end";

/// Commands a replay leaves out: a connection's own set-up and state
/// (`SUBSCRIBE` would turn the replaying connection into a subscriber),
/// the bench's `INFO` and markers.
const LEFT_OUT: &[&str] = &[
    "auth",
    "client",
    "echo",
    "hello",
    "info",
    "monitor",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
    "ssubscribe",
    "subscribe",
    "sunsubscribe",
    "unsubscribe",
];

/// A client command as `MONITOR` showed it.
struct Seen {
    client: String,
    command: Command,
}

/// What a recording holds.
pub struct Recording {
    /// The commands before the `BEGIN` marker (the daemons' start, their
    /// scripts loaded, consumer groups made): replayed first, untimed.
    pub setup: Vec<Command>,
    /// The commands between the markers, in Redis's order.
    pub counted: Vec<Command>,
    /// Commands the scripts ran between the markers (`MONITOR`'s `lua`
    /// lines).
    pub in_scripts: u64,
}

/// Records what clients send one redis-server until [`Recorder::stop`].
pub struct Recorder {
    monitor: TcpStream,
    marks: TcpStream,
    reading: std::thread::JoinHandle<(Vec<Seen>, Vec<Seen>, u64)>,
}

impl Recorder {
    pub fn start(port: u16) -> Recorder {
        let mut monitor = TcpStream::connect(("127.0.0.1", port)).unwrap();
        monitor.write_all(b"MONITOR\r\n").unwrap();
        let reader = monitor.try_clone().unwrap();
        let reading = std::thread::spawn(move || read_monitor(reader));
        let marks = TcpStream::connect(("127.0.0.1", port)).unwrap();
        Recorder {
            monitor,
            marks,
            reading,
        }
    }

    /// Opens the counted part: what follows is the run's.
    pub fn begin(&mut self) {
        mark(&mut self.marks, BEGIN);
    }

    /// Ends the recording; the counted part without the commands of the
    /// clients at `skip` (`ip:port`: the bench's own polling).
    pub fn stop(mut self, skip: &HashSet<String>) -> Recording {
        mark(&mut self.marks, END);
        let (setup, counted, in_scripts) = self.reading.join().unwrap();
        let _ = self.monitor.shutdown(std::net::Shutdown::Both);
        let keep = |seen: Vec<Seen>, skip: &HashSet<String>| -> Vec<Command> {
            seen.into_iter()
                .filter(|s| !skip.contains(&s.client))
                .filter_map(|s| replayable(s.command))
                .collect()
        };
        Recording {
            setup: keep(setup, &HashSet::new()),
            counted: keep(counted, skip),
            in_scripts,
        }
    }
}

/// `ECHO marker`, waited for: `MONITOR` shows it in Redis's order.
fn mark(conn: &mut TcpStream, marker: &[u8]) {
    conn.write_all(&encode(&[b"ECHO".to_vec(), marker.to_vec()]))
        .unwrap();
    let mut reply = BufReader::new(conn);
    if let Some(error) = skip_reply(&mut reply).unwrap() {
        panic!("ECHO failed: {error}");
    }
}

/// Reads `MONITOR`'s lines until the `END` marker: (before `BEGIN`,
/// between the markers, commands scripts ran between the markers).
fn read_monitor(stream: TcpStream) -> (Vec<Seen>, Vec<Seen>, u64) {
    let mut lines = BufReader::with_capacity(1 << 20, stream);
    let (mut setup, mut counted, mut in_scripts) = (Vec::new(), Vec::new(), 0u64);
    let mut begun = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
            panic!("MONITOR ended before the end marker");
        }
        // `+<time> [<db> <client>] "<command>" "<arg>" ...`
        let Some((client, command)) = parse_line(&line) else {
            continue;
        };
        if client == "lua" {
            in_scripts += u64::from(begun);
            continue;
        }
        if command.len() == 2 && command[0].eq_ignore_ascii_case(b"echo") {
            if command[1] == BEGIN {
                begun = true;
                continue;
            }
            if command[1] == END {
                return (setup, counted, in_scripts);
            }
        }
        let seen = Seen { client, command };
        if begun {
            counted.push(seen);
        } else {
            setup.push(seen);
        }
    }
}

/// A `MONITOR` line's client (`ip:port`, or `lua`) and command.
fn parse_line(line: &[u8]) -> Option<(String, Command)> {
    let open = line.iter().position(|&b| b == b'[')?;
    let close = open + line[open..].iter().position(|&b| b == b']')?;
    let inside = std::str::from_utf8(&line[open + 1..close]).ok()?;
    let client = inside.split_once(' ')?.1.to_owned();
    let command = unquote_all(&line[close + 1..])?;
    (!command.is_empty()).then_some((client, command))
}

/// The arguments of a `MONITOR` line: each in double quotes, escaped as
/// Redis's `sdscatrepr` escapes (`\\`, `\"`, `\n`, `\r`, `\t`, `\a`,
/// `\b`, `\xHH`).
fn unquote_all(mut rest: &[u8]) -> Option<Command> {
    let mut args = Vec::new();
    loop {
        let start = rest.iter().position(|&b| b == b'"');
        let Some(start) = start else {
            return Some(args);
        };
        let mut arg = Vec::new();
        let mut i = start + 1;
        loop {
            match *rest.get(i)? {
                b'"' => break,
                b'\\' => {
                    let (byte, used) = match *rest.get(i + 1)? {
                        b'n' => (b'\n', 2),
                        b'r' => (b'\r', 2),
                        b't' => (b'\t', 2),
                        b'a' => (7, 2),
                        b'b' => (8, 2),
                        b'x' => {
                            let hex = std::str::from_utf8(rest.get(i + 2..i + 4)?).ok()?;
                            (u8::from_str_radix(hex, 16).ok()?, 4)
                        }
                        other => (other, 2),
                    };
                    arg.push(byte);
                    i += used;
                }
                b => {
                    arg.push(b);
                    i += 1;
                }
            }
        }
        args.push(arg);
        rest = &rest[i + 1..];
    }
}

/// The command as the replay sends it, or `None` if it is left out
/// (`LEFT_OUT`); a blocking read loses its `BLOCK`.
fn replayable(mut command: Command) -> Option<Command> {
    let name = String::from_utf8_lossy(&command[0]).to_ascii_lowercase();
    if LEFT_OUT.contains(&name.as_str()) {
        return None;
    }
    if (name == "xread" || name == "xreadgroup")
        && let Some(at) = command
            .iter()
            .position(|a| a.eq_ignore_ascii_case(b"block"))
    {
        command.drain(at..(at + 2).min(command.len()));
    }
    Some(command)
}

/// A command in RESP.
fn encode(command: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", command.len()).into_bytes();
    for arg in command {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one reply (RESP2, and RESP3's scalar and aggregate types): its
/// error message if it is an error (the first found inside an aggregate).
fn skip_reply(r: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    let Some((&kind, rest)) = line.split_first() else {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    };
    let text = || String::from_utf8_lossy(rest).trim_end().to_owned();
    let n = || -> i64 { text().parse().unwrap_or(0) };
    match kind {
        b'-' => Ok(Some(text())),
        b'$' | b'=' | b'!' => {
            let len = n();
            let mut body = Vec::new();
            if len >= 0 {
                body = vec![0; len as usize + 2];
                r.read_exact(&mut body)?;
            }
            Ok((kind == b'!').then(|| String::from_utf8_lossy(&body).trim_end().to_owned()))
        }
        b'*' | b'~' | b'>' | b'%' => {
            let items = if kind == b'%' { 2 * n() } else { n() };
            let mut first = None;
            for _ in 0..items.max(0) {
                let error = skip_reply(r)?;
                first = first.or(error);
            }
            Ok(first)
        }
        _ => Ok(None),
    }
}

/// What a replay took.
pub struct Replayed {
    pub elapsed: Duration,
    /// Replies that were errors (an aggregate holding one counts once).
    pub errors: u64,
    /// The errors by command (its name; a script call by its SHA-1's first
    /// characters) and message, how many of each.
    pub error_kinds: BTreeMap<(String, String), u64>,
}

/// A command's name for `Replayed::error_kinds`.
fn command_name(command: &Command) -> String {
    let word = |i: usize| {
        command
            .get(i)
            .map(|w| String::from_utf8_lossy(w).to_lowercase())
    };
    match word(0).unwrap_or_default().as_str() {
        "evalsha" => format!("evalsha {:.12}", word(1).unwrap_or_default()),
        other => other.to_owned(),
    }
}

/// Sends `commands` to `port` on one connection in their order, at most
/// `window` outstanding (written in bursts of half of that), and reads
/// every reply: the time from the first write to the last reply.
pub fn replay(port: u16, commands: &[Command], window: usize) -> Replayed {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let encoded: Vec<Vec<u8>> = commands.iter().map(|c| encode(c)).collect();
    let total = encoded.len() as u64;
    // Replies read so far, told to the writer.
    let read = Arc::new((Mutex::new(0u64), Condvar::new()));
    let names: Vec<String> = commands.iter().map(command_name).collect();
    let reader = {
        let read = Arc::clone(&read);
        let mut replies = BufReader::with_capacity(1 << 20, stream.try_clone().unwrap());
        std::thread::spawn(move || {
            let mut kinds = BTreeMap::new();
            for (i, name) in (1..=total).zip(names) {
                if let Some(message) = skip_reply(&mut replies).expect("a reply") {
                    *kinds.entry((name, message)).or_insert(0) += 1;
                }
                let (count, wake) = &*read;
                *count.lock().unwrap() = i;
                wake.notify_one();
            }
            kinds
        })
    };
    let window = window.max(1) as u64;
    let refill = (window / 2).max(1);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stream);
    let started = Instant::now();
    for (sent, command) in (0u64..).zip(&encoded) {
        let (count, wake) = &*read;
        let mut done = count.lock().unwrap();
        if sent - *done >= window {
            drop(done);
            out.flush().unwrap();
            done = count.lock().unwrap();
            while sent - *done > window - refill {
                done = wake.wait(done).unwrap();
            }
        }
        drop(done);
        out.write_all(command).unwrap();
    }
    out.flush().unwrap();
    let error_kinds = reader.join().unwrap();
    Replayed {
        elapsed: started.elapsed(),
        errors: error_kinds.values().sum(),
        error_kinds,
    }
}
