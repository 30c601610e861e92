//! Raw epoll echo server: one thread per server core, level-triggered, no runtime.
//!
//! Each connection reads into its buffer and writes it straight back; a short write switches the
//! connection's interest to `EPOLLOUT` until the rest is flushed. Every syscall is counted.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;

use super::{bind_per_core, exit_on_error, SYSCALLS};
use crate::affinity::pin_current_thread;

const LISTENER: u64 = u64::MAX;

/// Starts one epoll thread per core; returns the shared port.
///
/// # Errors
/// Any bind error.
pub fn start(cores: &[usize], buf_size: usize) -> io::Result<u16> {
    let (port, listeners) = bind_per_core(cores.len())?;
    for (&core, listener) in cores.iter().zip(listeners) {
        std::thread::Builder::new()
            .name(format!("epoll-{core}"))
            .spawn(move || {
                exit_on_error("pin", pin_current_thread(&[core]));
                exit_on_error("raw-epoll", run(&listener, buf_size));
            })?;
    }
    Ok(port)
}

struct Conn {
    buf: Vec<u8>,
    /// Bytes `out_start..out_end` of `buf` still have to be written.
    out_start: usize,
    out_end: usize,
    /// Interest is `EPOLLOUT` (a write was short) instead of `EPOLLIN`.
    out_armed: bool,
}

/// Converts a libc return value to `io::Result`.
pub(crate) fn cvt(rc: isize) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// Closes a raw fd this module owns.
pub(crate) fn close(fd: RawFd) {
    // SAFETY: `fd` is a socket this module accepted and still owns; it is not used afterwards.
    unsafe { libc::close(fd) };
}

fn ctl(ep: RawFd, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call.
    cvt(unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) } as isize).map(drop)
}

fn set_nodelay(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a valid c_int and its size is passed alongside it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    cvt(rc as isize).map(drop)
}

/// Sets `TCP_NODELAY` on a raw socket (shared with the io_uring server).
pub(crate) fn nodelay(fd: RawFd) -> io::Result<()> {
    set_nodelay(fd)
}

fn run(listener: &TcpListener, buf_size: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // SAFETY: epoll_create1 has no memory-safety preconditions.
    let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } as isize)? as RawFd;
    ctl(
        ep,
        libc::EPOLL_CTL_ADD,
        listener.as_raw_fd(),
        libc::EPOLLIN as u32,
        LISTENER,
    )?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 512];
    loop {
        let mut syscalls = 1;
        // SAFETY: `events` is writable for `events.len()` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        let n = match cvt(n as isize) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for ev in &events[..n] {
            let (data, flags) = (ev.u64, ev.events);
            if data == LISTENER {
                syscalls += accept_all(ep, listener.as_raw_fd(), &mut conns, buf_size)?;
            } else {
                syscalls += on_event(ep, data as RawFd, flags, &mut conns);
            }
        }
        SYSCALLS.fetch_add(syscalls, Ordering::Relaxed);
    }
}

fn accept_all(
    ep: RawFd,
    lfd: RawFd,
    conns: &mut Vec<Option<Conn>>,
    buf_size: usize,
) -> io::Result<u64> {
    let mut syscalls = 0;
    loop {
        syscalls += 1;
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: null address pointers are allowed: the peer address is not wanted.
        let rc = unsafe { libc::accept4(lfd, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
        let fd = match cvt(rc as isize) {
            Ok(fd) => fd as RawFd,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(syscalls),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // EMFILE and friends: keep serving existing connections.
            Err(_) => return Ok(syscalls),
        };
        syscalls += 2;
        if set_nodelay(fd).is_err()
            || ctl(ep, libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN as u32, fd as u64).is_err()
        {
            close(fd);
            continue;
        }
        let idx = fd as usize;
        if conns.len() <= idx {
            conns.resize_with(idx + 1, || None);
        }
        conns[idx] = Some(Conn {
            buf: vec![0; buf_size],
            out_start: 0,
            out_end: 0,
            out_armed: false,
        });
    }
}

/// Handles one event; returns the number of syscalls made.
fn on_event(ep: RawFd, fd: RawFd, flags: u32, conns: &mut [Option<Conn>]) -> u64 {
    let Some(conn) = conns.get_mut(fd as usize).and_then(Option::as_mut) else {
        return 0;
    };
    let mut syscalls = 0;
    let result = if conn.out_armed {
        if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
            flush(ep, fd, conn, &mut syscalls)
        } else {
            Ok(true)
        }
    } else {
        echo(ep, fd, conn, &mut syscalls)
    };
    if !matches!(result, Ok(true)) {
        syscalls += 1;
        close(fd);
        conns[fd as usize] = None;
    }
    syscalls
}

/// Reads once and writes back; `Ok(false)` on EOF.
fn echo(ep: RawFd, fd: RawFd, conn: &mut Conn, syscalls: &mut u64) -> io::Result<bool> {
    *syscalls += 1;
    // SAFETY: `conn.buf` is writable for its whole length.
    let rc = unsafe { libc::read(fd, conn.buf.as_mut_ptr().cast(), conn.buf.len()) };
    match cvt(rc) {
        Ok(0) => Ok(false),
        Ok(n) => {
            (conn.out_start, conn.out_end) = (0, n);
            flush(ep, fd, conn, syscalls)
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// Writes `out_start..out_end`; arms or disarms `EPOLLOUT` on a short write / completion.
fn flush(ep: RawFd, fd: RawFd, conn: &mut Conn, syscalls: &mut u64) -> io::Result<bool> {
    while conn.out_start < conn.out_end {
        *syscalls += 1;
        let out = &conn.buf[conn.out_start..conn.out_end];
        // SAFETY: `out` is a live, readable slice of `out.len()` bytes.
        let rc = unsafe { libc::send(fd, out.as_ptr().cast(), out.len(), libc::MSG_NOSIGNAL) };
        match cvt(rc) {
            Ok(n) => conn.out_start += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !conn.out_armed {
                    *syscalls += 1;
                    ctl(
                        ep,
                        libc::EPOLL_CTL_MOD,
                        fd,
                        libc::EPOLLOUT as u32,
                        fd as u64,
                    )?;
                    conn.out_armed = true;
                }
                return Ok(true);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    (conn.out_start, conn.out_end) = (0, 0);
    if conn.out_armed {
        *syscalls += 1;
        ctl(ep, libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN as u32, fd as u64)?;
        conn.out_armed = false;
    }
    Ok(true)
}
