//! SIGTERM stops a launched service through `Shutdown::trigger_on`, and `ctrl_c` completes on
//! SIGINT. (If ringbolt did not catch them, these signals would terminate the test process.)

mod common;

use ringbolt_runtime::shutdown::Shutdown;
use ringbolt_runtime::signal::unix::SignalKind;
use ringbolt_runtime::task::{select, Either};
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn kill_self(signo: i32) {
    // SAFETY: kill(2) with our own pid and a valid signal number, which ringbolt catches.
    let r = unsafe { libc::kill(libc::getpid(), signo) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
}

#[test]
fn sigterm_triggers_the_shutdown_of_every_core() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = common::watchdog("signal_shutdown", Duration::from_secs(60));
    let shutdown = Shutdown::new();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let ready_tx = Mutex::new(ready_tx);
    let sender = std::thread::spawn(move || {
        ready_rx.recv().unwrap();
        kill_self(libc::SIGTERM);
        Instant::now()
    });
    let reports = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .drain_timeout(Duration::from_secs(20))
        .launch_with_shutdown(&shutdown, |core, token| {
            let shutdown = shutdown.clone();
            let ready = ready_tx.lock().unwrap().clone();
            async move {
                if core == 0 {
                    shutdown.trigger_on(&[SignalKind::terminate(), SignalKind::interrupt()])?;
                    ready.send(()).unwrap();
                }
                token.cancelled().await;
                Ok(core)
            }
        })
        .expect("launch");
    let sent = sender.join().unwrap();
    assert!(shutdown.is_triggered());
    assert!(
        sent.elapsed() < Duration::from_secs(15),
        "the drain deadline is 20 s; nothing should wait for it"
    );
    assert_eq!(reports[0].output, Some(0));
    assert_eq!(reports[1].output, Some(1));
    // Core 0's signal task and its signalfd reader ended by themselves.
    assert_eq!(reports[0].tasks_aborted, 0);
    assert_eq!(reports[1].tasks_aborted, 0);
}

#[test]
fn ctrl_c_completes_on_sigint() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = common::watchdog("signal_ctrl_c", Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let ctrl_c = ringbolt_runtime::signal::ctrl_c();
        let send = async {
            sleep(Duration::from_millis(50)).await;
            // From a plain thread, as a terminal would (to the process, not a thread).
            std::thread::spawn(|| kill_self(libc::SIGINT));
            sleep(Duration::from_secs(20)).await;
        };
        match select(ctrl_c, send).await {
            Either::Left(r) => r.expect("ctrl_c"),
            Either::Right(()) => panic!("ctrl_c did not complete on SIGINT"),
        }
    });
}
