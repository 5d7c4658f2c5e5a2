//! Redis Cluster hash slots, computed on our side: which slot a key hashes
//! to (CRC16 of its hash tag, mod 16384), which key routes a command, and the
//! guard that refuses a script call whose keys span slots.
//!
//! Owns: the slot arithmetic, the routing key of the commands sampark sends,
//! and the cross-slot guard. Does not own: routing itself (the `redis`
//! crate's cluster client follows MOVED/ASK and refreshes its slot map).
//!
//! The guard runs in every build where `debug_assertions` are on (tests,
//! the demo in debug) for every `EVAL`/`EVALSHA`, whatever the mode, so a
//! script that names keys of two slots fails its tests even against a
//! standalone Redis, which would run it happily. In release builds a
//! cluster answers such a call with `CROSSSLOT` itself.

use std::collections::HashSet;
use std::sync::LazyLock;

use redis::{Arg, Cmd};

/// SHA1s of the scripts composed for a single node, which the guard lets
/// through outside a cluster (`Scripts::single_node`).
static SINGLE_NODE: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let scripts = super::scripts::Scripts::new();
    scripts
        .single_node()
        .into_iter()
        .map(|s| s.get_hash().to_owned())
        .collect()
});

/// Redis Cluster's number of hash slots.
pub const SLOTS: u16 = 16_384;

/// CRC16/XMODEM (polynomial 0x1021, initial 0), as Redis Cluster uses.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The part of `key` that is hashed: the text between the first `{` and the
/// first `}` after it when that is not empty, else the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

/// The hash slot of `key`.
pub fn slot_of(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) % SLOTS
}

fn arg(cmd: &Cmd, idx: usize) -> Option<&[u8]> {
    match cmd.args_iter().nth(idx)? {
        Arg::Simple(bytes) => Some(bytes),
        _ => None,
    }
}

fn name(cmd: &Cmd) -> Vec<u8> {
    arg(cmd, 0).unwrap_or_default().to_ascii_uppercase()
}

/// The keys a script call names (`EVAL`/`EVALSHA`/`FCALL`: `numkeys` after
/// the script), or `None` for any other command.
pub fn script_keys(cmd: &Cmd) -> Option<Vec<&[u8]>> {
    let name = name(cmd);
    if !matches!(
        &name[..],
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" | b"FCALL" | b"FCALL_RO"
    ) {
        return None;
    }
    let count: usize = std::str::from_utf8(arg(cmd, 2)?).ok()?.parse().ok()?;
    Some((0..count).filter_map(|i| arg(cmd, 3 + i)).collect())
}

/// The key a command is routed by, for grouping a pipeline by slot: `None`
/// for a command without keys (its reply may come from any node).
pub fn routing_key(cmd: &Cmd) -> Option<&[u8]> {
    let name = name(cmd);
    match &name[..] {
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" | b"FCALL" | b"FCALL_RO" => {
            script_keys(cmd)?.first().copied()
        }
        b"XREAD" | b"XREADGROUP" => {
            let streams = cmd
                .args_iter()
                .position(|a| matches!(a, Arg::Simple(b) if b.eq_ignore_ascii_case(b"STREAMS")))?;
            arg(cmd, streams + 1)
        }
        b"XGROUP" | b"XINFO" | b"OBJECT" | b"MEMORY" => arg(cmd, 2),
        b"TIME" | b"PING" | b"INFO" | b"CONFIG" | b"SCAN" | b"CLUSTER" | b"WAIT" | b"SCRIPT"
        | b"DBSIZE" | b"ROLE" | b"ECHO" | b"FLUSHALL" | b"FLUSHDB" => None,
        _ => arg(cmd, 1),
    }
}

