//! Cancelled accept: 1,000 × (start an accept, let a client connect, drop the accept future at
//! a random moment). Whether the kernel accepted before, during or after the cancellation, no
//! fd leaks (`/proc/self/fd` back to baseline, no op left in flight) and every client sees
//! EOF or a reset. Connections a dropped accept or `Incoming` took are kept on the listener
//! (issue #13) and closed with it: these tests drop the listener too.

mod common;

use common::{open_fds, serial, settle_fds, watchdog, Rng};
use ringbolt_net::{TcpListener, UnixListener, UnixStream};
use ringbolt_runtime::Runtime;
use std::future::Future;
use std::io::Read;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

const ROUNDS: usize = 1_000;

/// Polls `fut` once; `Some` if it completed.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut *fut).poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Every client must see EOF (its accepted side was closed) or a reset (never accepted; the
/// listener closed) — a leaked server-side fd would leave it hanging until the timeout.
fn assert_all_closed(clients: Vec<std::net::TcpStream>) {
    let (mut eof, mut reset) = (0, 0);
    for (i, mut c) in clients.into_iter().enumerate() {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1];
        match c.read(&mut b) {
            Ok(0) => eof += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => reset += 1,
            other => panic!("client {i}: expected EOF or reset, got {other:?}"),
        }
    }
    eprintln!("clients: {eof} saw EOF, {reset} saw a reset");
}

#[test]
fn dropped_accepts_leak_nothing() {
    let _w = watchdog(Duration::from_secs(120));
    let _serial = serial();
    let baseline = open_fds();
    let rt = Runtime::new().unwrap();
    let with_runtime = open_fds();
    let clients = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut rng = Rng::new(5);
        let mut clients = Vec::with_capacity(ROUNDS);
        let (mut completed, mut dropped) = (0, 0);
        for _ in 0..ROUNDS {
            let client_first = rng.below(2) == 0;
            if client_first {
                clients.push(std::net::TcpStream::connect(addr).unwrap());
            }
            let mut accept = pin!(listener.accept());
            let polls = rng.below(5);
            let mut done = false;
            for j in 0..polls {
                if let Some(res) = poll_once(&mut accept).await {
                    drop(res.unwrap()); // accepted and closed at once
                    completed += 1;
                    done = true;
                    break;
                }
                if j == 0 && !client_first {
                    clients.push(std::net::TcpStream::connect(addr).unwrap());
                }
                // Let the ring turn (submit, reap) a random number of times.
                for _ in 0..rng.below(3) {
                    ringbolt_runtime::task::yield_now().await;
                }
            }
            if !done {
                if polls == 0 && !client_first {
                    clients.push(std::net::TcpStream::connect(addr).unwrap());
                }
                dropped += 1;
            }
            // `accept` drops here: unsubmitted, in flight (cancelled), or completed unseen.
        }
        eprintln!("{completed} accepts completed, {dropped} dropped");
        assert!(dropped > ROUNDS / 4, "too few dropped accepts: {dropped}");
        drop(listener);
        // Let the cancellations' completions arrive.
        for _ in 0..100 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            ringbolt_runtime::stats().ops_in_flight,
            0,
            "ops left in flight"
        );
        assert_eq!(ringbolt_runtime::stats().stale_cqes, 0);
        clients
    });
    // Server side: every accepted or cancelled fd is closed (clients are ours: count them).
    assert_eq!(
        settle_fds(with_runtime + clients.len(), Duration::from_secs(2)),
        with_runtime + clients.len(),
        "server-side fd leak"
    );
    assert_all_closed(clients);
    drop(rt);
    assert_eq!(settle_fds(baseline, Duration::from_secs(2)), baseline);
}

#[test]
fn dropped_incoming_closes_queued_connections() {
    dropped_incoming(false);
}

#[test]
fn dropped_single_shot_incoming_closes_everything() {
    dropped_incoming(true);
}

fn dropped_incoming(single_shot: bool) {
    let _w = watchdog(Duration::from_secs(60));
    let _serial = serial();
    let baseline = open_fds();
    let rt = Runtime::new().unwrap();
    let name = format!(
        "\0ringbolt-incoming-drop-{}-{single_shot}",
        std::process::id()
    );
    rt.block_on(async {
        let listener = UnixListener::bind(&name).unwrap();
        let mut incoming = listener.incoming();
        if single_shot {
            incoming = incoming.single_shot();
        }
        let mut clients = Vec::new();
        let mut kept = Vec::new();
        for round in 0..20 {
            for _ in 0..10 {
                clients.push(UnixStream::connect(&name).await.unwrap());
            }
            // Take a few; the multishot accept queues the rest as completions.
            for _ in 0..(round % 4) {
                kept.push(incoming.next().await.unwrap());
            }
            for _ in 0..3 {
                ringbolt_runtime::task::yield_now().await;
            }
        }
        drop(incoming);
        drop(listener);
        drop(kept);
        for _ in 0..100 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
        for (i, c) in clients.iter().enumerate() {
            let (res, _) =
                ringbolt_runtime::time::timeout(Duration::from_secs(5), c.read(vec![0u8; 1]))
                    .await
                    .unwrap_or_else(|_| panic!("client {i}: server side still open"));
            match res {
                Ok(0) => {}
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {}
                other => panic!("client {i}: {other:?}"),
            }
        }
    });
    drop(rt);
    assert_eq!(settle_fds(baseline, Duration::from_secs(2)), baseline);
}
