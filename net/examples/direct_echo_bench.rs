//! Echo over direct descriptors (`accept_direct`) against normal fds, 256 connections.
//!
//! ```text
//! cargo run --release -p ringbolt-net --example direct_echo_bench -- [round trips per conn] [reps]
//! ```
//!
//! One process, two threads: a ringbolt echo server (one core) and a ringbolt client core
//! that keeps 256 connections each doing 64-byte ping-pong. Each repetition runs both modes
//! back to back. Prints medians of the server thread's CPU time (user and system, from
//! `getrusage(RUSAGE_THREAD)`) and its `io_uring_enter` calls per round trip.

use ringbolt_net::{TcpListener, TcpStream};
use ringbolt_runtime::Runtime;
use std::time::{Duration, Instant};

const CONNS: usize = 256;
const MSG: usize = 64;

/// The server side of one connection: read, then write back what was read (a read leaves the
/// `Vec` holding exactly the bytes read), until end of stream.
macro_rules! echo {
    ($s:ident) => {{
        let mut buf = vec![0u8; MSG];
        loop {
            let (res, b) = $s.read(buf).await;
            match res {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let (res, b) = $s.write_all(b).await;
                    res.unwrap();
                    buf = b;
                }
            }
        }
    }};
}

fn thread_cpu() -> (Duration, Duration) {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD with a valid out pointer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// One run; returns (wall s, server user us/rt, server sys us/rt, server enters/rt).
fn run(direct: bool, rounds: usize) -> (f64, f64, f64, f64) {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let rt = Runtime::builder()
            .direct_files(if direct { 1024 } else { 0 })
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener);
            let mut tasks = Vec::new();
            for _ in 0..CONNS {
                if direct {
                    let (s, _) = listener.accept_direct().await.unwrap();
                    tasks.push(ringbolt_runtime::spawn(async move {
                        echo!(s);
                    }));
                } else {
                    let (s, _) = listener.accept().await.unwrap();
                    tasks.push(ringbolt_runtime::spawn(async move {
                        echo!(s);
                    }));
                }
            }
            // All connected: measure from here until every connection ended.
            let (u0, s0) = thread_cpu();
            let e0 = ringbolt_runtime::stats().enters;
            for t in tasks {
                t.await.unwrap();
            }
            let (u1, s1) = thread_cpu();
            let e1 = ringbolt_runtime::stats().enters;
            (u1 - u0, s1 - s0, e1 - e0)
        })
    });
    let rt = Runtime::new().unwrap();
    let wall = rt.block_on(async move {
        let mut conns = Vec::new();
        for _ in 0..CONNS {
            conns.push(TcpStream::connect(addr).await.unwrap());
        }
        // Let the server finish accepting before the clock starts.
        ringbolt_runtime::time::sleep(Duration::from_millis(50)).await;
        let t0 = Instant::now();
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|c| {
                ringbolt_runtime::spawn(async move {
                    let mut buf = vec![7u8; MSG];
                    for _ in 0..rounds {
                        let (res, b) = c.write_all(buf).await;
                        res.unwrap();
                        let (res, b) = c.read_exact(b).await;
                        res.unwrap();
                        buf = b;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t0.elapsed().as_secs_f64()
    });
    let (user, sys, enters) = server.join().unwrap();
    let rts = (CONNS * rounds) as f64;
    (
        wall,
        user.as_secs_f64() * 1e6 / rts,
        sys.as_secs_f64() * 1e6 / rts,
        enters as f64 / rts,
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let reps: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    println!("{CONNS} conns x {rounds} round trips of {MSG} B, {reps} reps, medians (server core)");
    println!(
        "{:>7} {:>10} {:>12} {:>12} {:>12}",
        "mode", "krt/s", "usr us/rt", "sys us/rt", "enters/rt"
    );
    let mut res: [Vec<(f64, f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..reps {
        for (i, direct) in [false, true].into_iter().enumerate() {
            res[i].push(run(direct, rounds));
        }
    }
    for (i, name) in ["fd", "direct"].into_iter().enumerate() {
        let rts = (CONNS * rounds) as f64;
        let mut tp: Vec<f64> = res[i].iter().map(|r| rts / r.0 / 1e3).collect();
        let mut usr: Vec<f64> = res[i].iter().map(|r| r.1).collect();
        let mut sys: Vec<f64> = res[i].iter().map(|r| r.2).collect();
        let mut ent: Vec<f64> = res[i].iter().map(|r| r.3).collect();
        println!(
            "{:>7} {:>10.0} {:>12.3} {:>12.3} {:>12.3}",
            name,
            median(&mut tp),
            median(&mut usr),
            median(&mut sys),
            median(&mut ent)
        );
    }
}