/// `Err` naming the keys when a script call's keys hash to more than one
/// slot (Redis Cluster would refuse it with CROSSSLOT), unless the script
/// is one composed for a single node and `cluster` is false.
pub fn check_script(cmd: &Cmd, cluster: bool) -> Result<(), String> {
    let Some(keys) = script_keys(cmd) else {
        return Ok(());
    };
    if !cluster
        && name(cmd) == b"EVALSHA"
        && arg(cmd, 1).is_some_and(|sha| SINGLE_NODE.contains(&*String::from_utf8_lossy(sha)))
    {
        return Ok(());
    }
    let Some(first) = keys.first() else {
        return Ok(());
    };
    let slot = slot_of(first);
    if let Some(other) = keys.iter().find(|k| slot_of(k) != slot) {
        return Err(format!(
            "script keys span slots: `{}` is in slot {slot}, `{}` in slot {} \
             (every key of one script must share a hash tag)",
            String::from_utf8_lossy(first),
            String::from_utf8_lossy(other),
            slot_of(other)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from Redis's CLUSTER KEYSLOT.
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"bar"), 5061);
        assert_eq!(slot_of(b"123456789"), 12739);
        assert_eq!(slot_of(b"{user1000}.following"), slot_of(b"user1000"));
        assert_eq!(slot_of(b"sampark:{s03}:ready"), slot_of(b"s03"));
    }

    #[test]
    fn hash_tags_follow_the_cluster_rules() {
        assert_eq!(hash_tag(b"a{b}c"), b"b");
        assert_eq!(hash_tag(b"a{}c{d}"), b"a{}c{d}");
        assert_eq!(hash_tag(b"a{b{c}d}"), b"b{c");
        assert_eq!(
            hash_tag(b"{sampark:feedback}:relayed:x/y"),
            b"sampark:feedback"
        );
        assert_eq!(hash_tag(b"no-tag"), b"no-tag");
        assert_eq!(hash_tag(b"open{only"), b"open{only");
    }

    #[test]
    fn the_guard_refuses_a_script_across_slots() {
        let mut one = redis::cmd("EVALSHA");
        one.arg("abc")
            .arg(2)
            .arg("x:{t}:a")
            .arg("y:{t}:b")
            .arg("arg");
        assert!(check_script(&one, true).is_ok());
        let mut two = redis::cmd("EVALSHA");
        two.arg("abc").arg(2).arg("foo").arg("bar").arg("{foo}");
        let err = check_script(&two, true).unwrap_err();
        assert!(err.contains("`foo` is in slot 12182"), "{err}");
        assert!(check_script(&redis::cmd("GET").arg("foo").clone(), true).is_ok());
        let mut none = redis::cmd("EVAL");
        none.arg("return 1").arg(0);
        assert!(check_script(&none, true).is_ok());
    }

    #[test]
    fn a_single_node_script_spans_slots_only_outside_a_cluster() {
        let scripts = crate::store::redis::scripts::Scripts::new();
        let mut call = redis::cmd("EVALSHA");
        call.arg(scripts.authorize.get_hash())
            .arg(2)
            .arg("foo")
            .arg("bar");
        assert!(check_script(&call, false).is_ok());
        assert!(check_script(&call, true).is_err());
        let mut other = redis::cmd("EVALSHA");
        other
            .arg(scripts.authorize_slots.job.get_hash())
            .arg(2)
            .arg("foo")
            .arg("bar");
        assert!(check_script(&other, false).is_err());
    }

    #[test]
    fn routing_keys_of_the_commands_sampark_sends() {
        let read = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg("c")
            .arg("COUNT")
            .arg(5)
            .arg("STREAMS")
            .arg("s1")
            .arg(">")
            .clone();
        assert_eq!(routing_key(&read), Some(&b"s1"[..]));
        let group = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg("k")
            .arg("g")
            .arg("0")
            .clone();
        assert_eq!(routing_key(&group), Some(&b"k"[..]));
        assert_eq!(routing_key(&redis::cmd("TIME")), None);
        assert_eq!(
            routing_key(redis::cmd("HGET").arg("h").arg("f")),
            Some(&b"h"[..])
        );
    }
}
