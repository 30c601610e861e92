//! One core's shard of the key space, and the operations a shard executes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The core that owns `key`: FNV-1a over the key, modulo the number of cores. Every core
/// computes the same owner for the same key.
pub fn shard_of(key: &[u8], cores: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % cores.max(1) as u64) as usize
}

/// An operation on one shard. `Send`: it may be executed by another core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// The value, if present and not expired.
    Get(Vec<u8>),
    /// Stores a value, with an optional time to live.
    Set(Vec<u8>, Vec<u8>, Option<Duration>),
    /// Removes a key; 1 if it existed.
    Del(Vec<u8>),
    /// 1 if the key exists.
    Exists(Vec<u8>),
    /// Adds one to an integer value (a missing key counts as 0).
    Incr(Vec<u8>),
    /// Removes every key of the shard.
    Flush,
    /// Number of live keys in the shard.
    Size,
}

/// What an [`Op`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// A value or its absence.
    Value(Option<Vec<u8>>),
    /// Done.
    Done,
    /// A number.
    Int(i64),
    /// A failure, as the text of a RESP error.
    Error(&'static str),
}

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|t| t > now)
    }
}

/// A shard: a hash map with lazy expiry.
#[derive(Default)]
pub struct Store {
    map: HashMap<Vec<u8>, Entry>,
}

impl Store {
    /// An empty shard.
    pub fn new() -> Store {
        Store::default()
    }

    /// The live entry for `key`, dropping it if it expired.
    fn live(&mut self, key: &[u8], now: Instant) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|e| !e.live(now)) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    /// Executes one operation.
    pub fn apply(&mut self, op: Op) -> OpResult {
        let now = Instant::now();
        match op {
            Op::Get(k) => OpResult::Value(self.live(&k, now).map(|e| e.value.clone())),
            Op::Set(k, value, ttl) => {
                let expires = ttl.map(|d| now + d);
                self.map.insert(k, Entry { value, expires });
                OpResult::Done
            }
            Op::Del(k) => {
                let existed = self.live(&k, now).is_some();
                self.map.remove(&k);
                OpResult::Int(i64::from(existed))
            }
            Op::Exists(k) => OpResult::Int(i64::from(self.live(&k, now).is_some())),
            Op::Incr(k) => self.incr(k, now),
            Op::Flush => {
                self.map.clear();
                OpResult::Done
            }
            Op::Size => {
                self.map.retain(|_, e| e.live(now));
                OpResult::Int(self.map.len() as i64)
            }
        }
    }

    fn incr(&mut self, k: Vec<u8>, now: Instant) -> OpResult {
        let entry = match self.live(&k, now) {
            Some(e) => e,
            None => self.map.entry(k).or_insert(Entry {
                value: b"0".to_vec(),
                expires: None,
            }),
        };
        let Some(n) = std::str::from_utf8(&entry.value)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        else {
            return OpResult::Error("ERR value is not an integer or out of range");
        };
        let Some(n) = n.checked_add(1) else {
            return OpResult::Error("ERR increment or decrement would overflow");
        };
        entry.value = n.to_string().into_bytes();
        OpResult::Int(n)
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;

    fn k(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn set_get_del_exists_incr() {
        let mut s = Store::new();
        assert_eq!(s.apply(Op::Get(k("a"))), OpResult::Value(None));
        assert_eq!(s.apply(Op::Set(k("a"), k("1"), None)), OpResult::Done);
        assert_eq!(s.apply(Op::Get(k("a"))), OpResult::Value(Some(k("1"))));
        assert_eq!(s.apply(Op::Incr(k("a"))), OpResult::Int(2));
        assert_eq!(s.apply(Op::Incr(k("new"))), OpResult::Int(1));
        assert_eq!(s.apply(Op::Exists(k("a"))), OpResult::Int(1));
        assert_eq!(s.apply(Op::Size), OpResult::Int(2));
        assert_eq!(s.apply(Op::Del(k("a"))), OpResult::Int(1));
        assert_eq!(s.apply(Op::Del(k("a"))), OpResult::Int(0));
        s.apply(Op::Set(k("t"), k("x"), None));
        assert!(matches!(s.apply(Op::Incr(k("t"))), OpResult::Error(_)));
        s.apply(Op::Set(k("m"), i64::MAX.to_string().into_bytes(), None));
        assert!(matches!(s.apply(Op::Incr(k("m"))), OpResult::Error(_)));
        assert_eq!(s.apply(Op::Flush), OpResult::Done);
        assert_eq!(s.apply(Op::Size), OpResult::Int(0));
    }

    #[test]
    fn expiry() {
        let mut s = Store::new();
        s.apply(Op::Set(k("e"), k("v"), Some(Duration::from_millis(20))));
        s.apply(Op::Set(k("p"), k("v"), None));
        assert_eq!(s.apply(Op::Exists(k("e"))), OpResult::Int(1));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(s.apply(Op::Get(k("e"))), OpResult::Value(None));
        assert_eq!(s.apply(Op::Size), OpResult::Int(1));
    }

    #[test]
    fn shards_spread_and_agree() {
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            counts[shard_of(format!("key:{i}").as_bytes(), 4)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
        assert_eq!(shard_of(b"x", 1), 0);
    }
}
