//! Connection churn: 20,000 connections opened, used (one 64-byte echo) and closed, 10% of
//! them by reset (`SO_LINGER 0`). Afterwards the fd count and the ops in flight on both
//! runtimes are back to baseline.

mod common;

use common::{open_fds, serial, settle_fds, watchdog};
use ringbolt_net::{TcpListener, TcpStream};
use ringbolt_runtime::Runtime;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

const CONNECTIONS: usize = 20_000;
const WORKERS: usize = 64;

#[test]
fn twenty_thousand_connections_leave_nothing_behind() {
    let _w = watchdog(Duration::from_secs(150));
    let _serial = serial();
    let baseline = open_fds();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();

    let server = std::thread::spawn(move || {
        let rt = Runtime::new().unwrap();
        let (served, resets) = rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener);
            let served = Rc::new(Cell::new(0usize));
            let resets = Rc::new(Cell::new(0usize));
            let acceptor = {
                let (served, resets) = (served.clone(), resets.clone());
                // The task owns the listener (its `Incoming` borrows it); the abort drops both.
                ringbolt_runtime::spawn(async move {
                    let mut incoming = listener.incoming();
                    loop {
                        let stream = incoming.next().await.unwrap();
                        let (served, resets) = (served.clone(), resets.clone());
                        ringbolt_runtime::spawn(async move {
                            let mut buf = vec![0u8; 256];
                            loop {
                                let (res, b) = stream.read(buf).await;
                                match res {
                                    Ok(0) => break,
                                    Ok(n) => {
                                        let (res, b) = stream.write_all(b[..n].to_vec()).await;
                                        if res.is_err() {
                                            resets.set(resets.get() + 1);
                                            break;
                                        }
                                        buf = Vec::with_capacity(b.capacity().max(256));
                                    }
                                    Err(e) => {
                                        assert_eq!(e.raw_os_error(), Some(libc::ECONNRESET));
                                        resets.set(resets.get() + 1);
                                        break;
                                    }
                                }
                            }
                            served.set(served.get() + 1);
                            // Half the clean ones by close().await, the rest by drop.
                            if served.get() % 2 == 0 {
                                let _ = stream.close().await;
                            }
                        });
                    }
                })
            };
            // Wait (bounded by the watchdog) until the clients are done and every
            // connection was served.
            // The stop message is taken once: remember it (checking `try_recv` in the loop
            // condition lost it whenever it came before the last connection was served, and
            // the server then waited forever).
            let mut stopped = false;
            loop {
                stopped |= stop_rx.try_recv().is_ok();
                if stopped && served.get() >= CONNECTIONS {
                    break;
                }
                ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
            }
            acceptor.abort();
            let _ = acceptor.await;
            for _ in 0..200 {
                if ringbolt_runtime::stats().ops_in_flight == 0 {
                    break;
                }
                ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(
                ringbolt_runtime::stats().ops_in_flight,
                0,
                "server ops in flight"
            );
            assert_eq!(
                ringbolt_runtime::stats().tasks_alive,
                0,
                "server tasks alive"
            );
            (served.get(), resets.get())
        });
        drop(rt);
        (served, resets)
    });

    let rt = Runtime::new().unwrap();
    let rst_sent = rt.block_on(async move {
        let mut workers = Vec::new();
        for w in 0..WORKERS {
            workers.push(ringbolt_runtime::spawn(async move {
                let mut rst = 0;
                let mut i = w;
                while i < CONNECTIONS {
                    let s = TcpStream::connect(addr).await.unwrap();
                    let msg = vec![(i % 251) as u8; 64];
                    let (res, msg) = s.write_all(msg).await;
                    res.unwrap();
                    let (res, back) = s.read_exact(Vec::with_capacity(64)).await;
                    res.unwrap();
                    assert_eq!(back, msg, "connection {i}");
                    if i % 10 == 0 {
                        s.set_linger(Some(Duration::ZERO)).unwrap();
                        rst += 1;
                        drop(s);
                    } else {
                        s.close().await.unwrap();
                    }
                    i += WORKERS;
                }
                rst
            }));
        }
        let mut rst = 0;
        for w in workers {
            rst += w.await.unwrap();
        }
        assert_eq!(
            ringbolt_runtime::stats().ops_in_flight,
            0,
            "client ops in flight"
        );
        rst
    });
    drop(rt);
    stop_tx.send(()).unwrap();
    let (served, resets) = server.join().unwrap();
    assert_eq!(served, CONNECTIONS);
    assert_eq!(rst_sent, CONNECTIONS / 10);
    // A reset may land after the server already saw EOF-free data; most must be seen.
    assert!(
        resets > 0 && resets <= rst_sent,
        "server saw {resets} resets"
    );
    assert_eq!(
        settle_fds(baseline, Duration::from_secs(5)),
        baseline,
        "fd leak"
    );
}
