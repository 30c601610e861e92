//! Raw io_uring echo server: one thread per server core, no runtime, the "what the kernel allows"
//! reference.
//!
//! A naive single-shot state machine: one `Accept` always armed; per connection exactly one op in
//! flight, `Recv` then `Send` (re-sent until the whole chunk is out) then `Recv` again. One
//! `io_uring_enter` per loop turn submits every new SQE and waits for at least one CQE.
//!
//! Invariant: a connection's buffer (`Box<[u8]>`, stable address) and fd stay alive while its one
//! op is in flight; a connection is closed and removed only from its own op's CQE.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;

use io_uring::{opcode, squeue, types, IoUring};

use super::raw_epoll::{close, nodelay};
use super::{bind_per_core, exit_on_error, SYSCALLS};
use crate::affinity::pin_current_thread;

const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
const RING_ENTRIES: u32 = 1024;

/// Starts one io_uring thread per core; returns the shared port.
///
/// # Errors
/// Any bind error.
pub fn start(cores: &[usize], buf_size: usize) -> io::Result<u16> {
    let (port, listeners) = bind_per_core(cores.len())?;
    for (&core, listener) in cores.iter().zip(listeners) {
        std::thread::Builder::new()
            .name(format!("uring-{core}"))
            .spawn(move || {
                exit_on_error("pin", pin_current_thread(&[core]));
                exit_on_error(
                    "raw-uring",
                    Server::new(listener, buf_size).and_then(Server::run),
                );
            })?;
    }
    Ok(port)
}

struct Conn {
    fd: RawFd,
    buf: Box<[u8]>,
    /// Bytes of `buf` received and not yet all sent back.
    len: usize,
    sent: usize,
}

struct Server {
    ring: IoUring,
    listener: TcpListener,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    buf_size: usize,
    syscalls: u64,
}

impl Server {
    fn new(listener: TcpListener, buf_size: usize) -> io::Result<Server> {
        Ok(Server {
            ring: IoUring::new(RING_ENTRIES)?,
            listener,
            conns: Vec::new(),
            free: Vec::new(),
            buf_size,
            syscalls: 0,
        })
    }

    fn run(mut self) -> io::Result<()> {
        let accept = opcode::Accept::new(
            types::Fd(self.listener.as_raw_fd()),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
        .flags(libc::SOCK_CLOEXEC)
        .build()
        .user_data(ACCEPT);
        self.push(&accept)?;
        let mut cqes = Vec::with_capacity(2 * RING_ENTRIES as usize);
        loop {
            self.syscalls += 1;
            match self.ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EINTR | libc::EBUSY | libc::EAGAIN)
                    ) => {}
                Err(e) => return Err(e),
            }
            cqes.clear();
            cqes.extend(self.ring.completion().map(|c| (c.user_data(), c.result())));
            for &(data, res) in &cqes {
                match data & 3 {
                    ACCEPT => self.on_accept(res, &accept)?,
                    RECV => self.on_recv((data >> 2) as usize, res)?,
                    _ => self.on_send((data >> 2) as usize, res)?,
                }
            }
            SYSCALLS.fetch_add(std::mem::take(&mut self.syscalls), Ordering::Relaxed);
        }
    }

    /// Queues an SQE, submitting first when the SQ is full.
    fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        for _ in 0..1000 {
            // SAFETY: every pointer in the entries built here (connection buffers, none for
            // accept) points into a `Conn` that lives until this entry's CQE is handled.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            self.syscalls += 1;
            self.ring.submit()?;
        }
        Err(io::Error::other("submission queue stays full"))
    }

    fn on_accept(&mut self, res: i32, accept: &squeue::Entry) -> io::Result<()> {
        if res >= 0 {
            let fd = res as RawFd;
            self.syscalls += 1;
            if nodelay(fd).is_err() {
                self.syscalls += 1;
                close(fd);
            } else {
                let conn = Conn {
                    fd,
                    buf: vec![0; self.buf_size].into_boxed_slice(),
                    len: 0,
                    sent: 0,
                };
                let key = match self.free.pop() {
                    Some(k) => {
                        self.conns[k] = Some(conn);
                        k
                    }
                    None => {
                        self.conns.push(Some(conn));
                        self.conns.len() - 1
                    }
                };
                self.recv(key)?;
            }
        }
        // Errors (EMFILE, ECONNABORTED) end only this accept: re-arm and keep serving.
        self.push(accept)
    }

    fn recv(&mut self, key: usize) -> io::Result<()> {
        let Some(c) = self.conns[key].as_mut() else {
            return Ok(());
        };
        let entry = opcode::Recv::new(types::Fd(c.fd), c.buf.as_mut_ptr(), c.buf.len() as u32)
            .build()
            .user_data((key as u64) << 2 | RECV);
        self.push(&entry)
    }

    fn send(&mut self, key: usize) -> io::Result<()> {
        let Some(c) = self.conns[key].as_mut() else {
            return Ok(());
        };
        let out = &c.buf[c.sent..c.len];
        let entry = opcode::Send::new(types::Fd(c.fd), out.as_ptr(), out.len() as u32)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data((key as u64) << 2 | SEND);
        self.push(&entry)
    }

    fn drop_conn(&mut self, key: usize) {
        if let Some(c) = self.conns[key].take() {
            self.syscalls += 1;
            close(c.fd);
            self.free.push(key);
        }
    }

    fn on_recv(&mut self, key: usize, res: i32) -> io::Result<()> {
        if res <= 0 {
            self.drop_conn(key);
            return Ok(());
        }
        if let Some(c) = self.conns[key].as_mut() {
            (c.len, c.sent) = (res as usize, 0);
        }
        self.send(key)
    }

    fn on_send(&mut self, key: usize, res: i32) -> io::Result<()> {
        if res < 0 {
            self.drop_conn(key);
            return Ok(());
        }
        let done = match self.conns[key].as_mut() {
            Some(c) => {
                c.sent += res as usize;
                c.sent >= c.len
            }
            None => return Ok(()),
        };
        if done {
            self.recv(key)
        } else {
            self.send(key)
        }
    }
}
