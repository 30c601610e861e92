//! Conversions between std addresses and the addresses the runtime's ops and `socket2` take.

use ringbolt_runtime::ops::net::{SockAddr, UnixAddr};
use std::io;
use std::net::SocketAddr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr as UnixSocketAddr;

/// The IP address in a kernel-reported address.
pub(crate) fn ip_from(addr: &SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP address"))
}

/// The IP address of a `socket2` address.
pub(crate) fn ip_from_socket2(addr: &socket2::SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP address"))
}

thread_local! {
    /// std cannot build an unnamed Unix address directly; the local address of an unbound
    /// datagram socket is one, made once per thread.
    static UNNAMED: Result<UnixSocketAddr, io::ErrorKind> =
        std::os::unix::net::UnixDatagram::unbound()
            .and_then(|s| s.local_addr())
            .map_err(|e| e.kind());
}

fn unnamed() -> io::Result<UnixSocketAddr> {
    UNNAMED.with(|u| u.clone().map_err(io::Error::from))
}

/// A kernel-reported Unix address as std's type.
pub(crate) fn unix_from(addr: &SockAddr) -> io::Result<UnixSocketAddr> {
    match addr.as_unix() {
        Some(UnixAddr::Pathname(p)) => UnixSocketAddr::from_pathname(p),
        Some(UnixAddr::Abstract(name)) => UnixSocketAddr::from_abstract_name(name),
        Some(UnixAddr::Unnamed) => unnamed(),
        None if addr.is_empty() => unnamed(),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a Unix address",
        )),
    }
}

/// A `socket2` Unix address as std's type.
pub(crate) fn unix_from_socket2(addr: &socket2::SockAddr) -> io::Result<UnixSocketAddr> {
    if let Some(p) = addr.as_pathname() {
        UnixSocketAddr::from_pathname(p)
    } else if let Some(name) = addr.as_abstract_namespace() {
        UnixSocketAddr::from_abstract_name(name)
    } else if addr.is_unix() {
        unnamed()
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a Unix address",
        ))
    }
}

fn unnamed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "an unnamed Unix address cannot be bound or connected to",
    )
}

/// A std Unix address for the runtime's ops.
pub(crate) fn unix_to_op(addr: &UnixSocketAddr) -> io::Result<SockAddr> {
    if let Some(p) = addr.as_pathname() {
        SockAddr::unix_path(p)
    } else if let Some(name) = addr.as_abstract_name() {
        SockAddr::unix_abstract(name)
    } else {
        Err(unnamed_error())
    }
}

/// A std Unix address for `socket2` (bind).
pub(crate) fn unix_to_socket2(addr: &UnixSocketAddr) -> io::Result<socket2::SockAddr> {
    if let Some(p) = addr.as_pathname() {
        socket2::SockAddr::unix(p)
    } else if let Some(name) = addr.as_abstract_name() {
        // socket2 reads a leading NUL as an abstract name.
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        socket2::SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
    } else {
        Err(unnamed_error())
    }
}

/// Resolves `addr` (blocking for host names) and returns every address, or an error if none.
pub(crate) fn resolve(addr: impl std::net::ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}
