//! Cancelled connect: a connect that times out, and 1,000 connects dropped at random moments,
//! leave no fd behind (the socket closes once the cancelled op's completion arrives).

mod common;

use common::{open_fds, serial, settle_fds, watchdog, Rng};
use ringbolt_net::TcpStream;
use ringbolt_runtime::Runtime;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

#[test]
fn connect_timeout_to_a_full_backlog() {
    let _w = watchdog(Duration::from_secs(30));
    let _serial = serial();
    let baseline = open_fds();
    // A listener that never accepts, with its tiny backlog filled: further SYNs are dropped
    // and a connect hangs.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    std::thread::sleep(Duration::from_millis(50));
    let rt = Runtime::new().unwrap();
    let with_runtime = open_fds();
    rt.block_on(async {
        let mut timed_out = 0;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            match TcpStream::connect_timeout(addr, Duration::from_millis(50)).await {
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    timed_out += 1;
                    assert!(start.elapsed() < Duration::from_secs(1));
                }
                Ok(_) => {} // the kernel let one through; fine
                Err(e) => panic!("unexpected connect error: {e}"),
            }
        }
        assert!(
            timed_out > 0,
            "no connect ever hung; the test did not test anything"
        );
        for _ in 0..100 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
    });
    assert_eq!(
        settle_fds(with_runtime, Duration::from_secs(2)),
        with_runtime,
        "fd leak"
    );
    drop((rt, fillers, sock));
    assert_eq!(settle_fds(baseline, Duration::from_secs(2)), baseline);
}

#[test]
fn connects_dropped_at_random_moments() {
    let _w = watchdog(Duration::from_secs(60));
    let _serial = serial();
    let baseline = open_fds();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept and close everything until told to stop.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acceptor = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            listener.set_nonblocking(true).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                match listener.accept() {
                    Ok((s, _)) => drop(s),
                    Err(_) => std::thread::sleep(Duration::from_micros(200)),
                }
            }
        })
    };
    let rt = Runtime::new().unwrap();
    let with_runtime = open_fds();
    rt.block_on(async {
        let mut rng = Rng::new(11);
        let (mut connected, mut dropped) = (0, 0);
        for _ in 0..1_000 {
            let mut fut: Pin<Box<dyn Future<Output = std::io::Result<TcpStream>>>> =
                Box::pin(TcpStream::connect(addr));
            let mut done = false;
            for _ in 0..rng.below(4) {
                let res = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
                    Poll::Ready(r) => Poll::Ready(Some(r)),
                    Poll::Pending => Poll::Ready(None),
                })
                .await;
                if let Some(r) = res {
                    drop(r.unwrap());
                    connected += 1;
                    done = true;
                    break;
                }
                ringbolt_runtime::task::yield_now().await;
            }
            if !done {
                dropped += 1;
            }
            drop(fut);
        }
        assert!(
            dropped > 100,
            "too few dropped connects: {dropped} ({connected} connected)"
        );
        for _ in 0..200 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
    });
    assert_eq!(
        settle_fds(with_runtime, Duration::from_secs(2)),
        with_runtime,
        "fd leak"
    );
    stop.store(true, std::sync::atomic::Ordering::Release);
    acceptor.join().unwrap();
    drop(rt);
    assert_eq!(settle_fds(baseline, Duration::from_secs(2)), baseline);
}
