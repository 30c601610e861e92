use ringbolt_runtime::ops::{Nop, Timeout};
use ringbolt_runtime::{spawn, Runtime};
use std::time::{Duration, Instant};

#[test]
fn block_on_spawn_nop_timeout() {
    let rt = Runtime::new().unwrap();
    let v = rt.block_on(async {
        let h = spawn(async { 1 });
        Nop::op().await.unwrap();
        let t = Instant::now();
        Timeout::op(Duration::from_millis(20)).await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(20));
        let t = Instant::now();
        ringbolt_runtime::time::sleep(Duration::from_millis(15)).await;
        assert!(t.elapsed() >= Duration::from_millis(15));
        h.await.unwrap() + 41
    });
    assert_eq!(v, 42);
    let s = rt.stats();
    assert_eq!(s.ops_in_flight, 0);
    println!("{s:?}");
}
