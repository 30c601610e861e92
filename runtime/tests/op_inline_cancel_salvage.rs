//! Inline op state, `Op::cancel` and `Salvage` sinks.
//!
//! - An inline op (no box) that moves between polls while in flight still gets its bytes into
//!   its own buffer.
//! - `Op::cancel` stops an in-flight op and hands back the very same buffer (by pointer).
//! - A read dropped in flight with a sink: the bytes the kernel delivered reach the sink, with
//!   `parked` before and `done` after; a read whose cancellation wins reaches it as ECANCELED.
mod common;

use common::{pipe, watchdog};
use ringbolt_runtime::buf::BufResult;
use ringbolt_runtime::ops::Read;
use ringbolt_runtime::{stats, task::yield_now, Op, Runtime, Salvage};
use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

async fn settle() {
    let deadline = Instant::now() + Duration::from_secs(5);
    while stats().ops_in_flight > 0 && Instant::now() < deadline {
        yield_now().await;
    }
    assert_eq!(stats().ops_in_flight, 0, "ops left in flight");
}

#[test]
fn an_inline_read_moved_while_in_flight_fills_its_own_buffer() {
    let _wd = watchdog("inline_moved", Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    let (rd, wr) = pipe();
    let mut wr = std::fs::File::from(wr);
    rt.block_on(async move {
        let buf = Vec::with_capacity(32);
        let ptr = buf.as_ptr();
        let op = Read::op(&rd, buf, u64::MAX);
        // Polled once (submitted) in one place...
        let mut first = vec![op];
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut first[0]).poll(&mut cx).is_pending());
        yield_now().await;
        assert!(first[0].is_in_flight());
        // ...then moved to another place (a new heap block) while the kernel holds the SQE.
        let mut moved: Box<Op<Read<Vec<u8>>>> = Box::new(first.pop().unwrap());
        drop(first);
        wr.write_all(b"moved inline op").unwrap();
        let (res, buf) = (&mut *moved).await;
        assert_eq!(res.unwrap(), 15);
        assert_eq!(&buf[..], b"moved inline op");
        assert_eq!(buf.as_ptr(), ptr, "the read filled the buffer it was given");
    });
}

#[test]
fn cancel_returns_the_same_buffer_and_leaves_nothing_in_flight() {
    let _wd = watchdog("cancel_same_buffer", Duration::from_secs(60));
    let rt = Runtime::new().unwrap();
    let (rd, _wr) = pipe();
    rt.block_on(async move {
        let mut buf = Vec::with_capacity(64);
        let ptr = buf.as_ptr();
        for _ in 0..1000 {
            let mut op = Read::op(&rd, buf, u64::MAX);
            let timed_out =
                ringbolt_runtime::time::timeout(Duration::from_micros(10), &mut op).await;
            assert!(timed_out.is_err(), "nobody writes to the pipe");
            assert!(op.is_in_flight());
            op.cancel();
            let (res, back) = op.await;
            assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
            assert_eq!(back.as_ptr(), ptr, "the same allocation comes back");
            buf = back;
        }
        settle().await;
    });
}

#[test]
fn cancel_before_submission_never_reaches_the_kernel() {
    let rt = Runtime::new().unwrap();
    let (rd, _wr) = pipe();
    rt.block_on(async move {
        let before = stats().ops_submitted;
        let mut op = Read::op(&rd, vec![0u8; 8], u64::MAX);
        op.cancel();
        let (res, buf) = op.await;
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
        assert_eq!(buf.capacity(), 8);
        assert_eq!(stats().ops_submitted, before);
    });
}

#[derive(Default)]
struct Sink {
    events: RefCell<Vec<String>>,
    data: RefCell<Vec<u8>>,
}

