//! `launch` fails fast: the first core that fails (an error, a panic, a start failure) stops the
//! others and its error comes back promptly, while the other cores would otherwise serve
//! forever.

mod common;

use ringbolt_runtime::shutdown::Shutdown;
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::io;
use std::time::{Duration, Instant};

/// A core that would serve forever, whatever its token says.
async fn serve_forever() {
    loop {
        sleep(Duration::from_secs(3600)).await;
    }
}

#[test]
fn an_error_on_core_1_stops_core_0_after_the_drain_deadline_at_most() {
    let _dog = common::watchdog("launch_fail_fast_error", Duration::from_secs(60));
    let started = Instant::now();
    let res = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .drain_timeout(Duration::from_millis(300))
        .launch_with_shutdown(&Shutdown::new(), |core, _token| async move {
            if core == 1 {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "could not bind 127.0.0.1:1",
                ));
            }
            serve_forever().await;
            Ok(())
        });
    let err = res.expect_err("core 1's error");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string().contains("core 1") && err.to_string().contains("could not bind"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_cooperative_core_lets_the_error_through_before_the_deadline() {
    let _dog = common::watchdog("launch_fail_fast_coop", Duration::from_secs(60));
    let started = Instant::now();
    let res: io::Result<_> = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .drain_timeout(Duration::from_secs(30))
        .launch_with_shutdown(&Shutdown::new(), |core, token| async move {
            if core == 0 {
                sleep(Duration::from_millis(20)).await;
                return Err(io::Error::other("core 0 gave up"));
            }
            token.cancelled().await;
            Ok(())
        });
    let err = res.expect_err("core 0's error");
    assert!(err.to_string().contains("core 0 gave up"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "core 1 stopped on its token, yet launch waited {:?} (the deadline is 30 s)",
        started.elapsed()
    );
}

#[test]
fn a_panic_on_core_1_is_returned_while_core_0_serves_forever() {
    let _dog = common::watchdog("launch_fail_fast_panic", Duration::from_secs(60));
    let started = Instant::now();
    // Plain `launch`: core 0 has no token and never returns by itself.
    let res = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| async move {
            if core == 1 {
                sleep(Duration::from_millis(20)).await;
                panic!("core 1 broke");
            }
            serve_forever().await;
        });
    let err = res.expect_err("core 1's panic");
    assert!(
        err.to_string().contains("core 1 panicked: core 1 broke"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_core_that_cannot_start_stops_the_others() {
    let _dog = common::watchdog("launch_fail_fast_start", Duration::from_secs(60));
    let started = Instant::now();
    // Core 1 asks for a CPU this machine does not have, so pinning it fails.
    let res = Runtime::builder()
        .cores(2)
        .cpus(vec![0, 1000])
        .drain_timeout(Duration::from_millis(200))
        .launch_with_shutdown(&Shutdown::new(), |_, _| async move {
            serve_forever().await;
            Ok(())
        });
    let err = res.expect_err("core 1 could not start");
    assert!(err.to_string().contains("core 1"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
