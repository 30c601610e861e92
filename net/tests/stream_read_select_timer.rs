//! Issue #13's first reproduction: a read loop inside `select!` against a 50 µs `biased` timer.
//! The timer wins whenever it is due, dropping the read in flight, often after the kernel
//! completed it. 2,000,000 bytes must arrive with 0 lost and 0 reordered, over TCP and Unix
//! streams, a TCP read half, with owned buffers and through the readiness path (`PollIo`).
//!
//! Before the fix the owned-buffer loops lost most of the bytes without any error (the
//! readiness path was already safe: its read is a non-blocking syscall, nothing in flight).

mod common;

use common::{watchdog, Rng};
use ringbolt_net::compat::PollIo;
use ringbolt_net::{TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::io::AsyncReadOwned;
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::future::poll_fn;
use std::io::Write;
use std::time::Duration;

const TOTAL: usize = 2_000_000;
const CHUNK: usize = 16 * 1024;
/// Far more loop turns than the transfer needs even if the timer won every other turn.
const TURNS_MAX: usize = 2_000_000;

/// Writes `data` in random pieces with random pauses (so reads are often in flight when the
/// timer fires), then closes the stream.
fn spawn_writer<W: Write + Send + 'static>(
    mut w: W,
    data: Vec<u8>,
    seed: u64,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        let mut at = 0;
        while at < data.len() {
            let n = (1 + rng.below(CHUNK as u64) as usize).min(data.len() - at);
            w.write_all(&data[at..at + n]).expect("writer");
            at += n;
            if rng.below(4) == 0 {
                std::thread::sleep(Duration::from_micros(rng.below(300)));
            }
        }
    })
}

/// What the reader got against what was sent.
fn check(what: &str, sent: &[u8], got: &[u8], timer_wins: usize) {
    let lost = sent.len().saturating_sub(got.len());
    let reordered = sent.iter().zip(got).filter(|(a, b)| a != b).count();
    eprintln!(
        "{what}: {} bytes received, {lost} lost, {reordered} out of place, timer won {timer_wins} times",
        got.len()
    );
    assert_eq!(lost, 0, "{what}: bytes lost");
    assert_eq!(got.len(), sent.len(), "{what}: extra bytes");
    assert_eq!(reordered, 0, "{what}: bytes reordered");
    assert!(
        timer_wins > 0,
        "{what}: the timer never won; the scenario was not exercised"
    );
}

/// The loop a new user writes: a fresh buffer per turn, the timer polled first.
async fn read_loop_owned<R: AsyncReadOwned>(r: &mut R) -> (Vec<u8>, usize) {
    let mut got = Vec::with_capacity(TOTAL);
    let mut timer_wins = 0;
    for _ in 0..TURNS_MAX {
        ringbolt_runtime::select! {
            biased;
            _ = sleep(Duration::from_micros(50)) => timer_wins += 1,
            (res, buf) = r.read(Vec::with_capacity(CHUNK)) => {
                let n = res.expect("read");
                if n == 0 {
                    return (got, timer_wins);
                }
                got.extend_from_slice(&buf[..n]);
            }
        }
    }
    panic!(
        "no end of stream after {TURNS_MAX} turns ({} bytes)",
        got.len()
    );
}

/// The same loop through the readiness path, into a borrowed buffer.
async fn read_loop_poll<S: ringbolt_net::compat::PollSource>(
    io: &mut PollIo<S>,
) -> (Vec<u8>, usize) {
    let mut got = Vec::with_capacity(TOTAL);
    let mut timer_wins = 0;
    let mut buf = vec![0u8; CHUNK];
    for _ in 0..TURNS_MAX {
        ringbolt_runtime::select! {
            biased;
            _ = sleep(Duration::from_micros(50)) => timer_wins += 1,
            res = poll_fn(|cx| io.poll_read(cx, &mut buf)) => {
                let n = res.expect("poll_read");
                if n == 0 {
                    return (got, timer_wins);
                }
                got.extend_from_slice(&buf[..n]);
            }
        }
    }
    panic!(
        "no end of stream after {TURNS_MAX} turns ({} bytes)",
        got.len()
    );
}

/// A connected pair: the ringbolt side and a std client for the writer thread.
async fn tcp_pair() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (server, client)
}

