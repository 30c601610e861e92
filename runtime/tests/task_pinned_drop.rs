//! A task's future is pinned: aborting it (or finishing it) drops the future where it lies,
//! so self-references inside it stay valid during its destructor.
use ringbolt_runtime::{spawn, task::yield_now, Runtime};
use std::future::pending;
use std::hint::black_box;

struct Probe<'a>(&'a u64);

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        assert_eq!(*self.0, 42, "the future moved before its destructor ran");
    }
}

#[test]
fn abort_drops_the_future_in_place() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let mut handles = Vec::new();
        for _ in 0..100 {
            handles.push(spawn(async {
                let x = black_box(42u64);
                let _p = Probe(&x);
                pending::<()>().await
            }));
        }
        yield_now().await;
        for h in &handles {
            h.abort();
        }
        for h in handles {
            let e = h.await.unwrap_err();
            assert!(e.is_cancelled(), "{e}");
        }
    });
}

#[test]
fn shutdown_drops_the_future_in_place() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        for _ in 0..100 {
            spawn(async {
                let x = black_box(42u64);
                let _p = Probe(&x);
                pending::<()>().await
            });
        }
        yield_now().await;
    });
    drop(rt);
}
