//! The load generator: raw epoll client threads (neither tokio nor ringbolt), pinned to the
//! client cores, C connections × S-byte messages, every echoed byte verified.
//!
//! Rules:
//! 1. Closed loop: each connection has one message outstanding; its echo completing sends the
//!    next. Open loop (`rate`): messages are scheduled at fixed intervals round-robin over the
//!    connections whether or not earlier ones came back, and latency is measured from the
//!    scheduled time (so a stalled server is not hidden: no coordinated omission).
//! 2. Message `k` on connection `c` is a window of a random pattern at an offset depending on
//!    `(c, k)`, so a stale, duplicated or misplaced byte fails verification.
//! 3. HTTP mode (`http`): message `k` is a keep-alive `GET /` and its "echo" is the response,
//!    parsed (status line, `Content-Length`, body) and checked: status 200 and the body byte for
//!    byte. A malformed or unexpected response fails the run.
//! 4. Phases are driven by the caller: warm-up (connections busy, nothing recorded), measure
//!    (counters reset when the thread first sees it), stop. Every wait is bounded: a thread that
//!    sees no progress for [`STALL`] gives up with an error.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::affinity::pin_current_thread;
use crate::cpu::{thread_cpu, CpuTimes};
use crate::stats::Histogram;

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;
/// A thread with no completed round trip for this long fails.
pub const STALL: Duration = Duration::from_secs(5);
const PATTERN_SLACK: usize = 4096;
/// Open loop: messages scheduled but not yet echoed, per thread, beyond which new ones are dropped.
const BACKLOG_MAX: u64 = 1 << 20;

/// What to generate.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Server address.
    pub addr: SocketAddr,
    /// Connections in total.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Open-loop rate in round trips/s in total; `None` for closed loop.
    pub rate: Option<u64>,
    /// Client cores: one thread per core (at most one per connection).
    pub cores: Vec<usize>,
    /// Busy-poll (`epoll_wait` with a zero timeout) instead of sleeping between events, so a
    /// sleeping client's wake-up latency does not add to every round trip. Only for client cores
    /// nothing else uses.
    pub spin: bool,
    /// HTTP mode: keep-alive `GET /` requests, responses parsed and verified (rule 3).
    pub http: bool,
}

/// Totals over the measured window.
#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    /// Round trips completed in the window.
    pub round_trips: u64,
    /// Round trips per second (sum over threads of each thread's count / its window).
    pub rps: f64,
    /// Latency histogram in ns.
    pub hist: Histogram,
    /// Echoed bytes compared against what was sent (whole run, warm-up included).
    pub verified_bytes: u64,
    /// Open loop: messages not sent because the backlog was full.
    pub dropped: u64,
    /// CPU (user + kernel) the load generator threads used in the window, in µs.
    pub cpu_us: f64,
}

/// A running load generator.
pub struct LoadGen {
    phase: Arc<AtomicU8>,
    threads: Vec<JoinHandle<io::Result<ThreadResult>>>,
}

#[derive(Default)]
struct ThreadResult {
    round_trips: u64,
    window: Duration,
    hist: Histogram,
    verified_bytes: u64,
    dropped: u64,
    cpu_us: f64,
}

