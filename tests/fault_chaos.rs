//! The driver under injected faults that make operations fail (feature `fault-injection`):
//! every op may complete with `ECANCELED`, `EAGAIN`, `ECONNRESET`, `ENOBUFS` (provided-buffer
//! receives) or `EMFILE` (accepts) instead of reaching the kernel, on top of the benign faults
//! (`EINTR`/`EAGAIN`/`EBUSY` from `io_uring_enter`, full SQs, tiny rings, short transfers).
//!
//! Whatever fails: no panic, no hang (watchdog), every byte that comes back is the byte that
//! was sent (a prefix of it when a connection dies), no op left in flight, no fd left open.
//!
//! The seed comes from `RINGBOLT_FAULT_SEED` (a number; 1 when unset) and is printed, so a
//! failure replays with `RINGBOLT_FAULT_SEED=<seed> cargo test --release --features
//! fault-injection --test fault_chaos`.

use ringbolt::net::{TcpListener, TcpStream};
use ringbolt::runtime::fault::{self, FaultConfig};
use ringbolt::runtime::Runtime;
use std::time::Duration;

/// The fault configuration and the fd count are process-wide: one test at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn seed() -> u64 {
    let s = std::env::var("RINGBOLT_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    eprintln!("fault_chaos: seed {s}");
    s
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Aborts the process if the test takes longer than `limit` (a hang is a failure).
fn watchdog(limit: Duration) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("fault_chaos: hung for {limit:?}; aborting");
            std::process::abort();
        }
    });
    tx
}

/// Deterministic bytes for client `i`.
fn payload(i: usize, len: usize) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn serve(stream: TcpStream) {
    let mut buf = vec![0u8; 4096];
    loop {
        let (res, b) = stream.read(buf).await;
        buf = b;
        let n = match res {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (res, b) = stream.write_all(buf[..n].to_vec()).await;
        drop(b);
        if res.is_err() {
            return;
        }
    }
}

/// Sends `data` and reads the echo; returns how many echoed bytes came back (all verified).
async fn client(addr: std::net::SocketAddr, data: Vec<u8>) -> usize {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return 0;
    };
    let mut got = 0;
    for chunk in data.chunks(8192) {
        let (res, _) = stream.write_all(chunk.to_vec()).await;
        if res.is_err() {
            return got;
        }
        let (res, back) = stream.read_exact(Vec::with_capacity(chunk.len())).await;
        // Whatever arrived (before an error too) must be the bytes sent, in order.
        let n = back.len().min(chunk.len());
        assert!(
            back[..n] == chunk[..n],
            "echo corrupted after {got} good bytes"
        );
        if res.is_err() {
            return got;
        }
        assert!(back.len() == chunk.len(), "read_exact returned Ok short");
        got += chunk.len();
    }
    got
}

#[test]
fn echo_under_failing_ops_loses_and_corrupts_nothing() {
    let _serial = serial();
    let _wd = watchdog(Duration::from_secs(120));
    let seed = seed();
    fault::configure(Some(FaultConfig {
        op_error: 0.02,
        ..FaultConfig::benign(seed)
    }));
    let fds_before = open_fds();
    let rt = Runtime::new().expect("runtime");
    let (echoed, in_flight) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = ringbolt::spawn(async move {
            let mut incoming = listener.incoming();
            loop {
                match incoming.next().await {
                    Ok(s) => {
                        ringbolt::spawn(serve(s));
                    }
                    // An injected accept failure: keep serving.
                    Err(_) => continue,
                }
            }
        });
        let clients: Vec<_> = (0..16)
            .map(|i| ringbolt::spawn(client(addr, payload(i, 64 << 10))))
            .collect();
        let mut echoed = 0;
        for c in clients {
            echoed += ringbolt::runtime::time::timeout(Duration::from_secs(60), c)
                .await
                .expect("client finished")
                .expect("client task");
        }
        server.abort();
        let _ = server.await;
        // Let the dropped connections' cancellations come back.
        for _ in 0..200 {
            if ringbolt::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt::time::sleep(Duration::from_millis(5)).await;
        }
        (echoed, ringbolt::stats().ops_in_flight)
    });
    drop(rt);
    fault::configure(None);
    eprintln!("fault_chaos: {echoed} bytes echoed and verified under faults");
    assert_eq!(in_flight, 0, "ops left in flight");
    assert_eq!(open_fds(), fds_before, "fds leaked");
}

#[test]
fn ring_setup_failures_name_their_cause_and_fix() {
    let _serial = serial();
    let _wd = watchdog(Duration::from_secs(60));
    let seed = seed();
    fault::configure(Some(FaultConfig {
        seed,
        setup: 0.5,
        ..FaultConfig::default()
    }));
    let mut failed = 0;
    let mut fell_back = 0;
    for _ in 0..40 {
        // The default (Auto) falls back to epoll instead of failing.
        let rt = Runtime::builder()
            .driver(ringbolt::DriverKind::Auto)
            .build()
            .expect("Auto falls back to epoll when ring setup fails");
        if rt.block_on(async { ringbolt::driver_kind() }) == ringbolt::DriverKind::Epoll {
            fell_back += 1;
        }
        assert_eq!(rt.block_on(async { 7 }), 7);
        drop(rt);
        // Forcing io_uring returns the setup error, with its cause and fix.
        match Runtime::builder()
            .driver(ringbolt::DriverKind::IoUring)
            .build()
        {
            Ok(rt) => assert_eq!(rt.block_on(async { 7 }), 7),
            Err(e) => {
                failed += 1;
                let text = format!("{e} / {e:?}");
                assert!(
                    text.contains("seccomp")
                        || text.contains("kernel")
                        || text.contains("memlock")
                        || text.contains("MEMLOCK"),
                    "setup error without cause and fix: {text}"
                );
            }
        }
    }
    fault::configure(None);
    assert!(failed > 0, "no setup failure injected");
    assert!(
        fell_back > 0,
        "no injected setup failure fell back to epoll"
    );
}
