//! Socket addresses for the ops: [`SockAddr`] is `socket2`'s, re-exported; this module adds
//! the Linux Unix-address rules socket2 does not follow, and the room an op gives the kernel
//! to write an address into.
//!
//! Rules:
//! 1. An op that only reads an address (connect, sendmsg) keeps the [`SockAddr`] in its boxed
//!    state and points the SQE at [`SockAddr::as_ptr`] with [`SockAddr::len`]: socket2 stores
//!    the `sockaddr_storage` inline, so the pointer goes into the box.
//! 2. An op the kernel writes an address for (accept, recvmsg) keeps a [`PeerAddr`] (a zeroed
//!    `sockaddr_storage` and a `socklen_t`) in its boxed state and points the SQE at those;
//!    socket2 has no mutable pointer into its own type. The [`SockAddr`] is made at
//!    completion, with the length the kernel reported clamped to the storage.
//! 3. Unix addresses are built with [`unix_path`] / [`unix_abstract`] and read back with
//!    [`unix_addr`], not with socket2's `SockAddr::unix` / `as_pathname`: Linux takes a
//!    pathname that fills all 108 bytes of `sun_path` without a terminating NUL (any local
//!    user may bind one, so a peer's address can be one); socket2 refuses to build it, and
//!    `as_pathname` drops the last byte of a pathname that has no NUL.
//!
//! # Migrating from ringbolt's own `SockAddr`
//!
//! Until this change `ops::net::SockAddr` was a type of ringbolt's own; it is now
//! `socket2::SockAddr` at the same path.
//!
//! | before | now |
//! |---|---|
//! | `SockAddr::from_socket(&a)` | `SockAddr::from(a)` |
//! | `a.as_socket()` | `a.as_socket()` (socket2 has it) |
//! | `SockAddr::unix_path(p)?` | [`unix_path(p)?`](unix_path) |
//! | `SockAddr::unix_abstract(name)?` | [`unix_abstract(name)?`](unix_abstract) |
//! | `a.as_unix()` (a [`UnixAddr`]) | [`unix_addr(&a)`](unix_addr) (socket2's own `as_unix` returns std's type, for pathnames only) |
//! | `a.family()` (`i32`) | `a.family()` (`sa_family_t`) or `a.domain()` |
//! | `a.len()` (`usize`) | `a.len()` (`socklen_t`) |
//! | `a.is_empty()` | `a.len() == 0` |
//! | `SockAddr::empty()` | not needed: accept and recvmsg make their own room |
//! | `Copy` | `Clone` only, so [`RecvMsgOut`](super::RecvMsgOut) is `Clone`, no longer `Copy` |

use socket2::{socklen_t, SockAddrStorage};
use std::io;
use std::mem;
use std::path::{Path, PathBuf};

pub use socket2::SockAddr;

/// A Unix-domain address as read back by [`unix_addr`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixAddr {
    /// A filesystem path.
    Pathname(PathBuf),
    /// A Linux abstract-namespace name (without the leading NUL).
    Abstract(Vec<u8>),
    /// An unbound socket.
    Unnamed,
}

/// Size of `sockaddr_storage`, the most any address takes.
const STORAGE_LEN: socklen_t = mem::size_of::<libc::sockaddr_storage>() as socklen_t;
/// Offset of `sun_path` in `sockaddr_un` (after the 2-byte family).
const SUN_PATH_OFFSET: usize = mem::size_of::<libc::sa_family_t>();
/// Length of `sun_path`.
const SUN_PATH_LEN: usize = 108;

/// A Unix-domain pathname address.
///
/// A path of exactly 108 bytes fills `sun_path` and goes without its terminating NUL, as
/// Linux allows; read it back with [`unix_addr`].
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::ops::net::{unix_addr, unix_path, UnixAddr};
///
/// let a = unix_path("/tmp/app.sock".as_ref())?;
/// assert_eq!(unix_addr(&a), Some(UnixAddr::Pathname("/tmp/app.sock".into())));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// `InvalidInput` if the path contains a NUL byte (the kernel would cut it there) or is
/// longer than `sun_path` (108 bytes).
pub fn unix_path(path: &Path) -> io::Result<SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "Unix socket path contains a NUL byte: {path:?} (only an abstract name may hold \
                 one)"
            ),
        ));
    }
    unix_bytes(bytes, false)
}

