//! `Read::op_checked` and `Write::op_checked` with a failed check: the op completes with the
//! caller's error and gives the buffer back, and neither the ring nor an inline attempt sees
//! it; cancelled before its first poll, it still reports the refusal. With a passing check it
//! is the plain op.

mod common;

use common::{pipe, run, watchdog};
use ringbolt_runtime::ops::{Read, Write};
use ringbolt_runtime::{stats, SharedFd};
use std::io;
use std::time::Duration;

fn refusal() -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "refused by the caller",
    ))
}

#[test]
fn refused_ops_complete_with_the_error_and_never_run() {
    let _w = watchdog(
        "refused_ops_complete_with_the_error_and_never_run",
        Duration::from_secs(30),
    );
    run(async {
        let (r, w) = pipe();
        let w = SharedFd::new(w);
        // Data waiting: an inline attempt or a ring read would get it at once.
        let (res, _) = Write::op(&w, b"hello".to_vec(), u64::MAX).await;
        assert_eq!(res.expect("write"), 5);

        let before = stats().ops_submitted;
        let (res, buf) = Read::op_checked(&r, Vec::with_capacity(64), u64::MAX, refusal()).await;
        let e = res.expect_err("refused read");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(e.to_string(), "refused by the caller");
        assert_eq!(buf.capacity(), 64, "the buffer comes back");
        assert!(buf.is_empty(), "nothing was read");

        let (res, buf) = Write::op_checked(&w, b"bye".to_vec(), u64::MAX, refusal()).await;
        assert_eq!(
            res.expect_err("refused write").kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(buf, b"bye", "the buffer comes back");

        // Cancelled before the first poll: the refusal, not ECANCELED.
        let mut op = Read::op_checked(&r, Vec::with_capacity(64), u64::MAX, refusal());
        op.cancel();
        let (res, _) = op.await;
        assert_eq!(
            res.expect_err("refused").kind(),
            io::ErrorKind::InvalidInput
        );
        // A plain op cancelled before its first poll: ECANCELED.
        let mut op = Read::op(&r, Vec::with_capacity(64), u64::MAX);
        op.cancel();
        let (res, _) = op.await;
        assert_eq!(
            res.expect_err("cancelled").raw_os_error(),
            Some(libc::ECANCELED)
        );
        assert_eq!(stats().ops_submitted, before, "nothing reached the ring");

        // A passing check: the plain op, which reads what is waiting.
        let (res, buf) = Read::op_checked(&r, Vec::with_capacity(64), u64::MAX, Ok(())).await;
        assert_eq!(res.expect("read"), 5);
        assert_eq!(buf, b"hello");
    });
}
