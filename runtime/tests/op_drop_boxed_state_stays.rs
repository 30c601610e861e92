//! A boxed (non-`INLINE`) op dropped in flight must keep its state where the kernel was told
//! it is: `Accept`'s SQE points at the `sockaddr` and length inside its boxed state, and the
//! kernel writes the peer's address there when the cancelled accept completes anyway.
//!
//! Found while building cancel-safe accepts (issue #13): since the inline-state change,
//! `Op::drop` moves a boxed state out of its box (`Store::into_inner`) into a new `Parked` box,
//! so the kernel writes the address into freed memory and the salvaged output carries the
//! empty address it was created with. Fixed by keeping the state in its `Store` (the original
//! box) in the parked orphan.
mod common;

use common::watchdog;
use ringbolt_runtime::ops::net::{Accept, SockAddr};
use ringbolt_runtime::{Runtime, Salvage};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

#[derive(Default)]
struct Sink(RefCell<Vec<io::Result<(OwnedFd, SockAddr)>>>);

impl Salvage<io::Result<(OwnedFd, SockAddr)>> for Sink {
    fn salvage(&self, out: io::Result<(OwnedFd, SockAddr)>) {
        self.0.borrow_mut().push(out);
    }
}

#[test]

fn dropped_accepts_get_the_peer_address_the_kernel_wrote() {
    let _wd = watchdog("dropped_accept_addr", Duration::from_secs(60));
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fd = ringbolt_runtime::SharedFd::new(OwnedFd::from(listener));
        let sink = Rc::new(Sink::default());
        let mut rng = common::Rng(0x9E37_79B9_7F4A_7C15);
        let mut clients = Vec::new();
        for _ in 0..2_000 {
            let mut op = Box::pin(Accept::op(&fd).salvage(sink.clone()));
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(res) = Pin::new(&mut op).poll(&mut cx) {
                panic!("an accept with no client completed at once: {:?}", res.err());
            }
            // The client connects before or after the drop, with ring turns in between: the
            // kernel completes the accept before, during or after the cancellation.
            let connect_first = rng.below(2) == 0;
            if connect_first {
                clients.push(std::net::TcpStream::connect(addr).unwrap());
            }
            for _ in 0..rng.below(3) {
                ringbolt_runtime::task::yield_now().await;
            }
            drop(op);
            if !connect_first {
                clients.push(std::net::TcpStream::connect(addr).unwrap());
            }
            for _ in 0..rng.below(3) {
                ringbolt_runtime::task::yield_now().await;
            }
        }
        for _ in 0..500 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(1)).await;
        }
        let locals: std::collections::HashSet<_> =
            clients.iter().map(|c| c.local_addr().unwrap()).collect();
        let (mut good, mut bad, mut cancelled) = (0, 0, 0);
        for out in sink.0.borrow_mut().drain(..) {
            match out {
                Ok((conn, peer)) => {
                    assert!(conn.as_raw_fd() >= 0);
                    match peer.as_socket() {
                        Some(p) if locals.contains(&p) => good += 1,
                        _ => bad += 1,
                    }
                }
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ECANCELED));
                    cancelled += 1;
                }
            }
        }
        eprintln!("salvaged accepts: {good} with their peer's address, {bad} without, {cancelled} cancelled");
        assert_eq!(bad, 0, "accepts whose address the kernel wrote elsewhere (freed memory)");
    });
}