impl Salvage<BufResult<usize, Vec<u8>>> for Sink {
    fn parked(&self) {
        self.events.borrow_mut().push("parked".into());
    }
    fn salvage(&self, (res, buf): BufResult<usize, Vec<u8>>) {
        match res {
            Ok(n) => {
                self.events.borrow_mut().push(format!("data {n}"));
                self.data.borrow_mut().extend_from_slice(&buf[..n]);
            }
            Err(e) => self
                .events
                .borrow_mut()
                .push(format!("err {}", e.raw_os_error().unwrap())),
        }
    }
    fn done(&self) {
        self.events.borrow_mut().push("done".into());
    }
}

/// A future that polls `op` once, so it is in flight, then resolves.
fn submit<T: ringbolt_runtime::OpCode>(op: &mut Op<T>) -> impl Future<Output = ()> + '_ {
    let mut polled = false;
    std::future::poll_fn(move |cx| {
        if !polled {
            polled = true;
            assert!(Pin::new(&mut *op).poll(cx).is_pending());
        }
        Poll::Ready(())
    })
}

#[test]
fn a_read_dropped_after_the_kernel_filled_it_hands_the_bytes_to_its_sink() {
    let _wd = watchdog("salvage_data", Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    let (rd, wr) = pipe();
    let mut wr = std::fs::File::from(wr);
    rt.block_on(async move {
        let sink = Rc::new(Sink::default());
        let mut op = Read::op(&rd, Vec::with_capacity(64), u64::MAX).salvage(sink.clone());
        submit(&mut op).await;
        yield_now().await; // the SQE is in the kernel
        wr.write_all(b"kept, not lost").unwrap();
        // The CQE may or may not have been posted yet; either way nothing is lost: the bytes
        // reach the sink, or the cancellation won and they are still in the pipe.
        drop(op);
        settle().await;
        let mut got = sink.data.borrow().clone();
        let ev = sink.events.borrow().clone();
        if got.is_empty() {
            assert_eq!(ev, ["parked", &format!("err {}", libc::ECANCELED), "done"]);
            let (res, buf) = Read::op(&rd, Vec::with_capacity(64), u64::MAX).await;
            got.extend_from_slice(&buf[..res.unwrap()]);
        } else {
            assert!(
                ev == ["data 14"] || ev == ["parked", "data 14", "done"],
                "events: {ev:?}"
            );
        }
        assert_eq!(&got[..], b"kept, not lost");
    });
}

#[test]
fn a_read_completed_before_its_drop_hands_the_bytes_to_its_sink() {
    let _wd = watchdog("salvage_completed", Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    let (rd, wr) = pipe();
    let mut wr = std::fs::File::from(wr);
    rt.block_on(async move {
        let sink = Rc::new(Sink::default());
        let mut op = Read::op(&rd, Vec::with_capacity(64), u64::MAX).salvage(sink.clone());
        submit(&mut op).await;
        yield_now().await;
        wr.write_all(b"already here").unwrap();
        // Let the completion be reaped into the op's slot without polling the op.
        let deadline = Instant::now() + Duration::from_secs(5);
        while stats().ops_in_flight > 0 && Instant::now() < deadline {
            yield_now().await;
        }
        drop(op);
        assert_eq!(&sink.data.borrow()[..], b"already here");
        assert_eq!(sink.events.borrow().clone(), ["data 12"]);
    });
}

#[test]
fn a_read_dropped_before_any_data_reaches_its_sink_as_cancelled() {
    let _wd = watchdog("salvage_cancel", Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    let (rd, _wr) = pipe();
    rt.block_on(async move {
        let sink = Rc::new(Sink::default());
        let mut op = Read::op(&rd, Vec::with_capacity(64), u64::MAX).salvage(sink.clone());
        submit(&mut op).await;
        yield_now().await;
        drop(op);
        assert_eq!(sink.events.borrow().clone(), ["parked"]);
        settle().await;
        assert_eq!(
            sink.events.borrow().clone(),
            ["parked", &format!("err {}", libc::ECANCELED), "done"]
        );
    });
}
