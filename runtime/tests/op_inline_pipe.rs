//! The always-ready fast path on pipes: `Read` and `Write` try `RWF_NOWAIT` at once and reach
//! the ring only when the pipe would block; results are the ring's.

mod common;

use common::{pipe, run, watchdog};
use ringbolt_runtime::ops::{Read, Write};
use ringbolt_runtime::{stats, SharedFd};
use std::io::Read as _;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

fn write_end(fd: OwnedFd) -> SharedFd {
    SharedFd::new(fd)
}

/// The fast path is off under fault injection (faults act on SQEs, and `scripts/faults.sh`
/// runs these tests too): the tests that count inline ops then only check the results.
fn fast_path_on() -> bool {
    #[cfg(feature = "fault-injection")]
    if ringbolt_runtime::fault::is_active() {
        return false;
    }
    true
}

/// A blocking pipe (the attempts use `pwritev2`/`preadv2` with `RWF_NOWAIT`).
fn blocking_pipe() -> (SharedFd, SharedFd) {
    let (r, w) = pipe();
    (r, write_end(w))
}

#[test]
fn blocking_pipe_round_trips_and_empty_reads() {
    ready_then_empty("blocking_pipe_round_trips_and_empty_reads", blocking_pipe);
}

/// A write of more than the pipe holds: the inline attempt writes the 100 bytes of room, the
/// ring goes on once a reader drains the pipe (a ring write to a pipe may itself be short),
/// and the op reports both parts; the bytes arrive in order.
#[test]
fn partial_inline_write_is_finished_by_the_ring() {
    let _w = watchdog(
        "partial_inline_write_is_finished_by_the_ring",
        Duration::from_secs(30),
    );
    run(async {
        let (r, w) = pipe();
        // SAFETY: F_SETPIPE_SZ on a pipe we own; no memory is passed.
        let cap = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
        assert!(
            cap >= 4096,
            "F_SETPIPE_SZ: {}",
            std::io::Error::last_os_error()
        );
        let cap = cap as usize;
        let w = write_end(w);
        // Leave 100 bytes of room.
        let (res, _) = Write::op(&w, vec![0xAAu8; cap - 100], u64::MAX).await;
        assert_eq!(res.unwrap(), cap - 100);
        let data: Vec<u8> = (0..3 * cap).map(|i| (i % 251) as u8).collect();
        let before = stats().ops_submitted;
        let reader = std::thread::spawn({
            let fd = r.as_raw_fd();
            move || {
                std::thread::sleep(Duration::from_millis(50));
                // SAFETY: a dup of the read end, owned by this thread's File.
                let mut f = unsafe {
                    <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(libc::dup(fd))
                };
                let mut all = vec![0u8; 4 * cap - 100];
                f.read_exact(&mut all).unwrap();
                all
            }
        });
        let (res, back) = Write::op(&w, data.clone(), u64::MAX).await;
        let first = res.unwrap();
        assert!(
            first > 100,
            "{first}: the ring did not go on after the inline 100 bytes"
        );
        assert_eq!(back, data);
        assert_eq!(
            stats().ops_submitted - before,
            1,
            "the rest went to the ring"
        );
        let mut sent = first;
        while sent < data.len() {
            let (res, _) = Write::op(&w, data[sent..].to_vec(), u64::MAX).await;
            sent += res.unwrap();
        }
        let all = reader.join().unwrap();
        assert!(all[..cap - 100].iter().all(|&b| b == 0xAA));
        assert_eq!(&all[cap - 100..], &data[..]);
    });
}

/// A pipe with `O_NONBLOCK` (both ends): the inline attempts use plain `read`/`write`
/// (rule 7 of `ops::nowait`), with the same results as the ring's.
fn nonblocking_pipe() -> (SharedFd, SharedFd) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array on success.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both fds are fresh and owned here.
    let (rd, wr) = unsafe {
        (
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[0]),
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[1]),
        )
    };
    (SharedFd::new(rd), SharedFd::new(wr))
}

/// A connected Unix stream socket pair, each end as a `SharedFd`.
fn socket_pair() -> (SharedFd, SharedFd) {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    (SharedFd::new(a.into()), SharedFd::new(b.into()))
}

