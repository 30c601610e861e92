//! `abort()` of a task blocked on an op drops it, which cancels the op.
mod common;

use common::pipe;
use ringbolt_runtime::ops::Read;
use ringbolt_runtime::{spawn, stats, task::yield_now, Runtime};
use std::time::{Duration, Instant};

#[test]
fn abort_cancels_the_op_the_task_waits_on() {
    let rt = Runtime::new().unwrap();
    let (rd, _wr) = pipe();
    rt.block_on(async move {
        let h = spawn(async move {
            let (res, _) = Read::op(&rd, vec![0u8; 16], u64::MAX).await;
            res
        });
        yield_now().await;
        yield_now().await;
        assert_eq!(stats().ops_in_flight, 1);
        assert!(!h.is_finished());
        h.abort();
        let deadline = Instant::now() + Duration::from_secs(5);
        while stats().ops_in_flight > 0 && Instant::now() < deadline {
            yield_now().await;
        }
        assert_eq!(stats().ops_in_flight, 0, "the read was cancelled");
        assert!(stats().ops_cancelled >= 1);
        assert!(h.is_finished());
        assert!(h.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn abort_after_completion_keeps_output() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let h = spawn(async { 3 });
        yield_now().await;
        assert!(h.is_finished());
        h.abort();
        assert_eq!(h.await.unwrap(), 3);
    });
}

#[test]
fn self_abort_inside_poll() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let slot: Rc<RefCell<Option<ringbolt_runtime::task::JoinHandle<()>>>> = Rc::default();
        let s2 = slot.clone();
        let h = spawn(async move {
            yield_now().await;
            if let Some(me) = s2.borrow().as_ref() {
                me.abort();
            }
            yield_now().await;
            unreachable!("aborted tasks are not polled again");
        });
        *slot.borrow_mut() = Some(h);
        for _ in 0..5 {
            yield_now().await;
        }
        let h = slot.borrow_mut().take().unwrap();
        assert!(h.await.unwrap_err().is_cancelled());
    });
}
