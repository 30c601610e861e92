//! Conversions between std addresses and [`SockAddr`] (socket2's, which both the runtime's
//! ops and `socket2`'s calls take).

use ringbolt_runtime::ops::net::{unix_abstract, unix_addr, unix_path, SockAddr, UnixAddr};
use std::io;
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::path::Path;

/// The IP address in a kernel-reported address.
pub(crate) fn ip_from(addr: &SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP address"))
}

/// The unnamed Unix address (that of an unbound socket), made without a syscall: std reads
/// an empty pathname as one (length `sizeof(sa_family_t)`, which `is_unnamed` reports; pinned
/// by a unit test below).
///
/// # Errors
///
/// Only if std stopped accepting the empty pathname.
pub(crate) fn unnamed() -> io::Result<UnixSocketAddr> {
    UnixSocketAddr::from_pathname("")
}

/// A kernel-reported Unix address as std's type, or `None` where std cannot hold it: a
/// pathname of the full 108 bytes of `sun_path`, which Linux lets any local user bind (read
/// with the runtime's [`unix_addr`], which keeps all 108 bytes, where socket2's `as_pathname`
/// would drop the last one of an unterminated path). Callers must not discard completed I/O
/// over a `None`.
pub(crate) fn unix_from(addr: &SockAddr) -> Option<UnixSocketAddr> {
    match unix_addr(addr) {
        Some(UnixAddr::Pathname(p)) => UnixSocketAddr::from_pathname(p).ok(),
        Some(UnixAddr::Abstract(name)) => UnixSocketAddr::from_abstract_name(name).ok(),
        Some(UnixAddr::Unnamed) => unnamed().ok(),
        None if addr.len() == 0 => unnamed().ok(),
        None => None,
    }
}

/// Which end of a Unix socket to name.
#[derive(Clone, Copy)]
pub(crate) enum End {
    /// `getsockname`.
    Local,
    /// `getpeername`.
    Peer,
}

/// The local or peer address of the Unix socket `fd`, losslessly.
///
/// The common case converts `socket2`'s answer. An address std cannot build from parts (a
/// 108-byte pathname) is asked for again through a std socket on a duplicate of the fd,
/// since std's own `getsockname`/`getpeername` keep every byte.
///
/// # Errors
///
/// `getsockname(2)`/`getpeername(2)`'s error (`ENOTCONN`), or `dup`'s (`EMFILE`) in the
/// rare case above.
pub(crate) fn unix_addr_of(fd: BorrowedFd<'_>, end: End) -> io::Result<UnixSocketAddr> {
    let sock = socket2::SockRef::from(&fd);
    let raw = match end {
        End::Local => sock.local_addr()?,
        End::Peer => sock.peer_addr()?,
    };
    if !raw.is_unix() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a Unix address",
        ));
    }
    if let Some(addr) = unix_from(&raw) {
        return Ok(addr);
    }
    // Any socket type will do: getsockname/getpeername do not look at it.
    let std_sock = std::os::unix::net::UnixDatagram::from(fd.try_clone_to_owned()?);
    match end {
        End::Local => std_sock.local_addr(),
        End::Peer => std_sock.peer_addr(),
    }
}

/// A pathname (or, with a leading NUL byte, an abstract name) as an address for `bind` and
/// the datagram `connect`, built by socket2's `SockAddr::unix`, which (as std) refuses a
/// pathname of the full 108 bytes of `sun_path`: these calls behave as they did before the
/// address types became one. Addresses the ops take come from [`unix_to_op`] and the
/// runtime's `unix_path`, which accept it.
///
/// # Errors
///
/// `InvalidInput` if a pathname contains a NUL byte (the kernel would silently cut the path
/// there, as std refuses to) or does not fit `sun_path`.
pub(crate) fn unix_path_to_socket2(path: &Path) -> io::Result<SockAddr> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.first() != Some(&0) && bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "Unix socket path contains a NUL byte: {:?} (only an abstract name, which \
                 starts with NUL, may hold one)",
                path
            ),
        ));
    }
    SockAddr::unix(path)
}

fn unnamed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "an unnamed Unix address cannot be bound or connected to",
    )
}

/// A std Unix address for the runtime's ops (connect, sendmsg), a 108-byte pathname included.
pub(crate) fn unix_to_op(addr: &UnixSocketAddr) -> io::Result<SockAddr> {
    if let Some(p) = addr.as_pathname() {
        unix_path(p)
    } else if let Some(name) = addr.as_abstract_name() {
        unix_abstract(name)
    } else {
        Err(unnamed_error())
    }
}

/// A std Unix address for `bind` and the datagram `connect`, built by socket2's
/// `SockAddr::unix` as in [`unix_path_to_socket2`].
pub(crate) fn unix_to_socket2(addr: &UnixSocketAddr) -> io::Result<SockAddr> {
    if let Some(p) = addr.as_pathname() {
        SockAddr::unix(p)
    } else if let Some(name) = addr.as_abstract_name() {
        // socket2 reads a leading NUL as an abstract name.
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_needs_no_socket() {
        let a = unnamed().expect("std builds an unnamed address from an empty path");
        assert!(a.is_unnamed());
        assert!(a.as_pathname().is_none() && a.as_abstract_name().is_none());
    }

    #[test]
    fn full_length_pathname_is_not_representable_in_std() {
        let p = "p".repeat(108);
        let a = unix_path(Path::new(&p)).expect("Linux takes a 108-byte path");
        assert_eq!(unix_addr(&a), Some(UnixAddr::Pathname(p.into())));
        assert!(unix_from(&a).is_none());
    }

    #[test]
    fn nul_in_a_pathname_is_refused_but_not_in_an_abstract_name() {
        let e = unix_path_to_socket2(Path::new("/tmp/a\0b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(unix_path_to_socket2(Path::new("\0a\0b")).is_ok());
    }
}
