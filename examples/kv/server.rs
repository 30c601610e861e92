//! The sharded server: one listener, one shard and one shard task per core; connections on any
//! core forward the operations on other cores' keys over a mesh of cross-core channels.
//!
//! Rules:
//! 1. A key belongs to core `shard_of(key, cores)`; only that core's `Store` ever touches it.
//! 2. A connection reads whatever pipelined commands have arrived, splits their operations into
//!    one batch per core, runs its own core's batch in place, sends every other batch as one
//!    message, and waits for all the answers: one cross-core message per core per read.
//! 3. Each core sees a connection's operations in the order the client sent them, and replies
//!    are written in that order.
//! 4. Stopping is graceful (see `ringbolt::shutdown`): when the shared shutdown is triggered
//!    (SIGTERM or Ctrl-C with `stop_on_signals`, [`Handle::shutdown`], or a core failing),
//!    each core's token is cancelled, its accept loop ends, and each connection shuts down its
//!    read side, answers every command the client had already sent, and closes. The core waits
//!    for its connections; the launcher aborts what is left at the drain deadline.
//! 5. An `accept` is never dropped while the server runs: with io_uring a dropped accept closes
//!    a connection the kernel had already accepted. So the accept loop selects only against
//!    the shutdown token, and finished connections are reaped with `try_join_next` in passing.
//!    A connection's read is never dropped either (its bytes would be lost): the shutdown
//!    shuts the socket's read side instead, which ends the read.

use crate::resp::{parse_command, Reply};
use crate::store::{shard_of, Op, OpResult, Store};
use ringbolt_net::{TcpListener, TcpStream};
use ringbolt_runtime::shutdown::{CoreReport, Shutdown};
use ringbolt_runtime::signal::unix::SignalKind;
use ringbolt_runtime::sync::cross::{self, oneshot};
use ringbolt_runtime::sync::CancellationToken;
use ringbolt_runtime::task::{join_all, select as select2, Either, JoinSet};
use ringbolt_runtime::{select, Runtime};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

/// Commands parsed from one read are answered together; more wait for the next round.
const MAX_BATCH: usize = 4096;

/// A batch of operations for one core, and where to send the results.
struct Request {
    ops: Vec<Op>,
    reply: oneshot::Sender<Vec<OpResult>>,
}

/// How the server runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Cores (one listener, shard and runtime each).
    pub cores: usize,
    /// Stop gracefully on SIGTERM and SIGINT (for a process; off for a server inside tests).
    pub stop_on_signals: bool,
    /// How long connections get to finish once the server stops, before they are aborted.
    pub drain: Duration,
}

impl Options {
    /// `cores` cores, no signal handling, a 10 s drain.
    pub fn new(cores: usize) -> Options {
        Options {
            cores,
            stop_on_signals: false,
            drain: Duration::from_secs(10),
        }
    }
}

/// How the server stopped: per core, tasks drained and aborted.
pub type Stopped = Vec<CoreReport<()>>;

/// A running server.
pub struct Handle {
    addr: SocketAddr,
    shutdown: Shutdown,
    thread: std::thread::JoinHandle<io::Result<Stopped>>,
}

impl Handle {
    /// The address the server listens on (the real port if 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's shutdown handle: triggering it (from any thread) stops the server
    /// gracefully.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Waits for the server to stop (after a trigger of [`Handle::shutdown`], a signal with
    /// `stop_on_signals`, or a failure).
    ///
    /// # Errors
    ///
    /// Why a core failed.
    pub fn join(self) -> io::Result<Stopped> {
        self.thread
            .join()
            .map_err(|_| io::Error::other("server thread panicked"))?
    }
}

