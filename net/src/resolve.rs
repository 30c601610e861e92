//! [`ToSocketAddrs`]: the addresses `TcpStream::connect` takes, resolved without blocking the
//! core.
//!
//! Rules:
//! 1. Numeric addresses (`SocketAddr`, `(IpAddr, u16)`, `"127.0.0.1:80"`, `("::1", 80)`) are
//!    parsed on the spot, with no lookup and no thread hop.
//! 2. A host name goes to the blocking pool
//!    ([`spawn_blocking`](ringbolt_runtime::task::spawn_blocking)): `getaddrinfo` may wait
//!    seconds for a DNS server, and on the core it would freeze every task there.

use ringbolt_runtime::task::spawn_blocking;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Anything [`TcpStream::connect`](crate::TcpStream::connect) can resolve to socket
/// addresses: a [`SocketAddr`] (or V4/V6), an `(IpAddr, u16)` pair, a slice of addresses,
/// `"host:port"` as `&str` or `String`, or `(host, port)`.
///
/// Sealed: implemented for those types only. Unlike [`std::net::ToSocketAddrs`], host names
/// are looked up on the blocking pool, so the core keeps running its other tasks meanwhile;
/// numeric addresses need no lookup at all.
///
/// # Examples
///
/// ```no_run
/// use ringbolt_net::TcpStream;
///
/// # async fn run() -> std::io::Result<()> {
/// let a = TcpStream::connect("127.0.0.1:6379").await?; // parsed, no lookup
/// let b = TcpStream::connect(("localhost", 6379)).await?; // looked up off the core
/// # drop((a, b));
/// # Ok(())
/// # }
/// ```
pub trait ToSocketAddrs: sealed::Resolvable {}

mod sealed {
    use std::net::SocketAddr;

    /// How an address resolves; not nameable outside the crate, which seals
    /// [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait Resolvable {
        fn resolution(&self) -> Resolution;
    }

    /// The outcome of looking at an address: already numeric, or a name to look up.
    pub enum Resolution {
        Ready(Vec<SocketAddr>),
        Lookup(String, u16),
        LookupHostPort(String),
    }
}

use sealed::Resolution;

/// Resolves `addr`: numeric forms at once, host names on the blocking pool.
pub(crate) async fn resolve_async(
    addr: &(impl ToSocketAddrs + ?Sized),
) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.resolution() {
        Resolution::Ready(addrs) => addrs,
        Resolution::Lookup(host, port) => lookup(move || lookup_std((host.as_str(), port))).await?,
        Resolution::LookupHostPort(s) => lookup(move || lookup_std(s.as_str())).await?,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

async fn lookup<F>(f: F) -> io::Result<Vec<SocketAddr>>
where
    F: FnOnce() -> io::Result<Vec<SocketAddr>> + Send + 'static,
{
    match spawn_blocking(f).await {
        Ok(res) => res,
        Err(e) => Err(io::Error::other(format!("host name lookup failed: {e}"))),
    }
}

/// Extra delay before every host-name lookup, in milliseconds (test hook).
static LOOKUP_DELAY_MS: AtomicU64 = AtomicU64::new(0);

/// Test hook: every later host-name lookup first sleeps `delay` (on the thread that does the
/// lookup), to show that a slow DNS server does not stall the core. Process-wide.
#[doc(hidden)]
pub fn set_lookup_delay_for_tests(delay: Duration) {
    let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    LOOKUP_DELAY_MS.store(ms, Ordering::Relaxed);
}

/// The blocking lookup itself, run on a pool thread.
fn lookup_std(addr: impl std::net::ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let delay = LOOKUP_DELAY_MS.load(Ordering::Relaxed);
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    Ok(addr.to_socket_addrs()?.collect())
}

macro_rules! ready_impl {
    ($($t:ty => |$a:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::Resolvable for $t {
            fn resolution(&self) -> Resolution {
                let $a = self;
                Resolution::Ready($e)
            }
        }
    )*};
}

ready_impl! {
    SocketAddr => |a| vec![*a];
    SocketAddrV4 => |a| vec![SocketAddr::V4(*a)];
    SocketAddrV6 => |a| vec![SocketAddr::V6(*a)];
    (IpAddr, u16) => |a| vec![SocketAddr::new(a.0, a.1)];
    (Ipv4Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V4(a.0), a.1)];
    (Ipv6Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V6(a.0), a.1)];
    [SocketAddr] => |a| a.to_vec();
    Vec<SocketAddr> => |a| a.clone();
}

impl ToSocketAddrs for str {}
impl sealed::Resolvable for str {
    fn resolution(&self) -> Resolution {
        match self.parse::<SocketAddr>() {
            Ok(a) => Resolution::Ready(vec![a]),
            Err(_) => Resolution::LookupHostPort(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::Resolvable for String {
    fn resolution(&self) -> Resolution {
        self.as_str().resolution()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Resolvable for (&str, u16) {
    fn resolution(&self) -> Resolution {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolution::Ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Resolution::Lookup(self.0.to_owned(), self.1),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Resolvable for (String, u16) {
    fn resolution(&self) -> Resolution {
        (self.0.as_str(), self.1).resolution()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::Resolvable for &T {
    fn resolution(&self) -> Resolution {
        (**self).resolution()
    }
}