impl LoadGen {
    /// Connects every connection and starts the warm-up phase.
    ///
    /// # Errors
    /// Connection or pinning failures, or threads not ready within 10 s.
    pub fn start(spec: &LoadSpec) -> io::Result<LoadGen> {
        let phase = Arc::new(AtomicU8::new(WARMUP));
        let threads_n = spec.cores.len().clamp(1, spec.conns.max(1));
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut threads = Vec::with_capacity(threads_n);
        let mut gen = LoadGen {
            phase: phase.clone(),
            threads: Vec::new(),
        };
        for t in 0..threads_n {
            let conns = spec.conns / threads_n + usize::from(t < spec.conns % threads_n);
            let rate = spec.rate.map(|r| r as f64 / threads_n as f64);
            let (spec, phase, ready) = (spec.clone(), phase.clone(), ready_tx.clone());
            let core = spec.cores.get(t).copied();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("loadgen-{t}"))
                    .spawn(move || -> io::Result<ThreadResult> {
                        let mut worker = match Worker::connect(&spec, core, t, conns, rate) {
                            Ok(w) => w,
                            Err(e) => {
                                let _ = ready.send(Err(e.to_string()));
                                return Err(e);
                            }
                        };
                        let _ = ready.send(Ok(()));
                        worker.run(&phase)
                    })?,
            );
        }
        gen.threads = threads;
        for _ in 0..threads_n {
            match ready_rx.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(io::Error::other(format!("load generator: {e}"))),
                Err(_) => return Err(io::Error::other("load generator threads not ready in 10 s")),
            }
        }
        Ok(gen)
    }

    /// Starts the measured window.
    pub fn measure(&self) {
        self.phase.store(MEASURE, Ordering::Release);
    }

    /// Ends the measured window without waiting for the threads.
    pub fn signal_stop(&self) {
        self.phase.store(STOP, Ordering::Release);
    }

    /// Stops (if not yet) and collects the results.
    ///
    /// # Errors
    /// The first error any thread hit (verification failure, server gone, stall).
    pub fn finish(mut self) -> io::Result<LoadResult> {
        self.signal_stop();
        let mut total = LoadResult::default();
        let mut first_err = None;
        for t in self.threads.drain(..) {
            match t.join() {
                Ok(Ok(r)) => {
                    total.round_trips += r.round_trips;
                    if !r.window.is_zero() {
                        total.rps += r.round_trips as f64 / r.window.as_secs_f64();
                    }
                    total.hist.merge(&r.hist);
                    total.verified_bytes += r.verified_bytes;
                    total.dropped += r.dropped;
                    total.cpu_us += r.cpu_us;
                }
                Ok(Err(e)) => first_err = first_err.or(Some(e)),
                Err(_) => first_err = first_err.or(Some(io::Error::other("load thread panicked"))),
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }
}

impl Drop for LoadGen {
    fn drop(&mut self) {
        self.signal_stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The random pattern messages are cut from.
struct Pattern {
    bytes: Vec<u8>,
    size: usize,
}

impl Pattern {
    fn new(size: usize, seed: u64) -> Pattern {
        let mut x = seed | 1;
        let bytes = (0..size + PATTERN_SLACK)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        Pattern { bytes, size }
    }

    fn msg(&self, conn: usize, seq: u64) -> &[u8] {
        let off = ((conn as u64)
            .wrapping_mul(97)
            .wrapping_add(seq.wrapping_mul(31))
            % PATTERN_SLACK as u64) as usize;
        &self.bytes[off..off + self.size]
    }
}

struct Conn {
    stream: TcpStream,
    /// Next message to write, and how much of it is written.
    send_seq: u64,
    send_off: usize,
    /// Messages scheduled but not yet completely written.
    queued: u64,
    /// Message being received, and how much of it arrived.
    recv_seq: u64,
    recv_off: usize,
    /// Scheduled send time of every message not yet echoed.
    sched: VecDeque<Instant>,
    out_armed: bool,
    /// HTTP mode: response bytes received and not yet parsed.
    resp: Vec<u8>,
}

/// The request HTTP mode sends, and the body every response must carry.
const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// What one complete response in `buf` is: its total length, or `None` if more bytes are
/// needed.
///
/// # Errors
/// A response that is not `200` with a `Content-Length` body equal to `want`.
fn parse_response(buf: &[u8], want: &[u8]) -> io::Result<Option<usize>> {
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("HTTP response: {what}"));
    let Some(head_len) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4) else {
        if buf.len() > 16 * 1024 {
            return Err(bad("header section over 16 KiB"));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_len]).map_err(|_| bad("non-UTF-8 header"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200 ") {
        return Err(bad(&format!("status line {status:?}")));
    }
    let len = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .ok_or_else(|| bad("no Content-Length"))?;
    if buf.len() < head_len + len {
        return Ok(None);
    }
    if &buf[head_len..head_len + len] != want {
        return Err(bad("body differs"));
    }
    Ok(Some(head_len + len))
}

struct Worker {
    ep: RawFd,
    conns: Vec<Conn>,
    pattern: Pattern,
    scratch: Vec<u8>,
    /// Open loop: ns between scheduled messages of this thread.
    interval_ns: Option<f64>,
    measuring: bool,
    res: ThreadResult,
    backlog: u64,
    spin: bool,
    http: bool,
}

fn cvt(rc: i32) -> io::Result<i32> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl Worker {
    fn connect(
        spec: &LoadSpec,
        core: Option<usize>,
        thread: usize,
        conns: usize,
        rate: Option<f64>,
    ) -> io::Result<Worker> {
        if let Some(core) = core {
            pin_current_thread(&[core])?;
        }
        // SAFETY: epoll_create1 has no memory-safety preconditions.
        let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        let mut worker = Worker {
            ep,
            conns: Vec::with_capacity(conns),
            pattern: Pattern::new(spec.size, 0x9E37_79B9_7F4A_7C15 ^ thread as u64),
            scratch: vec![0; (spec.size * 4).clamp(64 * 1024, 1 << 20)],
            interval_ns: rate.map(|r| 1e9 / r.max(1e-3)),
            measuring: false,
            res: ThreadResult::default(),
            backlog: 0,
            spin: spec.spin,
            http: spec.http,
        };
        for i in 0..conns {
            let stream = TcpStream::connect_timeout(&spec.addr, Duration::from_secs(5))?;
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            worker.ctl(
                libc::EPOLL_CTL_ADD,
                stream.as_raw_fd(),
                libc::EPOLLIN as u32,
                i,
            )?;
            worker.conns.push(Conn {
                stream,
                send_seq: 0,
                send_off: 0,
                queued: 0,
                recv_seq: 0,
                recv_off: 0,
                sched: VecDeque::new(),
                out_armed: false,
                resp: Vec::new(),
            });
        }
        Ok(worker)
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32, idx: usize) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events,
            u64: idx as u64,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.ep, op, fd, &mut ev) }).map(drop)
    }

    fn run(&mut self, phase: &AtomicU8) -> io::Result<ThreadResult> {
        let result = self.run_inner(phase);
        // SAFETY: `ep` is this worker's epoll fd, not used after this.
        unsafe { libc::close(self.ep) };
        result.map(|()| std::mem::take(&mut self.res))
    }

    fn run_inner(&mut self, phase: &AtomicU8) -> io::Result<()> {
        let start = Instant::now();
        let mut next_due = start;
        let mut rr = 0usize;
        let mut last_progress = start;
        let mut window_start = start;
        let mut cpu_start = CpuTimes::default();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 512];
        if self.interval_ns.is_none() {
            for i in 0..self.conns.len() {
                self.schedule(i, start)?;
            }
        }
        loop {
            let now = Instant::now();
            match phase.load(Ordering::Acquire) {
                MEASURE if !self.measuring => {
                    self.measuring = true;
                    window_start = now;
                    cpu_start = thread_cpu().unwrap_or_default();
                    (self.res.round_trips, self.res.dropped) = (0, 0);
                    self.res.hist.clear();
                }
                STOP => {
                    if self.measuring {
                        self.res.window = now - window_start;
                        let cpu = thread_cpu().unwrap_or_default().since(cpu_start);
                        self.res.cpu_us = cpu.user_us + cpu.sys_us;
                    }
                    return Ok(());
                }
                _ => {}
            }
            let timeout_ms = match self.interval_ns {
                Some(interval) => self.generate(now, &mut next_due, &mut rr, interval)?,
                None if self.spin => 0,
                None => 20,
            };
            // SAFETY: `events` is writable for `events.len()` entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.ep,
                    events.as_mut_ptr(),
                    events.len() as i32,
                    timeout_ms,
                )
            };
            let n = match cvt(n) {
                Ok(n) => n as usize,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => return Err(e),
            };
            let before = self.res.verified_bytes;
            for ev in &events[..n] {
                let (idx, flags) = (ev.u64 as usize, ev.events);
                if flags & libc::EPOLLOUT as u32 != 0 {
                    self.write_pending(idx)?;
                }
                if flags & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
                    self.read(idx)?;
                }
            }
            if self.res.verified_bytes != before {
                last_progress = Instant::now();
            } else if last_progress.elapsed() > STALL && self.backlog > 0 {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no echo for 5 s"));
            }
        }
    }

    /// Open loop: schedules every message due by `now`; returns the epoll timeout to the next.
    fn generate(
        &mut self,
        now: Instant,
        next_due: &mut Instant,
        rr: &mut usize,
        interval: f64,
    ) -> io::Result<i32> {
        while *next_due <= now {
            if self.backlog < BACKLOG_MAX {
                let idx = *rr;
                *rr = (*rr + 1) % self.conns.len();
                self.schedule(idx, *next_due)?;
            } else {
                self.res.dropped += 1;
            }
            *next_due += Duration::from_nanos(interval as u64);
        }
        let wait = *next_due - now;
        Ok(if wait < Duration::from_millis(1) {
            0
        } else {
            wait.as_millis() as i32
        })
    }

    fn schedule(&mut self, idx: usize, at: Instant) -> io::Result<()> {
        let c = &mut self.conns[idx];
        c.sched.push_back(at);
        c.queued += 1;
        self.backlog += 1;
        if c.out_armed {
            Ok(())
        } else {
            self.write_pending(idx)
        }
    }

    fn write_pending(&mut self, idx: usize) -> io::Result<()> {
        let c = &mut self.conns[idx];
        while c.queued > 0 {
            let msg = if self.http {
                HTTP_REQUEST
            } else {
                self.pattern.msg(idx, c.send_seq)
            };
            match c.stream.write(&msg[c.send_off..]) {
                Ok(n) => {
                    c.send_off += n;
                    if c.send_off == msg.len() {
                        (c.send_off, c.send_seq, c.queued) = (0, c.send_seq + 1, c.queued - 1);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !c.out_armed {
                        c.out_armed = true;
                        let fd = c.stream.as_raw_fd();
                        self.ctl(
                            libc::EPOLL_CTL_MOD,
                            fd,
                            (libc::EPOLLIN | libc::EPOLLOUT) as u32,
                            idx,
                        )?;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if c.out_armed {
            c.out_armed = false;
            let fd = c.stream.as_raw_fd();
            self.ctl(libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN as u32, idx)?;
        }
        Ok(())
    }

    fn read(&mut self, idx: usize) -> io::Result<()> {
        let n = match self.conns[idx].stream.read(&mut self.scratch) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed a connection",
                ))
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(e),
        };
        let now = Instant::now();
        if self.http {
            return self.read_http(idx, n, now);
        }
        let mut done = 0;
        while done < n {
            let c = &mut self.conns[idx];
            if c.sched.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "echo returned more bytes than were sent",
                ));
            }
            let msg = self.pattern.msg(idx, c.recv_seq);
            let take = (n - done).min(msg.len() - c.recv_off);
            if self.scratch[done..done + take] != msg[c.recv_off..c.recv_off + take] {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "echoed bytes differ (connection {idx}, message {})",
                        c.recv_seq
                    ),
                ));
            }
            done += take;
            c.recv_off += take;
            self.res.verified_bytes += take as u64;
            if c.recv_off == msg.len() {
                (c.recv_off, c.recv_seq) = (0, c.recv_seq + 1);
                self.complete(idx, now)?;
            }
        }
        Ok(())
    }

    /// One message of connection `idx` came back whole: record it, and in closed loop send
    /// the next.
    fn complete(&mut self, idx: usize, now: Instant) -> io::Result<()> {
        let sent_at = self.conns[idx].sched.pop_front().unwrap_or(now);
        self.backlog -= 1;
        if self.measuring {
            self.res.round_trips += 1;
            self.res
                .hist
                .record(now.saturating_duration_since(sent_at).as_nanos() as u64);
        }
        if self.interval_ns.is_none() {
            self.schedule(idx, now)?;
        }
        Ok(())
    }

    /// HTTP mode: appends `n` scratch bytes to the connection's response buffer and completes
    /// every whole, verified response in it.
    fn read_http(&mut self, idx: usize, n: usize, now: Instant) -> io::Result<()> {
        self.conns[idx].resp.extend_from_slice(&self.scratch[..n]);
        let mut used = 0;
        while let Some(len) =
            parse_response(&self.conns[idx].resp[used..], crate::servers::http::BODY)?
        {
            if self.conns[idx].sched.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "HTTP response without a request",
                ));
            }
            used += len;
            self.res.verified_bytes += len as u64;
            self.complete(idx, now)?;
        }
        self.conns[idx].resp.drain(..used);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_messages_differ_by_conn_and_seq() {
        let p = Pattern::new(64, 7);
        assert_eq!(p.msg(0, 0).len(), 64);
        assert_ne!(p.msg(0, 0), p.msg(0, 1));
        assert_ne!(p.msg(0, 0), p.msg(1, 0));
        assert_eq!(p.msg(3, 5), p.msg(3, 5));
    }

    #[test]
    fn http_responses_parse_and_verify() {
        let body = b"hi\n";
        let one = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ndate: x\r\n\r\nhi\n";
        assert_eq!(parse_response(one, body).unwrap(), Some(one.len()));
        assert_eq!(parse_response(&one[..one.len() - 1], body).unwrap(), None);
        assert_eq!(parse_response(&one[..10], body).unwrap(), None);
        let wrong = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nho\n";
        assert!(parse_response(wrong, body).is_err());
        let status = b"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nhi\n";
        assert!(parse_response(status, body).is_err());
        let no_len = b"HTTP/1.1 200 OK\r\n\r\n";
        assert!(parse_response(no_len, body).is_err());
    }
}
