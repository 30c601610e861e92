//! An in-flight op polled outside any runtime (or on a runtime that does not own it) must keep
//! its state where the driver finds it: the kernel's bytes may never land in freed memory.
//!
//! The old `Op::poll` moved the boxed state out of the future before asking for the current
//! driver; with no runtime current that call panicked, and the unwind freed the box while the
//! ring still owned the read. The kernel then wrote into whatever the allocator reused the
//! block for.
mod common;

use common::{pipe, watchdog};
use ringbolt_runtime::ops::Read;
use ringbolt_runtime::Runtime;
use std::future::Future;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const PATTERN: u8 = 0xA5;
const LEN: usize = 4096;

fn submit_read(
    rt: &Runtime,
    fd: &ringbolt_runtime::SharedFd,
) -> ringbolt_runtime::Op<Read<Vec<u8>>> {
    rt.block_on(async {
        let mut op = Read::op(fd, vec![0u8; LEN], u64::MAX);
        std::future::poll_fn(|cx| {
            assert!(Pin::new(&mut op).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 1);
        // Handed out still in flight, on purpose (the point of the test).
        std::cell::Cell::new(Some(op))
    })
    .take()
    .unwrap()
}

#[test]
fn in_flight_read_polled_outside_any_runtime_never_frees_its_buffer() {
    let _wd = watchdog("op_polled_outside_runtime", Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    let (rd, wr) = pipe();
    let mut wr = std::fs::File::from(wr);
    let mut op = submit_read(&rt, &rd);

    // Polled with no runtime current: a clear panic, with the state kept.
    let mut cx = Context::from_waker(Waker::noop());
    let res = catch_unwind(AssertUnwindSafe(|| Pin::new(&mut op).poll(&mut cx)));
    let msg = res.expect_err("polling an in-flight op outside its runtime must panic");
    let msg = msg
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| msg.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    // Dropped outside any runtime too: the state is leaked, never freed.
    drop(op);

    // Fresh allocations of the same size would reuse a freed block.
    let fresh: Vec<Vec<u8>> = (0..8).map(|_| vec![0u8; LEN]).collect();
    wr.write_all(&[PATTERN; LEN]).unwrap();
    // Let ring A run its task work so the kernel completes the read.
    rt.block_on(ringbolt_runtime::time::sleep(Duration::from_millis(20)));
    for (i, v) in fresh.iter().enumerate() {
        assert!(
            !v.contains(&PATTERN),
            "the kernel wrote the pipe's bytes into fresh allocation {i}: use after free"
        );
    }
    assert!(msg.contains("outside its runtime"), "panic message: {msg}");
    drop(rt);
}

#[test]
fn in_flight_read_polled_on_a_foreign_runtime_panics_and_stays_sound() {
    let _wd = watchdog("op_polled_foreign_runtime", Duration::from_secs(30));
    let a = Runtime::new().unwrap();
    let b = Runtime::new().unwrap();
    let (rd, wr) = pipe();
    let mut wr = std::fs::File::from(wr);
    let mut op = submit_read(&a, &rd);
    let res = b.block_on(async {
        std::future::poll_fn(|cx| {
            Poll::Ready(catch_unwind(AssertUnwindSafe(|| {
                Pin::new(&mut op).poll(cx)
            })))
        })
        .await
    });
    assert!(res.is_err(), "polling on a foreign runtime must panic");
    // Back on its own runtime the op still completes with the pipe's bytes.
    wr.write_all(b"hello").unwrap();
    let (n, buf) = a.block_on(op);
    assert_eq!(&buf[..n.unwrap()], b"hello");
    assert_eq!(a.stats().ops_in_flight, 0);
}

#[test]
fn unsubmitted_op_polled_outside_any_runtime_returns_an_error() {
    let (rd, _wr) = pipe();
    let mut op = Read::op(&rd, vec![0u8; 16], u64::MAX);
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(&mut op).poll(&mut cx) {
        Poll::Ready((Err(e), buf)) => {
            assert!(e.to_string().contains("inside a ringbolt runtime"), "{e}");
            assert_eq!(buf.capacity(), 16, "the buffer comes back");
        }
        other => panic!("expected an error, got {:?}", other.map(|(r, _)| r)),
    }
}