/// A Linux abstract-namespace Unix address (`name` without the leading NUL; it may hold NUL
/// bytes).
///
/// # Errors
///
/// `InvalidInput` if the name is longer than 107 bytes (`sun_path` less its leading NUL).
pub fn unix_abstract(name: &[u8]) -> io::Result<SockAddr> {
    unix_bytes(name, true)
}

fn unix_bytes(bytes: &[u8], abstract_name: bool) -> io::Result<SockAddr> {
    let start = usize::from(abstract_name);
    if start + bytes.len() > SUN_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "Unix socket {} of {} bytes does not fit sun_path ({SUN_PATH_LEN} bytes{})",
                if abstract_name {
                    "abstract name"
                } else {
                    "path"
                },
                bytes.len(),
                if abstract_name {
                    ", one taken by the leading NUL"
                } else {
                    ""
                },
            ),
        ));
    }
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_un is one of this platform's sockaddr_* types (view_as's one obligation).
    let un = unsafe { storage.view_as::<libc::sockaddr_un>() };
    un.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &b) in un.sun_path[start..].iter_mut().zip(bytes) {
        *dst = b as libc::c_char;
    }
    // A pathname gets its terminating NUL when there is room (the storage is zeroed); Linux
    // also takes one that fills all of `sun_path` without it.
    let nul = usize::from(!abstract_name && bytes.len() < SUN_PATH_LEN);
    let len = (SUN_PATH_OFFSET + start + bytes.len() + nul) as socklen_t;
    // SAFETY: the family is AF_UNIX, the storage holds a sockaddr_un written above, and `len`
    // (at most 2 + 108) covers the family and the name bytes, all inside the zeroed storage.
    Ok(unsafe { SockAddr::new(storage, len) })
}

/// The Unix-domain address in `addr`, or `None` for another family.
///
/// Unlike socket2's `as_pathname`, a pathname that fills all of `sun_path` without a
/// terminating NUL keeps its last byte. A length of just the family (an unbound peer) is
/// [`UnixAddr::Unnamed`].
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::ops::net::{unix_abstract, unix_addr, UnixAddr};
///
/// let a = unix_abstract(b"ringbolt")?;
/// assert_eq!(unix_addr(&a), Some(UnixAddr::Abstract(b"ringbolt".to_vec())));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn unix_addr(addr: &SockAddr) -> Option<UnixAddr> {
    use std::os::unix::ffi::OsStrExt;
    if !addr.is_unix() {
        return None;
    }
    let len = (addr.len() as usize).min(SUN_PATH_OFFSET + SUN_PATH_LEN);
    // SAFETY: `as_ptr` points at the address's whole sockaddr_storage (128 bytes, every byte
    // initialised: a plain C struct without padding); `len` is at most 110 bytes.
    let raw = unsafe { std::slice::from_raw_parts(addr.as_ptr().cast::<u8>(), len) };
    let bytes = raw.get(SUN_PATH_OFFSET..).unwrap_or_default();
    Some(match bytes.split_first() {
        None => UnixAddr::Unnamed,
        Some((0, name)) => UnixAddr::Abstract(name.to_vec()),
        Some(_) => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            UnixAddr::Pathname(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[..end])))
        }
    })
}

/// Room in an op's boxed state for the kernel to write an address into (accept's `addr` and
/// `addrlen`, recvmsg's `msg_name`), turned into a [`SockAddr`] at completion (rule 2).
pub(crate) struct PeerAddr {
    storage: SockAddrStorage,
    len: socklen_t,
}

impl PeerAddr {
    /// Zeroed room for any family.
    pub(crate) fn new() -> PeerAddr {
        PeerAddr {
            storage: SockAddrStorage::zeroed(),
            len: STORAGE_LEN,
        }
    }

    /// Pointers for the kernel to write the address and its length into, the length reset to
    /// the full storage size first.
    pub(crate) fn as_out(&mut self) -> (*mut libc::sockaddr, *mut socklen_t) {
        self.len = STORAGE_LEN;
        (
            (&raw mut self.storage).cast::<libc::sockaddr>(),
            &raw mut self.len,
        )
    }

    /// The storage size, for a length field the op keeps elsewhere (`msg_namelen`).
    pub(crate) fn capacity(&self) -> socklen_t {
        STORAGE_LEN
    }

