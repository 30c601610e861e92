//! Accept under fd exhaustion. A child process (this test binary, re-executed) lowers its
//! RLIMIT_NOFILE and runs an echo server on `incoming()`; the parent opens more clients than
//! the child has fds. The server keeps serving the connections it has, does not spin while
//! out of fds (bounded CPU time), and accepts the waiting clients once fds free up.

mod common;

use common::watchdog;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "RINGBOLT_EMFILE_CHILD";
const FD_LIMIT: u64 = 80;
const CLIENTS: usize = 100;

#[test]
fn server_survives_emfile() {
    if let Some(mode) = std::env::var_os(CHILD_ENV) {
        child_server(mode == "single");
    }
    let _w = watchdog(Duration::from_secs(90));
    for mode in ["multi", "single"] {
        eprintln!("accept mode: {mode}");
        run_parent(mode);
    }
}

fn run_parent(mode: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "server_survives_emfile",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let port = read_value(&mut out, "PORT");
    let addr = format!("127.0.0.1:{port}");

    // More clients than the child has fds; all connect (the backlog holds the rest).
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|_| Client {
            s: TcpStream::connect(&addr).unwrap(),
            owed: Vec::new(),
        })
        .collect();
    let served = ping_all(&mut clients, 1, Duration::from_millis(1500));
    let n_served = served.iter().filter(|&&s| s).count();
    eprintln!("{n_served} of {CLIENTS} clients served under the fd limit");
    assert!(n_served > 0, "server accepted nothing");
    assert!(n_served < CLIENTS, "fd limit did not bite");

    // Out of fds with connections waiting: the server must sleep, not spin.
    let cpu_before = cpu_ticks(&child);
    std::thread::sleep(Duration::from_secs(1));
    let cpu_used = cpu_ticks(&child) - cpu_before;
    assert!(
        cpu_used < 25,
        "server used {cpu_used} ticks of CPU in 1 s while out of fds"
    );

    // Existing connections are still served.
    let mut old: Vec<Client> = Vec::new();
    let mut waiting: Vec<Client> = Vec::new();
    for (c, s) in clients.into_iter().zip(served) {
        if s {
            old.push(c);
        } else {
            waiting.push(c);
        }
    }
    let again = ping_all(&mut old, 2, Duration::from_secs(5));
    assert!(
        again.iter().all(|&s| s),
        "an accepted connection stopped being served"
    );

    // Free fds: the waiting clients get accepted and served.
    drop(old);
    let late = ping_all(&mut waiting, 3, Duration::from_secs(10));
    let n_late = late.iter().filter(|&&s| s).count();
    assert_eq!(
        n_late,
        waiting.len(),
        "waiting clients not served after fds freed"
    );
    drop(waiting);

    drop(child.stdin.take()); // tells the child to stop
    let resource_errors = read_value(&mut out, "RESOURCE_ERRORS");
    assert!(resource_errors > 0, "the server never saw EMFILE");
    wait_exit(&mut child);
}

/// Reads lines until one is `KEY value`.
fn read_value(out: &mut impl BufRead, key: &str) -> u64 {
    let mut line = String::new();
    for _ in 0..1000 {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("child exited before printing {key}");
        }
        // libtest may have printed "test name ... " on the same line.
        if let Some(at) = line.find(key) {
            return line[at + key.len()..].trim().parse().unwrap();
        }
    }
    panic!("child never printed {key}");
}

/// A client and the bytes it sent that have not been echoed yet.
struct Client {
    s: TcpStream,
    owed: Vec<u8>,
}

/// Sends an 8-byte ping (`round`, index) on every client and waits up to `limit` for every
/// owed byte to come back; returns which clients were fully served.
fn ping_all(clients: &mut [Client], round: u32, limit: Duration) -> Vec<bool> {
    for (i, c) in clients.iter_mut().enumerate() {
        let mut m = [0u8; 8];
        m[..4].copy_from_slice(&round.to_le_bytes());
        m[4..].copy_from_slice(&(i as u32).to_le_bytes());
        c.s.write_all(&m).unwrap();
        c.owed.extend_from_slice(&m);
        c.s.set_nonblocking(true).unwrap();
    }
    let mut got = vec![Vec::new(); clients.len()];
    let start = Instant::now();
    while start.elapsed() < limit
        && clients
            .iter()
            .zip(&got)
            .any(|(c, g)| g.len() < c.owed.len())
    {
        for (c, g) in clients.iter_mut().zip(got.iter_mut()) {
            let mut b = [0u8; 64];
            let want = c.owed.len() - g.len();
            if want > 0 {
                if let Ok(n) = c.s.read(&mut b[..want.min(64)]) {
                    g.extend_from_slice(&b[..n]);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    clients
        .iter_mut()
        .zip(got)
        .map(|(c, g)| {
            c.s.set_nonblocking(false).unwrap();
            let ok = g == c.owed;
            if ok {
                c.owed.clear();
            } else {
                assert!(c.owed.starts_with(&g), "echoed bytes differ");
            }
            ok
        })
        .collect()
}

/// The child's user + system CPU time in clock ticks (`/proc/<pid>/stat` fields 14, 15).
fn cpu_ticks(child: &Child) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after ")": field 3 is index 0, so utime (14) is index 11 and stime (15) index 12.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn wait_exit(child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "child failed: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("child did not exit");
}

/// The server side, in the child process.
fn child_server(single_shot: bool) -> ! {
    use ringbolt_net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let lim = libc::rlimit {
        rlim_cur: FD_LIMIT,
        rlim_max: FD_LIMIT,
    };
    // SAFETY: setrlimit reads the struct we pass; lowering our own limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            stop.store(true, Ordering::Release);
        });
    }
    let rt = ringbolt_runtime::Runtime::new().unwrap();
    let errors = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut stdout = std::io::stdout();
        writeln!(stdout, "\nPORT {port}").unwrap();
        stdout.flush().unwrap();
        let stop2 = stop.clone();
        // The task owns the listener: an `Incoming` borrows it.
        let server = ringbolt_runtime::spawn(async move {
            let mut incoming = listener.incoming();
            if single_shot {
                incoming = incoming.single_shot();
            }
            while !stop2.load(Ordering::Acquire) {
                let Ok(stream) = incoming.next().await else {
                    break;
                };
                ringbolt_runtime::spawn(async move {
                    let mut buf = vec![0u8; 1024];
                    loop {
                        let (res, b) = stream.read(buf).await;
                        let Ok(n) = res else { break };
                        if n == 0 {
                            break;
                        }
                        let (res, b) = stream.write_all(b[..n].to_vec()).await;
                        if res.is_err() {
                            break;
                        }
                        buf = Vec::with_capacity(b.len().max(1024));
                    }
                });
            }
            incoming.resource_errors()
        });
        while !stop.load(Ordering::Acquire) {
            ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
        }
        // Wake the acceptor with one more connection so that it sees the stop flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
        match ringbolt_runtime::time::timeout(Duration::from_secs(2), server).await {
            Ok(Ok(n)) => n,
            _ => 0,
        }
    });
    let mut stdout = std::io::stdout();
    writeln!(stdout, "\nRESOURCE_ERRORS {errors}").unwrap();
    stdout.flush().unwrap();
    std::process::exit(0);
}
