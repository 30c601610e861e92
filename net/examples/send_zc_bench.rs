//! Zero-copy send (`write_all_zc`) against plain send (`write_all`) over loopback TCP.
//!
//! ```text
//! cargo run --release -p ringbolt-net --example send_zc_bench -- [MiB per run] [reps]
//! ```
//!
//! For each message size (16 KiB, 256 KiB) and connection count (1, 4), every repetition runs
//! the modes back to back (interleaved, so drift hits all alike), moving the same number of
//! bytes from one ringbolt core to std receiver threads that read and discard. Modes: `send`
//! is `write_all`, `zc` is `write_all_zc` (one `SEND_ZC` with `MSG_WAITALL` per buffer), and
//! `send-wa` is one plain `IORING_OP_SEND` with `MSG_WAITALL` per buffer, which separates the
//! effect of zero copy from that of letting the kernel finish the buffer in one op. Prints the
//! median throughput and the sender thread's CPU time per MiB (user + system, from
//! `getrusage(RUSAGE_THREAD)`).
//!
//! Over loopback the kernel copies zero-copy data anyway when it queues it to the receiving
//! socket, and each `write_all_zc` waits for its notification (the peer's ACK), so expect
//! zero copy to lose here; it pays on a real NIC with large messages.

use ringbolt_net::TcpStream;
use ringbolt_runtime::ops::net::Send;
use ringbolt_runtime::SharedFd;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

fn thread_cpu() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD with a valid out pointer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[derive(Clone, Copy)]
enum Mode {
    Send,
    Zc,
    SendWaitAll,
}

const MODES: [(Mode, &str); 3] = [
    (Mode::Send, "send"),
    (Mode::Zc, "zc"),
    (Mode::SendWaitAll, "send-wa"),
];

/// One run: `conns` connections each sending `total / conns` bytes in `msg`-byte messages.
/// Returns (seconds, sender CPU seconds).
fn run(mode: Mode, msg: usize, conns: usize, total: usize) -> (f64, f64) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let per_conn = total / conns / msg;
    let readers: Vec<_> = (0..conns)
        .map(|_| {
            let l = listener.try_clone().unwrap();
            std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = vec![0u8; 256 * 1024];
                let mut n = 0usize;
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break n,
                        Ok(k) => n += k,
                    }
                }
            })
        })
        .collect();
    let rt = ringbolt_runtime::Runtime::new().unwrap();
    let (secs, cpu) = rt.block_on(async move {
        let mut streams = Vec::new();
        for _ in 0..conns {
            streams.push(TcpStream::connect(addr).await.unwrap());
        }
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|s| {
                ringbolt_runtime::spawn(async move {
                    let mut buf = vec![0x5au8; msg];
                    if let Mode::SendWaitAll = mode {
                        let std = s.into_std().unwrap();
                        let fd = SharedFd::new(OwnedFd::from(std));
                        for _ in 0..per_conn {
                            let (res, b) = Send::op(&fd, buf, libc::MSG_WAITALL).await;
                            assert_eq!(res.unwrap(), msg);
                            buf = b;
                        }
                        return fd.close().await.unwrap();
                    }
                    for _ in 0..per_conn {
                        let (res, b) = match mode {
                            Mode::Zc => s.write_all_zc(buf).await,
                            _ => s.write_all(buf).await,
                        };
                        res.unwrap();
                        buf = b;
                    }
                    s.close().await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        (
            t0.elapsed().as_secs_f64(),
            (thread_cpu() - cpu0).as_secs_f64(),
        )
    });
    for r in readers {
        assert_eq!(r.join().unwrap(), per_conn * msg);
    }
    (secs, cpu)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let reps: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    let total = mib << 20;
    let supported = ringbolt_runtime::Runtime::new()
        .unwrap()
        .block_on(async { ringbolt_runtime::ops::net::SendZc::is_supported() });
    if !supported {
        eprintln!("IORING_OP_SEND_ZC is not supported by this kernel (Linux 6.0+)");
        return;
    }
    println!("{mib} MiB per run, {reps} reps, medians; CPU = sender thread user+sys per MiB");
    println!(
        "{:>8} {:>5} {:>6} {:>10} {:>12}",
        "msg", "conns", "mode", "MiB/s", "CPU us/MiB"
    );
    for msg in [16 * 1024, 256 * 1024] {
        for conns in [1, 4] {
            let mut res = [
                (Vec::new(), Vec::new()),
                (Vec::new(), Vec::new()),
                (Vec::new(), Vec::new()),
            ];
            for _ in 0..reps {
                for (i, (mode, _)) in MODES.into_iter().enumerate() {
                    let (s, c) = run(mode, msg, conns, total);
                    let moved = (total / conns / msg * msg * conns) as f64 / (1 << 20) as f64;
                    res[i].0.push(moved / s);
                    res[i].1.push(c * 1e6 / moved);
                }
            }
            for (i, (_, name)) in MODES.into_iter().enumerate() {
                let (tp, cpu) = &mut res[i];
                println!(
                    "{:>7}K {:>5} {:>8} {:>10.0} {:>12.1}",
                    msg / 1024,
                    conns,
                    name,
                    median(tp),
                    median(cpu)
                );
            }
        }
    }
}
