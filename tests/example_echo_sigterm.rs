//! The echo example as a user runs it: the built binary with the flags its doc comment shows,
//! 100 connections exchanging requests, then SIGTERM mid-traffic. Every request sent before the
//! signal is answered in full, every connection is closed cleanly by the server, and the
//! process exits 0 before its drain deadline with no fd left behind.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const CONNS: usize = 100;
const MSG: usize = 64;
/// The example's `--drain` (seconds); the process must exit well before it.
const DRAIN_SECS: u64 = 10;

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    answered: u64,
    answered_after_sigterm: u64,
    /// A request written before SIGTERM that got no (or a partial) answer.
    lost: Option<String>,
    closed_by_server: bool,
}

fn client(
    port: u16,
    id: usize,
    warm: Arc<Barrier>,
    sigterm_sent: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
) -> Seen {
    let mut seen = Seen::default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_nodelay(true).unwrap();
    let started = Instant::now();
    let mut warmed = false;
    for seq in 0u64.. {
        if !warmed && seq == 5 {
            warmed = true;
            warm.wait();
        }
        let mut req = [0u8; MSG];
        req[..8].copy_from_slice(&(id as u64).to_le_bytes());
        req[8..16].copy_from_slice(&seq.to_le_bytes());
        req[16..].fill((seq % 251) as u8);
        if s.write_all(&req).is_err() {
            // The server has closed; this request never left.
            assert!(
                sigterm_sent.load(Ordering::SeqCst),
                "write failed before SIGTERM"
            );
            seen.closed_by_server = true;
            break;
        }
        // Read after the write: a request whose write completed before the flag was set was
        // in the server's socket before the signal, so it must be answered.
        let before = !sigterm_sent.load(Ordering::SeqCst);
        in_flight.fetch_add(1, Ordering::Relaxed);
        let mut resp = [0u8; MSG];
        let mut got = 0;
        let mut eof = false;
        while got < MSG {
            match s.read(&mut resp[got..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset && !before => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    seen.lost = Some(format!("conn {id} seq {seq}: read failed: {e}"));
                    return seen;
                }
            }
        }
        in_flight.fetch_sub(1, Ordering::Relaxed);
        if eof {
            if before || got > 0 {
                seen.lost = Some(format!(
                    "conn {id} seq {seq}: {got} of {MSG} bytes then EOF (sent before SIGTERM: {before})"
                ));
            }
            seen.closed_by_server = true;
            break;
        }
        if resp != req {
            seen.lost = Some(format!("conn {id} seq {seq}: wrong bytes echoed"));
            break;
        }
        seen.answered += 1;
        if !before {
            seen.answered_after_sigterm += 1;
        }
        if started.elapsed() > Duration::from_secs(60) {
            seen.lost = Some(format!("conn {id}: the server never closed the connection"));
            break;
        }
    }
    seen
}

#[test]
fn sigterm_mid_traffic_answers_every_request_in_flight_and_exits_0() {
    let _dog = common::watchdog("example_echo_sigterm", Duration::from_secs(240));
    let bin = common::example_binary("echo", &["examples/echo.rs"]);
    let port = common::free_port();
    let addr = format!("127.0.0.1:{port}");
    let drain = DRAIN_SECS.to_string();
    // The doc comment's flags: --addr IP:PORT --cores N (and --drain SECS).
    let mut server =
        common::Server::start(&bin, &["--addr", &addr, "--cores", "2", "--drain", &drain]);
    server.wait_line("echo: listening on", Duration::from_secs(30));

    let warm = Arc::new(Barrier::new(CONNS + 1));
    let sigterm_sent = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CONNS)
        .map(|id| {
            let (warm, sent, in_flight) = (warm.clone(), sigterm_sent.clone(), in_flight.clone());
            std::thread::spawn(move || client(port, id, warm, sent, in_flight))
        })
        .collect();
    // Every connection has done 5 round trips and keeps going.
    warm.wait();
    std::thread::sleep(Duration::from_millis(50));
    assert!(server.is_running(), "the server exited on its own");
    let mid_traffic = in_flight.load(Ordering::Relaxed);
    sigterm_sent.store(true, Ordering::SeqCst);
    server.signal(libc::SIGTERM);

    let (status, took) = server.wait_exit(Duration::from_secs(60));
    let seen: Vec<Seen> = clients
        .into_iter()
        .map(|c| c.join().expect("client thread"))
        .collect();

    assert!(
        status.success(),
        "exit status {status:?}; output {:?}",
        server.seen
    );
    assert!(
        took < Duration::from_secs(DRAIN_SECS),
        "exited {took:?} after SIGTERM, not before the {DRAIN_SECS} s drain deadline"
    );
    let lost: Vec<&String> = seen.iter().filter_map(|s| s.lost.as_ref()).collect();
    assert!(lost.is_empty(), "requests lost: {lost:?}");
    assert!(
        seen.iter().all(|s| s.answered >= 5 && s.closed_by_server),
        "every connection served and then closed by the server"
    );
    let total: u64 = seen.iter().map(|s| s.answered).sum();
    let connections: u64 = server
        .seen
        .iter()
        .filter_map(|l| l.strip_prefix("echo: total: "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .next()
        .expect("total line");
    assert_eq!(connections, CONNS as u64, "{:?}", server.seen);
    server.assert_clean_report("echo");
    eprintln!(
        "echo: {total} requests answered, {mid_traffic} in flight at SIGTERM, {} answered after it, exit after {took:?}",
        seen.iter().map(|s| s.answered_after_sigterm).sum::<u64>()
    );
}