/// Starts the server in a background thread and returns once it listens.
///
/// # Errors
///
/// The runtime could not start or `addr` could not be bound.
pub fn start_with(addr: SocketAddr, opts: Options) -> io::Result<Handle> {
    let opts = Options {
        cores: opts.cores.max(1),
        ..opts
    };
    let shutdown = Shutdown::new();
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let thread = {
        let shutdown = shutdown.clone();
        std::thread::Builder::new()
            .name("kv-server".into())
            .spawn(move || serve(addr, opts, &shutdown, bound_tx))?
    };
    match bound_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(addr) => Ok(Handle {
            addr,
            shutdown,
            thread,
        }),
        Err(_) => {
            shutdown.trigger();
            match thread.join() {
                Ok(Err(e)) => Err(e),
                _ => Err(io::Error::other("kv server did not start")),
            }
        }
    }
}

/// Runs every core until the shutdown. Core 0 binds first (so port 0 picks one port) and
/// passes the address to the other cores, which bind the same one
/// (`TcpListener::bind_reuseport`).
fn serve(
    addr: SocketAddr,
    opts: Options,
    shutdown: &Shutdown,
    bound: std::sync::mpsc::Sender<SocketAddr>,
) -> io::Result<Stopped> {
    let cores = opts.cores;
    let mesh = cross::mesh::<Request>(cores, 1024);
    let (addr_txs, addr_rxs): (Vec<_>, Vec<_>) = (0..cores).map(|_| oneshot::channel()).unzip();
    let addr_txs = Mutex::new(Some(addr_txs));
    let addr_rxs: Vec<_> = addr_rxs.into_iter().map(|r| Mutex::new(Some(r))).collect();
    let bound = Mutex::new(bound);
    Runtime::builder()
        .cores(cores)
        .drain_timeout(opts.drain)
        .launch_with_shutdown(shutdown, |core, token| {
            let peer = mesh.join(core);
            let addr_rx = take(&addr_rxs[core]);
            let addr_txs = if core == 0 {
                addr_txs.lock().ok().and_then(|mut g| g.take())
            } else {
                None
            };
            let bound = bound.lock().ok().map(|b| b.clone());
            let shutdown = shutdown.clone();
            async move {
                let (peer, addr_rx) = match (peer, addr_rx) {
                    (Some(p), Some(a)) => (p, a),
                    _ => return Err(io::Error::other("core started twice")),
                };
                if core == 0 && opts.stop_on_signals {
                    shutdown.trigger_on(&[SignalKind::terminate(), SignalKind::interrupt()])?;
                }
                let listener = match addr_txs {
                    Some(txs) => {
                        let l = TcpListener::bind_reuseport(addr)?;
                        let local = l.local_addr()?;
                        for tx in txs {
                            // A core that already failed dropped its receiver: nothing to tell.
                            let _ = tx.send(local);
                        }
                        if let Some(b) = bound {
                            let _ = b.send(local);
                        }
                        l
                    }
                    None => {
                        let local = match select2(addr_rx, token.cancelled()).await {
                            Either::Left(r) => {
                                r.map_err(|_| io::Error::other("core 0 failed to bind"))?
                            }
                            // Stopped before core 0 bound.
                            Either::Right(()) => return Ok(()),
                        };
                        TcpListener::bind_reuseport(local)?
                    }
                };
                run_core(core, listener, peer, token).await
            }
        })
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().ok().and_then(|mut g| g.take())
}

/// One core: the shard task, the accept loop, the connections.
async fn run_core(
    core: usize,
    listener: TcpListener,
    peer: cross::Peer<Request>,
    token: CancellationToken,
) -> io::Result<()> {
    let (senders, mut requests) = peer.into_parts();
    let store = Rc::new(RefCell::new(Store::new()));
    let shard_store = store.clone();
    let _shard = ringbolt_runtime::spawn(async move {
        while let Some(req) = requests.recv().await {
            let mut store = shard_store.borrow_mut();
            let results = req.ops.into_iter().map(|op| store.apply(op)).collect();
            drop(store);
            // The asking connection may be gone; then nobody wants the answer.
            let _ = req.reply.send(results);
        }
    });
    let senders = Rc::new(senders);
    let mut conns = JoinSet::new();
    loop {
        // Only the shutdown may interrupt `accept` (rule 5).
        select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let conn = Connection {
                        core,
                        senders: senders.clone(),
                        store: store.clone(),
                        token: token.clone(),
                    };
                    conns.spawn(conn.serve(stream));
                }
                Err(e) => eprintln!("kv: core {core}: accept failed: {e}"),
            },
            _ = token.cancelled() => break,
        }
        while let Some(done) = conns.try_join_next() {
            report(core, done);
        }
    }
    // Rule 4: no new connections; the ones in hand answer what they have and close.
    listener.close().await?;
    while let Some(done) = conns.join_next().await {
        report(core, done);
    }
    Ok(())
}

