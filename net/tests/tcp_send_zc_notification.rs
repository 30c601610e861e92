//! A zero-copy send hands its buffer back only after the kernel's notification CQE, not at the
//! send's result; and a send_zc future dropped in flight keeps its buffer alive until that
//! notification.
//!
//! The notification of a TCP zero-copy send comes when every byte of it has been transmitted
//! and acknowledged. The receiver here does not read, so most of a 2 MiB send sits in the sender's queue: the send's result (a short count, `F_MORE`) comes at
//! once, the notification only after the receiver drains.
//!
//! The buffer type poisons its bytes and counts its drop: freed early, the receiver would see
//! the poison (a use after free), and the counter would show it.

mod common;

use common::{watchdog, Rng};
use ringbolt_net::TcpStream;
use ringbolt_runtime::buf::IoBuf;
use ringbolt_runtime::time::{sleep, timeout};
use ringbolt_runtime::Runtime;
use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;
use std::time::{Duration, Instant};

const LEN: usize = 2 * 1024 * 1024;

/// A heap buffer that overwrites its bytes with a poison pattern and counts itself when
/// dropped.
struct Tracked {
    data: Box<[u8]>,
    drops: Rc<Cell<u32>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.data.fill(0xEE);
        self.drops.set(self.drops.get() + 1);
    }
}

// SAFETY: the pointer is to the boxed slice's heap block, which does not move when `Tracked`
// moves and is freed only when `Tracked` is dropped; all of it is initialised.
unsafe impl IoBuf for Tracked {
    fn stable_ptr(&self) -> *const u8 {
        self.data.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.data.len()
    }
    fn bytes_total(&self) -> usize {
        self.data.len()
    }
}

fn pattern() -> Vec<u8> {
    Rng::new(99).bytes(LEN)
}

/// A connected pair: ringbolt sender with a large send buffer, std receiver that nobody reads
/// yet (its window closes after its default receive buffer, a fraction of `LEN`).
async fn pair() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tx = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (rx, _) = listener.accept().unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tx.set_send_buffer_size(4 * 1024 * 1024).unwrap();
    (tx, rx)
}

/// Bytes waiting in the receiver's queue, without consuming them.
fn arrived(rx: &std::net::TcpStream) -> usize {
    let mut probe = [0u8; 1];
    rx.set_nonblocking(true).unwrap();
    let n = rx.peek(&mut probe).unwrap_or(0);
    rx.set_nonblocking(false).unwrap();
    n
}

fn skip_unless_supported() -> bool {
    let ok = Runtime::new()
        .unwrap()
        .block_on(async { ringbolt_runtime::ops::net::SendZc::is_supported() });
    if !ok {
        eprintln!("IORING_OP_SEND_ZC unsupported here; nothing to check");
    }
    !ok
}

#[test]
fn buffer_comes_back_only_after_the_notification() {
    if common::uring_only("the zero-copy notification (epoll copies the data)") {
        return;
    }
    let _w = watchdog(Duration::from_secs(60));
    if skip_unless_supported() {
        return;
    }
    Runtime::new().unwrap().block_on(async {
        let (tx, rx) = pair().await;
        let drops = Rc::new(Cell::new(0));
        let buf = Tracked {
            data: pattern().into_boxed_slice(),
            drops: drops.clone(),
        };
        let mut op = Box::pin(tx.send_zc(buf));
        // The send itself completes at once (short), but the kernel still reads the pages that
        // wait behind the receiver's closed window: the future must stay pending.
        assert!(
            timeout(Duration::from_millis(300), &mut op).await.is_err(),
            "send_zc resolved before the kernel's notification"
        );
        assert!(arrived(&rx) > 0, "the send did reach the receiver");
        assert_eq!(drops.get(), 0);
        // Drain what the send queued; only then does the notification come.
        let reader = std::thread::spawn(move || {
            let mut rx = rx;
            let mut all = Vec::new();
            rx.read_to_end(&mut all).unwrap();
            all
        });
        let (res, buf) = op.await;
        let n = res.unwrap();
        assert!(n > 0 && n <= LEN);
        assert_eq!(drops.get(), 0, "handed back, not dropped");
        assert_eq!(&buf.data[..], &pattern()[..], "the buffer is intact");
        drop(tx);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), n);
        assert_eq!(
            &got[..],
            &pattern()[..n],
            "the receiver got the buffer's bytes"
        );
    });
}

#[test]
fn dropped_send_zc_keeps_its_buffer_until_the_notification() {
    if common::uring_only("the zero-copy notification (epoll copies the data)") {
        return;
    }
    let _w = watchdog(Duration::from_secs(60));
    if skip_unless_supported() {
        return;
    }
    Runtime::new().unwrap().block_on(async {
        let (tx, rx) = pair().await;
        let drops = Rc::new(Cell::new(0));
        let buf = Tracked {
            data: pattern().into_boxed_slice(),
            drops: drops.clone(),
        };
        // Dropped by the timeout while the kernel still holds the pages.
        assert!(timeout(Duration::from_millis(300), tx.send_zc(buf))
            .await
            .is_err());
        assert!(arrived(&rx) > 0, "the send did reach the receiver");
        sleep(Duration::from_millis(100)).await;
        assert_eq!(
            drops.get(),
            0,
            "the buffer of a dropped in-flight send_zc was freed before the notification"
        );
        // The receiver drains; every byte it gets must be the pattern, never the poison.
        let mut rx = rx;
        rx.shutdown(std::net::Shutdown::Write).unwrap();
        drop(tx);
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            rx.read_to_end(&mut all).unwrap();
            all
        });
        let start = Instant::now();
        while drops.get() == 0 && start.elapsed() < Duration::from_secs(20) {
            sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(drops.get(), 1, "freed once the notification came");
        let got = reader.join().unwrap();
        assert!(!got.is_empty());
        assert_eq!(
            &got[..],
            &pattern()[..got.len()],
            "poisoned bytes on the wire: use after free"
        );
    });
}
