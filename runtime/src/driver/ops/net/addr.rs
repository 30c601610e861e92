//! [`SockAddr`]: a socket address stored inline in an op's boxed state.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};

/// A socket address (`sockaddr_storage` and its length) that an op can point the kernel at.
///
/// Ops keep it inside their boxed state, so the kernel may read it (connect, sendmsg) or fill
/// it in (accept, recvmsg) until the op's final completion. Build one from a
/// [`std::net::SocketAddr`] or a Unix path or abstract name; read one back with
/// [`SockAddr::as_socket`] or [`SockAddr::as_unix`].
#[derive(Clone, Copy)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

/// A Unix-domain address as read back from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixAddr {
    /// A filesystem path.
    Pathname(PathBuf),
    /// A Linux abstract-namespace name (without the leading NUL).
    Abstract(Vec<u8>),
    /// An unbound socket.
    Unnamed,
}

const STORAGE_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
/// Offset of `sun_path` in `sockaddr_un` (after the 2-byte family).
const SUN_PATH_OFFSET: usize = mem::size_of::<libc::sa_family_t>();

fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is a plain C struct for which all-zero bytes are valid.
    unsafe { mem::zeroed() }
}

impl SockAddr {
    /// An empty address with room for any family, for the kernel to fill in.
    pub fn empty() -> SockAddr {
        SockAddr {
            storage: zeroed_storage(),
            len: STORAGE_LEN,
        }
    }

    fn from_raw<T: Copy>(raw: T) -> SockAddr {
        const { assert!(mem::size_of::<T>() <= mem::size_of::<libc::sockaddr_storage>()) };
        let mut storage = zeroed_storage();
        // SAFETY: T is one of the sockaddr_* C structs, no larger than sockaddr_storage (checked
        // above) and no more aligned than it; the write stays inside `storage`.
        unsafe {
            std::ptr::write(
                (&mut storage as *mut libc::sockaddr_storage).cast::<T>(),
                raw,
            )
        };
        SockAddr {
            storage,
            len: mem::size_of::<T>() as libc::socklen_t,
        }
    }

