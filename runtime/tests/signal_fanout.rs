//! Signals through the ring: one arrival sent to the process wakes the listener on every
//! listening core exactly once; a signal that arrives while nobody listens waits for the next
//! listener; a listener that goes away stops its core's reader (no task, no fd left behind).
//!
//! The tests of this file share the process's signal state, so they run one at a time.

mod common;

use ringbolt_runtime::signal::unix::{signal, SignalKind};
use ringbolt_runtime::task::{select, Either};
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn kill_self(signo: i32) {
    // SAFETY: kill(2) with our own pid and a valid signal number; the signal is caught by
    // ringbolt (handler installed, listener registered) so it cannot terminate the process.
    let r = unsafe { libc::kill(libc::getpid(), signo) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
}

#[test]
fn one_arrival_wakes_each_listening_core_once() {
    let _serial = serial();
    let _dog = common::watchdog("signal_fanout", Duration::from_secs(60));
    let (ready_tx, ready_rx) = mpsc::channel::<usize>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let ready_tx = Mutex::new(ready_tx);
    // The test thread (not a core, SIGUSR1 not blocked here) sends the signal once both cores
    // listen; its first arrival may land on a thread that does not block it.
    let sender = std::thread::spawn(move || {
        let mut cores = vec![ready_rx.recv().unwrap(), ready_rx.recv().unwrap()];
        cores.sort();
        assert_eq!(cores, [0, 1]);
        kill_self(libc::SIGUSR1);
        let _ = go_rx.recv_timeout(Duration::from_secs(30));
    });
    let counts = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| {
            let ready = ready_tx.lock().unwrap().clone();
            async move {
                let mut usr1 = signal(SignalKind::user_defined1()).expect("listen to SIGUSR1");
                ready.send(core).unwrap();
                let mut received = 0;
                match select(usr1.recv(), sleep(Duration::from_secs(20))).await {
                    Either::Left(r) => {
                        r.expect("recv");
                        received += 1;
                    }
                    Either::Right(()) => panic!("core {core}: SIGUSR1 never arrived"),
                }
                // No second notification for the one arrival.
                if let Either::Left(r) =
                    select(usr1.recv(), sleep(Duration::from_millis(300))).await
                {
                    r.expect("recv");
                    received += 1;
                }
                received
            }
        })
        .expect("launch");
    let _ = go_tx.send(());
    sender.join().unwrap();
    assert_eq!(counts, [1, 1], "each core's listener woke exactly once");
}

#[test]
fn several_listeners_on_one_core_all_hear_it() {
    let _serial = serial();
    let _dog = common::watchdog("signal_same_core", Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let mut a = signal(SignalKind::user_defined2()).unwrap();
        let mut b = signal(SignalKind::user_defined2()).unwrap();
        kill_self(libc::SIGUSR2);
        for (name, s) in [("a", &mut a), ("b", &mut b)] {
            match select(s.recv(), sleep(Duration::from_secs(20))).await {
                Either::Left(r) => r.unwrap(),
                Either::Right(()) => panic!("listener {name} never heard SIGUSR2"),
            }
        }
    });
}

#[test]
fn a_signal_with_no_listener_waits_for_the_next_one_and_readers_stop_with_their_listeners() {
    let _serial = serial();
    let _dog = common::watchdog("signal_pending", Duration::from_secs(60));
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let tasks_before = ringbolt_runtime::stats().tasks_alive;
        // Register SIGHUP once (so it is caught from now on), then stop listening.
        let hup = signal(SignalKind::hangup()).unwrap();
        assert_eq!(
            ringbolt_runtime::stats().tasks_alive,
            tasks_before + 1,
            "the core's reader task"
        );
        let fds_listening = common::open_fds();
        drop(hup);
        // The reader sees its last listener go, drops its read and ends.
        for _ in 0..200 {
            if ringbolt_runtime::stats().tasks_alive == tasks_before {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(ringbolt_runtime::stats().tasks_alive, tasks_before);
        assert_eq!(
            common::open_fds(),
            fds_listening - 1,
            "the reader's signalfd duplicate is closed"
        );
        // Nobody listens: the signal stays pending instead of terminating the process.
        kill_self(libc::SIGHUP);
        sleep(Duration::from_millis(50)).await;
        let mut hup = signal(SignalKind::hangup()).unwrap();
        match select(hup.recv(), sleep(Duration::from_secs(20))).await {
            Either::Left(r) => r.unwrap(),
            Either::Right(()) => panic!("the pending SIGHUP was not delivered"),
        }
    });
}

#[test]
fn refused_kinds_and_outside_a_runtime() {
    let _serial = serial();
    for signo in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 65, 32] {
        let err = Runtime::new()
            .unwrap()
            .block_on(async { signal(SignalKind::from_raw(signo)) })
            .expect_err("refused");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "{signo}: {err}"
        );
    }
    let err = signal(SignalKind::user_defined1()).expect_err("no runtime");
    assert!(err.to_string().contains("ringbolt core"), "{err}");
}
