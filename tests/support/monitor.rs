//! Redis's commands counted by `MONITOR`, never timed: each command a
//! client sends (a round trip; a pipeline's commands one by one), named by
//! what it is: `EVALSHA` by script (the SHA-1 of the sources in
//! `src/store/lua`, composed as `src/store/redis/scripts.rs` composes
//! them), a plain command by the kind of key it touches.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::net::TcpStream;
use std::path::Path;

/// SHA-1 → script name, for every script the store composes from
/// `src/store/lua` (`src/store/redis/scripts.rs`): a file alone, or after
/// the shared prelude, and the dial decision's compositions.
pub fn script_names() -> HashMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/lua");
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap();
    let prelude = read("prelude.lua");
    let limits = read("authorize/limits.lua");
    let shard = read("authorize/shard.lua");
    let context = read("authorize_slots/context.lua");
    let mut names = HashMap::new();
    let mut add = |source: String, name: &str| {
        names.insert(
            redis::Script::new(&source).get_hash().to_owned(),
            name.to_owned(),
        );
    };
    for sub in ["", "authorize_slots/"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "lua") {
                continue;
            }
            let rel = format!("{sub}{}", path.file_name().unwrap().to_string_lossy());
            let name = rel.trim_end_matches(".lua").to_owned();
            let body = read(&rel);
            add(body.clone(), &name);
            add(format!("{prelude}{body}"), &name);
            add(format!("{prelude}{limits}{body}"), &name);
            add(format!("{prelude}{limits}{shard}{context}{body}"), &name);
        }
    }
    names.insert(authorize_sha(), "authorize".to_owned());
    names
}

/// The SHA-1 of the dial decision's script as the store composes it: the
/// prelude, the limits and shard fragments, then `authorize.lua`.
pub fn authorize_sha() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/lua");
    let source: String = [
        "prelude.lua",
        "authorize/limits.lua",
        "authorize/shard.lua",
        "authorize.lua",
    ]
    .iter()
    .map(|rel| std::fs::read_to_string(dir.join(rel)).unwrap())
    .collect();
    redis::Script::new(&source).get_hash().to_owned()
}

/// A key's kind: its name without the shard, the ids and the tags
/// (`sampark:{3}:job:cost:c-001` → `job`), or `None` for an argument that
/// is not a key.
pub fn key_kind(key: &str) -> Option<String> {
    let rest = key.strip_prefix("sampark:")?;
    let parts: Vec<&str> = rest.split(':').filter(|p| !p.starts_with('{')).collect();
    Some(parts.first()?.to_string())
}

/// The command that ends a count: `MONITOR` shows it after everything
/// Redis ran before it.
const END: &str = "sampark-tests:monitor-end";

/// Counts, by command, what clients other than `skip` (`ip:port`) send
/// Redis, until stopped.
pub struct Monitor {
    port: u16,
    stream: TcpStream,
    counting: std::thread::JoinHandle<BTreeMap<String, u64>>,
}

impl Monitor {
    pub fn start(port: u16, skip: Option<String>) -> Monitor {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(b"MONITOR\r\n").unwrap();
        let reader = stream.try_clone().unwrap();
        let names = script_names();
        let counting = std::thread::spawn(move || {
            let mut counts = BTreeMap::new();
            let mut lines = std::io::BufReader::new(reader);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line.contains(END) {
                    break;
                }
                if let Some(name) = name_of(&line, skip.as_deref(), &names) {
                    *counts.entry(name).or_insert(0) += 1;
                }
                line.clear();
            }
            counts
        });
        Monitor {
            port,
            stream,
            counting,
        }
    }

    /// The counts of every command Redis ran before this call.
    pub fn stop(self) -> BTreeMap<String, u64> {
        let mut end = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        end.write_all(format!("ECHO {END}\r\n").as_bytes()).unwrap();
        let mut reply = String::new();
        std::io::BufReader::new(end).read_line(&mut reply).unwrap();
        let counts = self.counting.join().unwrap();
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        counts
    }
}

/// A `MONITOR` line's command by name (`evalsha <script>`, or the command
/// and the kind of key it touches), or `None` for a command a script ran
/// or one from `skip`.
fn name_of(line: &str, skip: Option<&str>, names: &HashMap<String, String>) -> Option<String> {
    // `<time> [<db> <client>] "<command>" "<arg>" ...`
    let (client, rest) = line
        .split_once(" [")
        .and_then(|(_, l)| l.split_once("] \""))?;
    if client.ends_with(" lua") || skip.is_some_and(|s| client.ends_with(s)) {
        return None;
    }
    let mut words = rest.split("\" \"");
    let mut word = || {
        words
            .next()
            .unwrap_or("")
            .trim_end_matches(['"', '\r', '\n'])
    };
    let command = word().to_ascii_lowercase();
    if command == "evalsha" {
        let name = names.get(word()).map_or("?", String::as_str);
        return Some(format!("evalsha {name}"));
    }
    // Plain commands by the kind of key they touch.
    Some(match key_kind(word()) {
        Some(kind) => format!("{command} {kind}"),
        None => command,
    })
}
