//! The `tracing` feature: ring setup, task spawn/completion with the spawn location, a failed
//! op, and a stall each produce an event (collected by a minimal subscriber in this test).
//! Run by `scripts/test.sh` with `--features tracing`.
#![cfg(feature = "tracing")]
mod common;

use ringbolt_runtime::ops::Read;
use ringbolt_runtime::{spawn, Runtime, SharedFd};
use std::fmt::Write as _;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Debug, Clone)]
struct Seen {
    level: Level,
    target: String,
    fields: String,
}

#[derive(Default)]
struct Collector {
    events: Mutex<Vec<Seen>>,
    spans: AtomicU64,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

/// The subscriber: a handle to the shared collector.
struct Sub(Arc<Collector>);

impl Subscriber for Sub {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.0.spans.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut f = Fields(String::new());
        e.record(&mut f);
        self.0.events.lock().unwrap().push(Seen {
            level: *e.metadata().level(),
            target: e.metadata().target().to_string(),
            fields: f.0,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn runtime_emits_setup_task_op_error_and_stall_events() {
    let _w = common::watchdog("tracing_events", Duration::from_secs(20));
    let collector = Arc::new(Collector::default());
    let line = line!() + 8;
    tracing::subscriber::with_default(Sub(collector.clone()), || {
        let rt = Runtime::builder()
            .stall_threshold(Duration::from_millis(30))
            .build()
            .unwrap();
        rt.block_on(async {
            // The task that stalls (its spawn is the line `line` names).
            spawn(async { std::thread::sleep(Duration::from_millis(50)) })
                .await
                .unwrap();
            // A read on a write-only fd fails with EBADF.
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .unwrap();
            let fd = SharedFd::new(OwnedFd::from(f));
            let (res, _) = Read::op(&fd, vec![0u8; 8], 0).await;
            assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
        });
    });
    let events = collector.events.lock().unwrap().clone();
    let here = format!("{}:{line}", file!());
    let find = |target: &str, needle: &str| {
        events
            .iter()
            .find(|e| e.target == target && e.fields.contains(needle))
            .unwrap_or_else(|| panic!("no {target} event with {needle:?} in {events:#?}"))
            .clone()
    };
    let setup = find("ringbolt::ring", "io_uring set up");
    assert_eq!(setup.level, Level::INFO);
    assert!(setup.fields.contains("core=0"), "{setup:?}");
    let spawned = find("ringbolt::task", "task spawned");
    assert!(
        events
            .iter()
            .any(|e| e.fields.contains("task spawned") && e.fields.contains(&here)),
        "{events:#?}"
    );
    assert_eq!(spawned.level, Level::TRACE);
    find("ringbolt::task", "task completed");
    let err = find("ringbolt::op", "op failed");
    assert_eq!(err.level, Level::DEBUG);
    let stall = find("ringbolt::stall", &here);
    assert_eq!(stall.level, Level::WARN);
    let stalls = events
        .iter()
        .filter(|e| e.target == "ringbolt::stall")
        .count();
    assert_eq!(stalls, 1, "{events:#?}");
    assert!(
        collector.spans.load(Ordering::Relaxed) >= 1,
        "no task poll span"
    );
}