fn unix_pair() -> (UnixStream, std::os::unix::net::UnixStream) {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    (UnixStream::from_std(a), b)
}

#[test]
fn tcp_owned_read_in_select_with_50us_timer_loses_nothing() {
    let _w = watchdog(Duration::from_secs(120));
    let data = Rng::new(1301).bytes(TOTAL);
    Runtime::new().unwrap().block_on(async {
        let (mut server, client) = tcp_pair().await;
        let writer = spawn_writer(client, data.clone(), 1);
        let (got, wins) = read_loop_owned(&mut server).await;
        writer.join().unwrap();
        check("tcp owned", &data, &got, wins);
    });
}

#[test]
fn unix_owned_read_in_select_with_50us_timer_loses_nothing() {
    let _w = watchdog(Duration::from_secs(120));
    let data = Rng::new(1302).bytes(TOTAL);
    Runtime::new().unwrap().block_on(async {
        let (mut server, client) = unix_pair();
        let writer = spawn_writer(client, data.clone(), 2);
        let (got, wins) = read_loop_owned(&mut server).await;
        writer.join().unwrap();
        check("unix owned", &data, &got, wins);
    });
}

#[test]
fn tcp_read_half_in_select_with_50us_timer_loses_nothing() {
    let _w = watchdog(Duration::from_secs(120));
    let data = Rng::new(1303).bytes(TOTAL);
    Runtime::new().unwrap().block_on(async {
        let (server, client) = tcp_pair().await;
        let (mut rd, _wr) = server.into_split();
        let writer = spawn_writer(client, data.clone(), 3);
        let (got, wins) = read_loop_owned(&mut rd).await;
        writer.join().unwrap();
        check("tcp read half", &data, &got, wins);
    });
}

#[test]
fn tcp_poll_read_in_select_with_50us_timer_loses_nothing() {
    let _w = watchdog(Duration::from_secs(120));
    let data = Rng::new(1304).bytes(TOTAL);
    Runtime::new().unwrap().block_on(async {
        let (server, client) = tcp_pair().await;
        let mut io = server.into_poll_io();
        let writer = spawn_writer(client, data.clone(), 4);
        let (got, wins) = read_loop_poll(&mut io).await;
        writer.join().unwrap();
        check("tcp readiness", &data, &got, wins);
    });
}

#[test]
fn unix_poll_read_in_select_with_50us_timer_loses_nothing() {
    let _w = watchdog(Duration::from_secs(120));
    let data = Rng::new(1305).bytes(TOTAL);
    Runtime::new().unwrap().block_on(async {
        let (server, client) = unix_pair();
        let mut io = server.into_poll_io();
        let writer = spawn_writer(client, data.clone(), 5);
        let (got, wins) = read_loop_poll(&mut io).await;
        writer.join().unwrap();
        check("unix readiness", &data, &got, wins);
    });
}

/// Half the turns through owned reads that the timer may drop, then the rest through
/// `PollIo`: the bytes the last dropped owned reads kept come out of the readiness path
/// first.
#[test]
fn tcp_owned_then_poll_read_keeps_order() {
    let _w = watchdog(Duration::from_secs(120));
    let data = Rng::new(1306).bytes(TOTAL);
    Runtime::new().unwrap().block_on(async {
        let (server, client) = tcp_pair().await;
        let writer = spawn_writer(client, data.clone(), 6);
        let mut got = Vec::with_capacity(TOTAL);
        let mut wins = 0;
        while got.len() < TOTAL / 2 {
            ringbolt_runtime::select! {
                biased;
                _ = sleep(Duration::from_micros(50)) => wins += 1,
                (res, buf) = server.read(Vec::with_capacity(CHUNK)) => {
                    let n = res.expect("read");
                    assert!(n > 0, "early end of stream");
                    got.extend_from_slice(&buf[..n]);
                }
            }
        }
        // The last turn may have been the timer's, with a read's bytes kept on the stream.
        let mut io = server.into_poll_io();
        let (rest, more_wins) = read_loop_poll(&mut io).await;
        got.extend_from_slice(&rest);
        writer.join().unwrap();
        check("tcp owned then readiness", &data, &got, wins + more_wins);
    });
}