    /// The address the kernel wrote, `len` bytes long (clamped to the storage). A length of
    /// 0 (nothing reported) leaves the zeroed storage's family `AF_UNSPEC`.
    pub(crate) fn into_sock_addr(self, len: socklen_t) -> SockAddr {
        let len = len.min(STORAGE_LEN);
        // The storage was zeroed, then the kernel wrote an address of its family and
        // `len` bytes into it (a longer one it truncated to the storage, and `len` is clamped
        // to it), so family and length describe what the storage holds.
        // SAFETY: the invariants just stated hold here.
        unsafe { SockAddr::new(self.storage, len) }
    }

    /// [`into_sock_addr`](Self::into_sock_addr) with the length the kernel wrote into
    /// [`as_out`](Self::as_out)'s length field.
    pub(crate) fn into_reported(self) -> SockAddr {
        let len = self.len;
        self.into_sock_addr(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn ip_round_trip() {
        for s in ["127.0.0.1:8080", "[::1]:443", "[fe80::1%3]:1"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(SockAddr::from(a).as_socket(), Some(a));
        }
    }

    #[test]
    fn unix_path_round_trip() {
        let p = unix_path(Path::new("/tmp/x.sock")).unwrap();
        assert_eq!(
            unix_addr(&p),
            Some(UnixAddr::Pathname("/tmp/x.sock".into()))
        );
        assert_eq!(p.len(), 2 + 11 + 1);
        // socket2 reads a NUL-terminated pathname the same way.
        assert_eq!(p.as_pathname(), Some(Path::new("/tmp/x.sock")));
    }

    #[test]
    fn full_length_path_round_trip() {
        let path = "x".repeat(108);
        let full = unix_path(Path::new(&path)).unwrap();
        assert_eq!(full.len(), 2 + 108);
        assert_eq!(
            unix_addr(&full),
            Some(UnixAddr::Pathname(path.clone().into()))
        );
        // What rule 3 is about: socket2 drops the last byte of this one.
        assert_ne!(full.as_pathname(), Some(Path::new(&path)));
        // The kernel reports such a path NUL-terminated (len 111): read the same way.
        let mut out = PeerAddr::new();
        out.storage = full.as_storage();
        let reported = out.into_sock_addr(2 + 108 + 1);
        assert_eq!(unix_addr(&reported), Some(UnixAddr::Pathname(path.into())));
    }

    #[test]
    fn too_long_and_nul_are_refused() {
        let e = unix_path(Path::new(&"x".repeat(109))).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("109 bytes"), "{e}");
        let e = unix_path(Path::new("a\0b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("NUL"), "{e}");
        assert!(unix_abstract(&[b'y'; 107]).is_ok());
        assert!(unix_abstract(&[b'y'; 108]).is_err());
    }

    #[test]
    fn abstract_names() {
        let a = unix_abstract(b"ringbolt").unwrap();
        assert_eq!(
            unix_addr(&a),
            Some(UnixAddr::Abstract(b"ringbolt".to_vec()))
        );
        assert_eq!(a.len(), 2 + 1 + 8);
        assert_eq!(a.as_abstract_namespace(), Some(&b"ringbolt"[..]));
        let nul = unix_abstract(b"a\0b").unwrap();
        assert_eq!(unix_addr(&nul), Some(UnixAddr::Abstract(b"a\0b".to_vec())));
        let empty = unix_abstract(b"").unwrap();
        assert_eq!(unix_addr(&empty), Some(UnixAddr::Abstract(Vec::new())));
    }

    #[test]
    fn unnamed_and_unreported() {
        let u = unix_abstract(b"").unwrap();
        let mut out = PeerAddr::new();
        out.storage = u.as_storage();
        let unnamed = out.into_sock_addr(2);
        assert_eq!(unix_addr(&unnamed), Some(UnixAddr::Unnamed));
        assert!(unnamed.is_unnamed());
        // Nothing reported: family AF_UNSPEC, neither IP nor Unix.
        let none = PeerAddr::new().into_sock_addr(0);
        assert_eq!(none.len(), 0);
        assert_eq!(none.as_socket(), None);
        assert_eq!(unix_addr(&none), None);
        // An over-long reported length is clamped to the storage.
        assert_eq!(PeerAddr::new().into_sock_addr(4096).len(), STORAGE_LEN);
    }
}
