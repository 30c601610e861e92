//! `TcpListener::bind` is exclusive (a second server on the port fails with `EADDRINUSE`, as
//! with std and tokio); sharing a port across cores is the explicit `bind_reuseport`.

mod common;

use common::watchdog;
use ringbolt_net::TcpListener;
use std::io::ErrorKind;
use std::time::Duration;

fn rt() -> ringbolt_runtime::Runtime {
    ringbolt_runtime::Runtime::new().expect("runtime")
}

#[test]
fn second_bind_fails_with_addr_in_use() {
    rt().block_on(async {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = first.local_addr().unwrap();
        let err = TcpListener::bind(addr).expect_err("a second exclusive bind must fail");
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        // A reuse-port bind cannot join an exclusive listener either.
        let err = TcpListener::bind_reuseport(addr).expect_err("joining must fail");
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        // std's listener (what another server would use) is refused too.
        let err = std::net::TcpListener::bind(addr).expect_err("std bind must fail");
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        // Once the first listener is gone the port is free again (SO_REUSEADDR).
        drop(first);
        TcpListener::bind(addr).expect("rebind after close");
    });
}

#[test]
fn reuseport_shares_only_with_reuseport() {
    let _w = watchdog(Duration::from_secs(60));
    rt().block_on(async {
        let a = TcpListener::bind_reuseport("127.0.0.1:0").unwrap();
        let addr = a.local_addr().unwrap();
        let b = TcpListener::bind_reuseport(addr).expect("second reuse-port listener");
        assert_eq!(b.local_addr().unwrap(), addr);
        let err = TcpListener::bind(addr).expect_err("an exclusive bind of a shared port");
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        // Both listeners really serve: connect until each has accepted one (bounded).
        let mut seen = [false, false];
        for _ in 0..200 {
            let _c = std::net::TcpStream::connect(addr).unwrap();
            let t = Duration::from_secs(5);
            let got = ringbolt_runtime::select! {
                r = a.accept() => { r.unwrap(); 0 },
                r = b.accept() => { r.unwrap(); 1 },
                _ = ringbolt_runtime::time::sleep(t) => { panic!("no listener accepted in 5 s") },
            };
            seen[got] = true;
            if seen == [true, true] {
                break;
            }
        }
        assert_eq!(
            seen,
            [true, true],
            "the kernel never picked one of the listeners"
        );
    });
}
