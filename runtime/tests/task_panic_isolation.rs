//! One panicking task among 10,000: the rest complete and its handle carries the panic.
use ringbolt_runtime::{spawn, task::yield_now, Runtime};

#[test]
fn one_panic_among_ten_thousand() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..10_000u32)
            .map(|i| {
                spawn(async move {
                    yield_now().await;
                    if i == 4242 {
                        panic!("task {i} failed on purpose");
                    }
                    i
                })
            })
            .collect();
        let mut ok = 0;
        for (i, h) in handles.into_iter().enumerate() {
            match h.await {
                Ok(v) => {
                    assert_eq!(v as usize, i);
                    ok += 1;
                }
                Err(e) => {
                    assert_eq!(i, 4242);
                    assert!(e.is_panic());
                    assert_eq!(e.panic_message(), Some("task 4242 failed on purpose"));
                }
            }
        }
        assert_eq!(ok, 9_999);
    });
    // The runtime is still usable afterwards.
    assert_eq!(rt.block_on(async { spawn(async { 7 }).await.unwrap() }), 7);
}

#[test]
fn detached_panicking_task_does_not_disturb_others() {
    let rt = Runtime::new().unwrap();
    let v = rt.block_on(async {
        drop(spawn(async { panic!("detached") }));
        yield_now().await;
        yield_now().await;
        spawn(async { 5 }).await.unwrap()
    });
    assert_eq!(v, 5);
}
