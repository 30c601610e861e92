//! Socket ops at the op level: an accept (single or multishot) whose connection the kernel
//! accepted after the future was dropped closes that fd; `RecvMsg` reports truncation; `Send`
//! on a reset connection returns an error instead of raising `SIGPIPE`.

use ringbolt_runtime::ops::net::{Accept, AcceptMulti, RecvMsg, Send, SendTo, SockAddr};
use ringbolt_runtime::{Runtime, SharedFd};
use std::future::Future;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::task::Poll;
use std::time::Duration;

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Serialises the tests that count this process's fds.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() - 1)
        .unwrap_or(0)
}

/// Polls once; true if the future completed.
async fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
    let mut fut = fut;
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
}

fn expect_eof(mut c: std::net::TcpStream) {
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 1];
    // EOF (the server closed an accepted connection) or a reset (a connection still in the
    // backlog when the listener closed): either way nothing holds it open.
    match c.read(&mut b) {
        Ok(n) => assert_eq!(n, 0, "server side of the connection still open"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

#[test]
fn accept_completed_but_dropped_closes_its_fd() {
    let _serial = serial();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let lfd = SharedFd::new(OwnedFd::from(listener));
        let before = open_fds();
        for _ in 0..50 {
            let client = std::net::TcpStream::connect(addr).unwrap();
            let mut accept = Box::pin(Accept::op(&lfd));
            assert!(
                !poll_once(accept.as_mut()).await,
                "accept completed before submission"
            );
            // Let the ring complete it, but never poll it again.
            for _ in 0..100 {
                ringbolt_runtime::task::yield_now().await;
                if ringbolt_runtime::stats().ops_in_flight == 0 {
                    break;
                }
            }
            drop(accept);
            // The driver releases a dropped op's completion on its next turn.
            ringbolt_runtime::task::yield_now().await;
            expect_eof(client);
        }
        assert_eq!(open_fds(), before, "accepted fds leaked");
        assert_eq!(ringbolt_runtime::stats().stale_cqes, 0);
    });
}

#[test]
fn dropped_multishot_accept_closes_queued_connections() {
    let _serial = serial();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let lfd = SharedFd::new(OwnedFd::from(listener));
        let clients: Vec<_> = (0..20)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let before = open_fds();
        let mut stream = AcceptMulti::op(&lfd);
        let first = stream.next().await.unwrap().unwrap();
        for _ in 0..20 {
            ringbolt_runtime::task::yield_now().await;
        }
        drop(first);
        drop(stream);
        for _ in 0..100 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
        let after = open_fds();
        drop(lfd);
        for c in clients {
            expect_eof(c);
        }
        assert_eq!(after, before, "queued accepted fds leaked");
    });
}

#[test]
fn recvmsg_reports_truncation_and_sender() {
    let _serial = serial();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let a = SharedFd::new(OwnedFd::from(a));
        let b = SharedFd::new(OwnedFd::from(b));
        let (res, _) = SendTo::op(&a, vec![7u8; 100], SockAddr::from(b_addr), 0).await;
        assert_eq!(res.unwrap(), 100);
        let (res, buf) = RecvMsg::op(&b, Vec::with_capacity(10), libc::MSG_TRUNC).await;
        let out = res.unwrap();
        assert_eq!(out.len, 100);
        assert!(out.is_truncated());
        assert_eq!(buf, vec![7u8; 10]);
        assert_eq!(out.addr.as_socket(), Some(a_addr));
    });
}

#[test]
fn send_to_reset_peer_is_an_error_not_sigpipe() {
    let _serial = serial();
    // SAFETY: restores the default disposition (terminate); no handler code is installed.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        drop(server);
        let fd = SharedFd::new(OwnedFd::from(client));
        let mut saw_error = false;
        for _ in 0..20 {
            let (res, _) = Send::op(&fd, vec![1u8; 4096], 0).await;
            if res.is_err() {
                saw_error = true;
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(saw_error, "sending to a closed peer never failed");
        // Once the error is reported, the next send is EPIPE: it must not raise SIGPIPE.
        let (res, _) = Send::op(&fd, vec![1u8; 16], 0).await;
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EPIPE));
    });
}
