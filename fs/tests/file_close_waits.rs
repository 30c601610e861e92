//! `File::close` waits for in-flight ops on the file; dropping a file with an op in flight
//! is safe.

mod common;

use common::{run, secs, TempDir};
use ringbolt_fs::OpenOptions;
use ringbolt_runtime::ops::Read;
use std::io::Write;
use std::process::Command;
use std::time::Duration;

#[test]
fn close_waits_for_an_in_flight_read() {
    let tmp = TempDir::new("close");
    let fifo = tmp.join("fifo");
    let status = Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("SKIP: mkfifo unavailable");
        return;
    }
    run(secs(30), async {
        // O_RDWR on a FIFO opens without waiting for a peer; a read blocks until data comes.
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .await
            .expect("open fifo");
        let read = Read::op(f.shared_fd(), Vec::with_capacity(16), u64::MAX);
        let reader = ringbolt_runtime::spawn(read);
        ringbolt_runtime::task::yield_now().await;
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 1, "read submitted");

        let closer = ringbolt_runtime::spawn(f.close());
        ringbolt_runtime::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !closer.is_finished(),
            "close must wait for the read in flight"
        );
        assert!(!reader.is_finished());

        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("writer");
        w.write_all(b"wake").expect("write fifo");
        let (res, buf) = ringbolt_runtime::time::timeout(secs(5), reader)
            .await
            .expect("read completes")
            .expect("reader task");
        assert_eq!(res.expect("read"), 4);
        assert_eq!(&buf[..], b"wake");
        ringbolt_runtime::time::timeout(secs(5), closer)
            .await
            .expect("close completes after the read")
            .expect("closer task")
            .expect("close");
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
    });
}

#[test]
fn drop_with_a_cancelled_read_in_flight_is_safe() {
    let tmp = TempDir::new("close-drop");
    let fifo = tmp.join("fifo");
    let status = Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("SKIP: mkfifo unavailable");
        return;
    }
    run(secs(30), async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .await
            .expect("open fifo");
        // A read that can never finish on its own, given up after 20 ms.
        let res = ringbolt_runtime::time::timeout(
            Duration::from_millis(20),
            f.read_at(Vec::with_capacity(16), u64::MAX >> 1),
        )
        .await;
        assert!(res.is_err(), "the read was pending");
        drop(f);
        for _ in 0..1000 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            ringbolt_runtime::stats().ops_in_flight,
            0,
            "the cancel completed"
        );
    });
}
