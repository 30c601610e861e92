//! Crash durability: a child appends checksummed records, `sync_data` after each, and reports
//! each acknowledgement on a pipe; the parent SIGKILLs it at random moments 50 times. Every
//! acknowledged record must be present and intact afterwards.
//!
//! The child is this test binary re-executed with `RINGBOLT_FS_CRASH_CHILD` naming the log
//! file. On start it recovers like a real write-ahead log: it keeps the longest valid prefix
//! of records, truncates a torn tail, and appends from there.

mod common;

use common::{fnv1a, run, secs, seed, Rng, TempDir};
use ringbolt_fs::OpenOptions;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "RINGBOLT_FS_CRASH_CHILD";
const MAGIC: u32 = 0x5242_4c54;
const HEADER: usize = 4 + 8 + 4;
const TRAILER: usize = 8;
const KILLS: usize = 50;

/// The payload of record `seq`: derived from `seq`, so the parent can check every byte.
fn payload(seq: u64) -> Vec<u8> {
    let len = 1 + (seq.wrapping_mul(7919) % 4096) as usize;
    Rng::new(seq + 1).bytes(len)
}

fn encode(seq: u64) -> Vec<u8> {
    let p = payload(seq);
    let mut rec = Vec::with_capacity(HEADER + p.len() + TRAILER);
    rec.extend_from_slice(&MAGIC.to_le_bytes());
    rec.extend_from_slice(&seq.to_le_bytes());
    rec.extend_from_slice(&(p.len() as u32).to_le_bytes());
    rec.extend_from_slice(&p);
    let sum = fnv1a(&rec);
    rec.extend_from_slice(&sum.to_le_bytes());
    rec
}

/// The sequence numbers of the longest valid prefix of records, and where it ends.
fn scan(log: &[u8]) -> (Vec<u64>, usize) {
    let mut seqs = Vec::new();
    let mut pos = 0;
    while log.len() - pos >= HEADER + TRAILER {
        let word = |at: usize, n: usize| &log[pos + at..pos + at + n];
        let magic = u32::from_le_bytes(word(0, 4).try_into().expect("4 bytes"));
        let seq = u64::from_le_bytes(word(4, 8).try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(word(12, 4).try_into().expect("4 bytes")) as usize;
        if magic != MAGIC || len > 4096 || log.len() - pos < HEADER + len + TRAILER {
            break;
        }
        let body = &log[pos..pos + HEADER + len];
        let sum = u64::from_le_bytes(word(HEADER + len, 8).try_into().expect("8 bytes"));
        if fnv1a(body) != sum || body[HEADER..] != payload(seq)[..] {
            break;
        }
        seqs.push(seq);
        pos += HEADER + len + TRAILER;
    }
    (seqs, pos)
}

/// The child: recover, then append and acknowledge until killed (bounded in count and time).
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    run(secs(60), async move {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .expect("open log");
        let len = f.metadata().await.expect("metadata").len() as usize;
        let (res, log) = f.read_exact_at(Vec::with_capacity(len), 0).await;
        res.expect("read log");
        let (seqs, valid) = scan(&log);
        if valid < len {
            f.set_len(valid as u64).await.expect("truncate torn tail");
            f.sync_data().await.expect("sync truncation");
        }
        let first = seqs.last().map_or(0, |s| s + 1);
        let mut pos = valid as u64;
        let deadline = Instant::now() + Duration::from_secs(20);
        for seq in first..first + 100_000 {
            if Instant::now() > deadline {
                break;
            }
            let rec = encode(seq);
            let n = rec.len() as u64;
            let (res, _) = f.write_all_at(rec, pos).await;
            res.expect("append");
            f.sync_data().await.expect("sync_data");
            // Only now is the record durable: acknowledge it.
            println!("ACK {seq}");
            pos += n;
        }
    });
}

#[test]
fn acknowledged_records_survive_sigkill() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let tmp = TempDir::new("crash");
    let log = tmp.join("wal.log");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = Rng::new(seed("crash"));
    let mut acked = BTreeSet::new();
    let started = Instant::now();
    for round in 0..KILLS {
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "crash test too slow"
        );
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(seq) = line.strip_prefix("ACK ") {
                    acks.push(seq.trim().parse::<u64>().expect("ack number"));
                }
            }
            acks
        });
        // A random moment: some kills land during start-up and recovery, most mid-append.
        std::thread::sleep(Duration::from_micros(2_000 + rng.below(40_000)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait child");
        assert!(
            !status.success(),
            "round {round}: child should have been killed: {status}"
        );
        let acks = reader.join().expect("reader thread");
        acked.extend(acks);

        let bytes = std::fs::read(&log).unwrap_or_default();
        let (seqs, _) = scan(&bytes);
        let present: BTreeSet<u64> = seqs.iter().copied().collect();
        assert!(
            seqs.iter().enumerate().all(|(i, &s)| s == i as u64),
            "round {round}: records are not a gapless sequence"
        );
        let lost: Vec<_> = acked.difference(&present).take(5).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged records lost: {lost:?}"
        );
    }
    eprintln!(
        "{} records acknowledged over {KILLS} kills in {:?}",
        acked.len(),
        started.elapsed()
    );
    assert!(
        acked.len() >= KILLS,
        "too few acknowledgements to mean anything: {}",
        acked.len()
    );
}
