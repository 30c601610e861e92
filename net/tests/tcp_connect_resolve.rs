//! `TcpStream::connect` with a host name resolves on the blocking pool: while a (deliberately
//! slow) lookup runs, a timer task on the same core keeps firing. Numeric addresses skip the
//! lookup entirely. One test function: the lookup delay hook is process-wide.

mod common;

use common::watchdog;
use ringbolt_net::{set_lookup_delay_for_tests, TcpStream};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(400);
const TICK: Duration = Duration::from_millis(10);

#[test]
fn host_name_lookup_does_not_block_the_core() {
    let _w = watchdog(Duration::from_secs(60));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    set_lookup_delay_for_tests(DELAY);
    let rt = ringbolt_runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ticks = Rc::new(Cell::new(0u32));
        let ticker = {
            let ticks = ticks.clone();
            ringbolt_runtime::spawn(async move {
                loop {
                    ringbolt_runtime::time::sleep(TICK).await;
                    ticks.set(ticks.get() + 1);
                }
            })
        };

        // A host name: looked up (slowly) off the core.
        let start = Instant::now();
        let stream = TcpStream::connect(format!("localhost:{port}"))
            .await
            .expect("connect to localhost");
        let took = start.elapsed();
        let during = ticks.get();
        assert_eq!(stream.peer_addr().unwrap().port(), port);
        assert!(took >= DELAY, "the lookup hook did not run: {took:?}");
        // 400 ms at one tick per 10 ms is ~40 ticks; a blocked core would show 0 or 1.
        assert!(
            during >= 5,
            "only {during} timer ticks during a {took:?} lookup: the core was blocked"
        );

        // (host, port) takes the same path.
        ticks.set(0);
        let stream = TcpStream::connect(("localhost", port)).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap().port(), port);
        assert!(ticks.get() >= 5, "(host, port) lookup blocked the core");

        // Numeric addresses never call the (slow) lookup.
        let start = Instant::now();
        for addr in [format!("127.0.0.1:{port}")] {
            let s = TcpStream::connect(addr.as_str()).await.unwrap();
            assert_eq!(s.peer_addr().unwrap().port(), port);
        }
        let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(s.peer_addr().unwrap().port(), port);
        let took = start.elapsed();
        assert!(
            took < DELAY,
            "a numeric address went through the lookup: {took:?}"
        );

        // A malformed address fails in the lookup (no DNS query needed): an error, not a
        // hang or a panic.
        set_lookup_delay_for_tests(Duration::ZERO);
        let err = TcpStream::connect("localhost:notaport").await;
        assert_eq!(
            err.expect_err("a malformed port resolved").kind(),
            std::io::ErrorKind::InvalidInput
        );
        ticker.abort();
    });
}