/// Round trips on an always-ready stream skip the ring, and an empty one falls back to it
/// and completes when data arrives (the attempt never blocks the thread: the watchdog would
/// fire).
fn ready_then_empty(name: &'static str, make: fn() -> (SharedFd, SharedFd)) {
    let _w = watchdog(name, Duration::from_secs(30));
    run(async move {
        let (r, w) = make();
        let before = stats().ops_submitted;
        let (mut wbuf, mut rbuf) = (vec![0u8; 64], Vec::with_capacity(64));
        for i in 0..1000u32 {
            wbuf.fill(i as u8);
            let (res, b) = Write::op(&w, wbuf, u64::MAX).await;
            assert_eq!(res.unwrap(), 64);
            wbuf = b;
            rbuf.clear();
            let (res, b) = Read::op(&r, rbuf, u64::MAX).await;
            assert_eq!(res.unwrap(), 64);
            assert!(b.iter().all(|&x| x == i as u8), "round {i}");
            rbuf = b;
        }
        let ring = stats().ops_submitted - before;
        if !common::uring_only("the ring-bypass budget") {
            assert!(
                ring <= 2000 / 64 || !fast_path_on(),
                "{name}: {ring} of 2000 ops went to the ring"
            );
        }
        for round in 0..20u8 {
            let before = stats().ops_submitted;
            let read = ringbolt_runtime::spawn({
                let r = r.clone();
                async move { Read::op(&r, Vec::with_capacity(16), u64::MAX).await }
            });
            // Let the read find the stream empty and go to the ring.
            ringbolt_runtime::task::yield_now().await;
            assert!(
                !read.is_finished(),
                "{name}: read of an empty stream finished"
            );
            assert_eq!(
                stats().ops_submitted - before,
                1,
                "{name}: round {round}: not on the ring"
            );
            let (res, _) = Write::op(&w, vec![round; 5], u64::MAX).await;
            assert_eq!(res.unwrap(), 5);
            let (res, buf) = read.await.unwrap();
            assert_eq!(res.unwrap(), 5, "{name}: round {round}");
            assert_eq!(buf, [round; 5]);
        }
        // End of stream reads the same inline or not.
        drop(w);
        let (res, _) = Read::op(&r, Vec::with_capacity(16), u64::MAX).await;
        assert_eq!(res.unwrap(), 0, "{name}: end of stream");
    });
}

#[test]
fn nonblocking_pipe_round_trips_and_empty_reads() {
    ready_then_empty(
        "nonblocking_pipe_round_trips_and_empty_reads",
        nonblocking_pipe,
    );
}

/// Under fault injection a socket's SQEs get short transfers and injected errors (`EAGAIN`,
/// `ECONNRESET`) that these exact counts do not absorb, and the inline path is off anyway:
/// the socket tests then have nothing of theirs to check.
fn faults_on_sockets() -> bool {
    if fast_path_on() {
        return false;
    }
    eprintln!("skipped under fault injection: socket SQEs get short and failed transfers");
    true
}

#[test]
fn socket_round_trips_and_empty_reads() {
    if faults_on_sockets() {
        return;
    }
    ready_then_empty("socket_round_trips_and_empty_reads", socket_pair);
}

/// A write bigger than a socket's buffer room: the inline `send` moves what fits, the ring
/// finishes the op once the peer reads, and every byte arrives in order.
#[test]
fn partial_inline_send_is_finished_by_the_ring() {
    if faults_on_sockets() {
        return;
    }
    let _w = watchdog(
        "partial_inline_send_is_finished_by_the_ring",
        Duration::from_secs(30),
    );
    run(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let w = SharedFd::new(a.into());
        let data: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut b = b;
            let mut all = Vec::new();
            b.read_to_end(&mut all).unwrap();
            all
        });
        let mut sent = 0;
        while sent < data.len() {
            let (res, _) = Write::op(&w, data[sent..].to_vec(), u64::MAX).await;
            let n = res.unwrap();
            assert!(n > 0);
            sent += n;
        }
        drop(w);
        assert_eq!(reader.join().unwrap(), data);
    });
}

/// A non-blocking pipe read that goes straight to the ring (attempts off) waits for data
/// there like a blocking one: the kernel polls the pipe instead of failing with `EAGAIN`.
#[test]
fn nonblocking_pipe_read_on_the_ring_waits() {
    let _w = watchdog(
        "nonblocking_pipe_read_on_the_ring_waits",
        Duration::from_secs(30),
    );
    run(async {
        let (r, w) = nonblocking_pipe();
        r.set_inline_io(false, false);
        let read = ringbolt_runtime::spawn({
            let r = r.clone();
            async move { Read::op(&r, Vec::with_capacity(16), u64::MAX).await }
        });
        ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
        assert!(!read.is_finished(), "the ring's read did not wait");
        let (res, _) = Write::op(&w, vec![9u8; 3], u64::MAX).await;
        assert_eq!(res.unwrap(), 3);
        let (res, buf) = read.await.unwrap();
        assert_eq!(res.unwrap(), 3);
        assert_eq!(buf, [9u8; 3]);
    });
}