fn report(core: usize, done: Result<io::Result<()>, ringbolt_runtime::task::JoinError>) {
    match done {
        Ok(Err(e)) if e.kind() != io::ErrorKind::ConnectionReset => {
            eprintln!("kv: core {core}: connection failed: {e}");
        }
        Err(e) if e.is_panic() => eprintln!("kv: core {core}: connection task {e}"),
        _ => {}
    }
}

/// What a command's reply is built from.
enum Shape {
    /// The reply is already known.
    Now(Reply),
    /// A bulk value (GET).
    Value,
    /// `+OK` once every operation is done (SET, MSET, FLUSHALL).
    Ok,
    /// One number (INCR).
    Int,
    /// The sum of the numbers (DEL, EXISTS, DBSIZE).
    Sum,
    /// An array of values (MGET).
    Values,
}

/// A command after planning: its shape and where its operations' results will be.
struct Planned {
    shape: Shape,
    slots: Vec<(usize, usize)>,
}

struct Connection {
    core: usize,
    senders: Rc<Vec<cross::Sender<Request>>>,
    store: Rc<RefCell<Store>>,
    token: CancellationToken,
}

impl Connection {
    async fn serve(self, stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let mut input: Vec<u8> = Vec::with_capacity(16 * 1024);
        let mut rbuf: Vec<u8> = Vec::with_capacity(16 * 1024);
        let mut out: Vec<u8> = Vec::with_capacity(16 * 1024);
        let mut read_shut = false;
        loop {
            rbuf.clear();
            let (res, buf) = self
                .read_or_drain(&stream, &mut read_shut, stream.read(rbuf))
                .await;
            rbuf = buf;
            if res? == 0 {
                return Ok(());
            }
            input.extend_from_slice(&rbuf);
            loop {
                let (cmds, used, error) = parse_batch(&input);
                input.drain(..used);
                let full = cmds.len() == MAX_BATCH;
                let quit = self.execute(cmds, &mut out).await;
                if let Some(e) = &error {
                    Reply::Error(format!("ERR {e}")).encode(&mut out);
                }
                if !out.is_empty() {
                    let (res, buf) = stream.write_all(out).await;
                    out = buf;
                    res?;
                    out.clear();
                }
                if quit || error.is_some() {
                    return Ok(());
                }
                // More whole commands than one batch arrived: answer them before reading on.
                if !full {
                    break;
                }
            }
        }
    }

    /// Awaits `read`; once the shutdown starts, shuts the socket's read side down (once) so the
    /// read returns the commands the client already sent and then end-of-file (rule 5).
    async fn read_or_drain<F: Future>(
        &self,
        stream: &TcpStream,
        read_shut: &mut bool,
        read: F,
    ) -> F::Output {
        let mut read = pin!(read);
        if !*read_shut && !self.token.is_cancelled() {
            if let Either::Left(v) = select2(read.as_mut(), self.token.cancelled()).await {
                return v;
            }
        }
        if !*read_shut {
            *read_shut = true;
            // Fails only if the client is gone already; the read then ends by itself.
            let _ = stream.shutdown(std::net::Shutdown::Read).await;
        }
        read.await
    }