    /// The address of an IPv4 or IPv6 socket.
    pub fn from_socket(addr: &SocketAddr) -> SockAddr {
        match addr {
            SocketAddr::V4(a) => SockAddr::from_raw(libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            }),
            SocketAddr::V6(a) => SockAddr::from_raw(libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            }),
        }
    }

    fn unix_bytes(bytes: &[u8], abstract_name: bool) -> io::Result<SockAddr> {
        let mut un = libc::sockaddr_un {
            sun_family: libc::AF_UNIX as libc::sa_family_t,
            sun_path: [0; 108],
        };
        let start = usize::from(abstract_name);
        let room = un.sun_path.len();
        if start + bytes.len() > room || (!abstract_name && bytes.contains(&0)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "Unix socket address of {} bytes is longer than sun_path ({room} bytes) or \
                     contains a NUL byte",
                    start + bytes.len()
                ),
            ));
        }
        for (dst, &b) in un.sun_path[start..].iter_mut().zip(bytes) {
            *dst = b as libc::c_char;
        }
        // A pathname gets its terminating NUL when there is room; Linux also takes one that
        // fills all of `sun_path` without it (and any local user may bind such a path, so a
        // peer's address can be one).
        let nul = usize::from(!abstract_name && bytes.len() < room);
        let mut addr = SockAddr::from_raw(un);
        addr.len = (SUN_PATH_OFFSET + start + bytes.len() + nul) as libc::socklen_t;
        Ok(addr)
    }

    /// A Unix-domain pathname address.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path is longer than `sun_path` (108 bytes; a path of exactly 108
    /// bytes goes without its NUL, as Linux allows) or contains a NUL byte.
    pub fn unix_path(path: &Path) -> io::Result<SockAddr> {
        use std::os::unix::ffi::OsStrExt;
        SockAddr::unix_bytes(path.as_os_str().as_bytes(), false)
    }

    /// A Linux abstract-namespace Unix address (`name` without the leading NUL).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the name does not fit `sun_path`.
    pub fn unix_abstract(name: &[u8]) -> io::Result<SockAddr> {
        SockAddr::unix_bytes(name, true)
    }

    /// The address family (`AF_INET`, `AF_INET6`, `AF_UNIX`, ...).
    pub fn family(&self) -> i32 {
        i32::from(self.storage.ss_family)
    }

    /// The length of the address in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the kernel reported a zero-length address.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn read_as<T: Copy>(&self) -> T {
        const { assert!(mem::size_of::<T>() <= mem::size_of::<libc::sockaddr_storage>()) };
        // SAFETY: T is a sockaddr_* C struct (any bit pattern valid) no larger than the storage
        // (checked above) and no more aligned than it.
        unsafe { std::ptr::read((&self.storage as *const libc::sockaddr_storage).cast::<T>()) }
    }

    /// The IPv4 or IPv6 address, or `None` for another family.
    pub fn as_socket(&self) -> Option<SocketAddr> {
        match self.family() {
            libc::AF_INET if self.len() >= mem::size_of::<libc::sockaddr_in>() => {
                let a: libc::sockaddr_in = self.read_as();
                let ip = Ipv4Addr::from(a.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(a.sin_port),
                )))
            }
            libc::AF_INET6 if self.len() >= mem::size_of::<libc::sockaddr_in6>() => {
                let a: libc::sockaddr_in6 = self.read_as();
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// The Unix-domain address, or `None` for another family.
    pub fn as_unix(&self) -> Option<UnixAddr> {
        use std::os::unix::ffi::OsStrExt;
        if self.family() != libc::AF_UNIX {
            return None;
        }
        let un: libc::sockaddr_un = self.read_as();
        let n = self
            .len()
            .saturating_sub(SUN_PATH_OFFSET)
            .min(un.sun_path.len());
        let bytes: Vec<u8> = un.sun_path[..n].iter().map(|&c| c as u8).collect();
        Some(match bytes.first() {
            None => UnixAddr::Unnamed,
            Some(0) => UnixAddr::Abstract(bytes[1..].to_vec()),
            Some(_) => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                UnixAddr::Pathname(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[..end])))
            }
        })
    }

    /// Pointer for the kernel to read the address from.
    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    /// Pointer for the kernel to write an address into, with the length field it updates.
    /// Resets the length to the full storage size first.
    pub(crate) fn as_out(&mut self) -> (*mut libc::sockaddr, *mut libc::socklen_t) {
        self.len = STORAGE_LEN;
        (
            (&mut self.storage as *mut libc::sockaddr_storage).cast(),
            &mut self.len,
        )
    }

    /// The raw length, for `connect` and `msg_namelen`.
    pub(crate) fn raw_len(&self) -> libc::socklen_t {
        self.len
    }

    /// Sets the length the kernel reported (clamped to the storage size).
    pub(crate) fn set_len(&mut self, len: libc::socklen_t) {
        self.len = len.min(STORAGE_LEN);
    }
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(a) = self.as_socket() {
            return write!(f, "SockAddr({a})");
        }
        if let Some(u) = self.as_unix() {
            return write!(f, "SockAddr({u:?})");
        }
        write!(
            f,
            "SockAddr(family {}, {} bytes)",
            self.family(),
            self.len()
        )
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> SockAddr {
        SockAddr::from_socket(&addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_round_trip() {
        for s in ["127.0.0.1:8080", "[::1]:443", "[fe80::1%3]:1"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(SockAddr::from_socket(&a).as_socket(), Some(a));
        }
    }

    #[test]
    fn unix_round_trip() {
        let p = SockAddr::unix_path(Path::new("/tmp/x.sock")).unwrap();
        assert_eq!(p.as_unix(), Some(UnixAddr::Pathname("/tmp/x.sock".into())));
        assert_eq!(p.len(), 2 + 11 + 1);
        let a = SockAddr::unix_abstract(b"ringbolt").unwrap();
        assert_eq!(a.as_unix(), Some(UnixAddr::Abstract(b"ringbolt".to_vec())));
        assert_eq!(a.len(), 2 + 1 + 8);
        assert!(SockAddr::unix_path(Path::new(&"x".repeat(109))).is_err());
        let full = SockAddr::unix_path(Path::new(&"x".repeat(108))).unwrap();
        assert_eq!(full.len(), 2 + 108);
        assert_eq!(
            full.as_unix(),
            Some(UnixAddr::Pathname("x".repeat(108).into()))
        );
        assert!(SockAddr::unix_path(Path::new("a\0b")).is_err());
        assert!(SockAddr::unix_abstract(&[b'y'; 107]).is_ok());
        let mut u = SockAddr::unix_abstract(b"").unwrap();
        u.set_len(2);
        assert_eq!(u.as_unix(), Some(UnixAddr::Unnamed));
    }
}