    /// Runs a batch of commands and appends their replies to `out` in order (rule 3).
    /// Returns whether the client asked to quit.
    async fn execute(&self, cmds: Vec<Vec<Vec<u8>>>, out: &mut Vec<u8>) -> bool {
        let cores = self.senders.len();
        let mut batches: Vec<Vec<Op>> = (0..cores).map(|_| Vec::new()).collect();
        let mut quit = false;
        let planned: Vec<Planned> = cmds
            .into_iter()
            .map(|args| {
                if args[0].eq_ignore_ascii_case(b"QUIT") {
                    quit = true;
                }
                plan(args, cores, &mut batches)
            })
            .collect();
        let mut results = self.run_batches(batches).await;
        for p in planned {
            let mut take =
                |(c, i): (usize, usize)| std::mem::replace(&mut results[c][i], OpResult::Done);
            let taken: Vec<OpResult> = p.slots.iter().map(|&s| take(s)).collect();
            reply_for(p.shape, taken).encode(out);
        }
        quit
    }

    /// Runs this core's batch here and sends the others away (rule 2).
    async fn run_batches(&self, batches: Vec<Vec<Op>>) -> Vec<Vec<OpResult>> {
        let mut results: Vec<Vec<OpResult>> = (0..batches.len()).map(|_| Vec::new()).collect();
        let mut waiting = Vec::new();
        for (core, ops) in batches.into_iter().enumerate() {
            if ops.is_empty() {
                continue;
            }
            if core == self.core {
                let mut store = self.store.borrow_mut();
                results[core] = ops.into_iter().map(|op| store.apply(op)).collect();
                continue;
            }
            let n = ops.len();
            let (reply, answer) = oneshot::channel();
            match self.senders[core].send(Request { ops, reply }).await {
                Ok(()) => waiting.push((core, n, answer)),
                Err(_) => results[core] = vec![OpResult::Error("ERR shard unavailable"); n],
            }
        }
        let answers = join_all(waiting.into_iter().map(|(core, n, answer)| async move {
            match answer.await {
                Ok(r) if r.len() == n => (core, r),
                _ => (core, vec![OpResult::Error("ERR shard unavailable"); n]),
            }
        }))
        .await;
        for (core, r) in answers {
            results[core] = r;
        }
        results
    }
}

/// Parses as many whole commands as `input` holds (up to `MAX_BATCH`); returns them, the bytes
/// they took, and a protocol error if one stopped the parse.
fn parse_batch(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, usize, Option<String>) {
    let mut cmds = Vec::new();
    let mut pos = 0;
    while cmds.len() < MAX_BATCH {
        match parse_command(&input[pos..]) {
            Ok(Some((args, used))) => {
                pos += used;
                if !args.is_empty() {
                    cmds.push(args);
                }
            }
            Ok(None) => break,
            Err(e) => return (cmds, pos, Some(e.to_string())),
        }
    }
    (cmds, pos, None)
}

/// Queues a command's operations on the owning cores' batches (rule 1).
fn plan(mut args: Vec<Vec<u8>>, cores: usize, batches: &mut [Vec<Op>]) -> Planned {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let mut slots = Vec::new();
    let mut push = |key: &[u8], op: Op| {
        let c = shard_of(key, cores);
        slots.push((c, batches[c].len()));
        batches[c].push(op);
    };
    let wrong_args = || {
        Shape::Now(Reply::Error(format!(
            "ERR wrong number of arguments for '{name}' command"
        )))
    };
    let n = args.len();
    let shape = match name.as_str() {
        "ping" if n == 1 => Shape::Now(Reply::Status("PONG")),
        "ping" if n == 2 => Shape::Now(Reply::Bulk(args.pop())),
        "echo" if n == 2 => Shape::Now(Reply::Bulk(args.pop())),
        "quit" => Shape::Now(Reply::Status("OK")),
        "command" => Shape::Now(Reply::Array(Vec::new())),
        // `CONFIG GET name`: every parameter reads as empty (redis-benchmark asks for two).
        "config" if n == 3 && args[1].eq_ignore_ascii_case(b"GET") => {
            let name = args.pop().unwrap_or_default();
            Shape::Now(Reply::Array(vec![
                Reply::Bulk(Some(name)),
                Reply::Bulk(Some(Vec::new())),
            ]))
        }
        "config" => Shape::Now(Reply::Error("ERR only CONFIG GET is supported".into())),
        "get" if n == 2 => {
            push(&args[1], Op::Get(args[1].clone()));
            Shape::Value
        }
        "set" if n == 3 || n == 5 => match ttl(&args[3..]) {
            Ok(ttl) => {
                let mut it = args.into_iter().skip(1);
                let (k, v) = (it.next().unwrap_or_default(), it.next().unwrap_or_default());
                push(&k.clone(), Op::Set(k, v, ttl));
                Shape::Ok
            }
            Err(reply) => Shape::Now(reply),
        },
        "del" | "exists" if n >= 2 => {
            for k in args.into_iter().skip(1) {
                let op = if name == "del" {
                    Op::Del(k.clone())
                } else {
                    Op::Exists(k.clone())
                };
                push(&k, op);
            }
            Shape::Sum
        }
        "incr" if n == 2 => {
            push(&args[1], Op::Incr(args[1].clone()));
            Shape::Int
        }
        "mget" if n >= 2 => {
            for k in args.into_iter().skip(1) {
                push(&k.clone(), Op::Get(k));
            }
            Shape::Values
        }
        "mset" if n >= 3 && n % 2 == 1 => {
            let mut it = args.into_iter().skip(1);
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                push(&k.clone(), Op::Set(k, v, None));
            }
            Shape::Ok
        }
        "flushall" | "flushdb" | "dbsize" => {
            let op = if name == "dbsize" {
                Op::Size
            } else {
                Op::Flush
            };
            for (c, batch) in batches.iter_mut().enumerate() {
                slots.push((c, batch.len()));
                batch.push(op.clone());
            }
            if name == "dbsize" {
                Shape::Sum
            } else {
                Shape::Ok
            }
        }
        "ping" | "echo" | "get" | "set" | "del" | "exists" | "incr" | "mget" | "mset" => {
            wrong_args()
        }
        _ => Shape::Now(Reply::Error(format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(&args[0])
        ))),
    };
    Planned { shape, slots }
}

/// The time to live of `SET key value [EX seconds | PX milliseconds]`.
fn ttl(opts: &[Vec<u8>]) -> Result<Option<Duration>, Reply> {
    let [unit, amount] = opts else {
        return Ok(None);
    };
    let bad_time = || Reply::Error("ERR invalid expire time in 'set' command".into());
    let n: u64 = std::str::from_utf8(amount)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .ok_or_else(bad_time)?;
    if unit.eq_ignore_ascii_case(b"EX") {
        Ok(Some(Duration::from_secs(n)))
    } else if unit.eq_ignore_ascii_case(b"PX") {
        Ok(Some(Duration::from_millis(n)))
    } else {
        Err(Reply::Error("ERR syntax error".into()))
    }
}

/// Builds a command's reply from its operations' results.
fn reply_for(shape: Shape, results: Vec<OpResult>) -> Reply {
    if let Some(e) = results.iter().find_map(|r| match r {
        OpResult::Error(e) => Some(*e),
        _ => None,
    }) {
        return Reply::Error(e.to_owned());
    }
    let int = |r: &OpResult| match r {
        OpResult::Int(n) => *n,
        _ => 0,
    };
    let value = |r: OpResult| match r {
        OpResult::Value(v) => Reply::Bulk(v),
        _ => Reply::Bulk(None),
    };
    match shape {
        Shape::Now(reply) => reply,
        Shape::Value => results.into_iter().next().map_or(Reply::Bulk(None), value),
        Shape::Ok => Reply::Status("OK"),
        Shape::Int => Reply::Int(results.first().map_or(0, int)),
        Shape::Sum => Reply::Int(results.iter().map(int).sum()),
        Shape::Values => Reply::Array(results.into_iter().map(value).collect()),
    }
}
