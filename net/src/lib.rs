//! TCP, UDP and Unix sockets on ringbolt's per-core io_uring.
//!
//! # Model
//!
//! - **Every socket belongs to one core.** A socket's operations go through the io_uring of
//!   the core that runs the task awaiting them; socket types are `!Send`. To serve on every
//!   core, bind one [`TcpListener`] per core on the same address with
//!   [`TcpListener::bind_reuseport`], and the kernel spreads incoming connections over the
//!   cores. [`TcpListener::bind`] is exclusive: a port already taken fails with `EADDRINUSE`
//!   (with `SO_REUSEPORT`, a second server started on the port by mistake would instead
//!   silently take part of the traffic).
//! - **Buffers by value.** Reads and writes take an owned buffer and give it back with the
//!   result, on success and on error: `let (res, buf) = stream.read(buf).await;`.
//! - **No `SIGPIPE`.** Every send sets `MSG_NOSIGNAL`: writing to a closed peer returns
//!   `EPIPE` or `ECONNRESET`.
//! - **Drop is safe; `close` is exact.** Dropping a socket closes its fd only after every
//!   operation naming it has completed. `close().await` waits for those operations and
//!   reports the result of `close(2)`. [`RecvStream`] and [`Incoming`] borrow their
//!   socket, so `close` cannot be called (and wait forever) while one is alive.
//! - **Cancel-safe reads and accepts.** Dropping a `read`, `readv`, `accept`, an [`Incoming`]
//!   or a [`RecvStream`] (in `select!`, under a timeout) loses nothing the kernel completed:
//!   received bytes and accepted connections are kept on the socket and handed out first by
//!   the next read or accept. `read_timeout` stops a read and gives its buffer back. See
//!   `docs/cancellation.md`.
//! - **A peer's address never costs the data.** A Unix peer bound to a path std cannot
//!   represent (all 108 bytes of `sun_path`, no NUL) is still accepted, with its exact
//!   address, and its datagrams are still received, from an unnamed sender.
//! - **Zero-length transfers.** A read into an empty buffer returns `Ok(0)` at once and is not
//!   end of file; `Ok(0)` from a non-empty buffer is. An empty datagram is a real datagram.
//!
//! # Examples
//!
//! ```
//! use ringbolt_net::{TcpListener, TcpStream};
//!
//! let rt = ringbolt_runtime::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let server = ringbolt_runtime::spawn(async move {
//!         let (stream, _peer) = listener.accept().await?;
//!         // A read may return fewer bytes than were sent (a short read): read all four.
//!         let (res, buf) = stream.read_exact(vec![0u8; 4]).await;
//!         res?;
//!         let (res, _) = stream.write_all(buf).await;
//!         res
//!     });
//!     let client = TcpStream::connect(addr).await?;
//!     let (res, _) = client.write_all(b"ping".to_vec()).await;
//!     res?;
//!     let (res, buf) = client.read_exact(vec![0u8; 4]).await;
//!     res?;
//!     assert_eq!(&buf[..], b"ping");
//!     server.await.expect("server task")?;
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Sockets are bound to their core and cannot be sent to another thread:
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_net::TcpStream>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_net::TcpListener>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_net::UdpSocket>();
//! ```
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_net::UnixStream>();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod addr;
mod carry;
pub mod compat;
mod handoff;
mod incoming;
mod io_impls;
mod macros;
mod recv_stream;
mod resolve;
mod socket;
mod split;
mod stream_io;
pub mod tcp;
mod udp;
pub mod unix;

pub use handoff::IntoStdError;
pub use incoming::Incoming;
pub use recv_stream::RecvStream;
#[doc(hidden)]
pub use resolve::set_lookup_delay_for_tests;
pub use resolve::ToSocketAddrs;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use tcp::{DirectTcpStream, TcpListener, TcpSocket, TcpStream};
pub use udp::{RecvMeta, UdpSocket};
pub use unix::{UnixDatagram, UnixListener, UnixStream};

/// Provided-buffer rings for [`RecvStream`], from the runtime.
pub use ringbolt_runtime::buf::provided::{BufRing, ProvidedBuf};
/// Owned buffers and the result type every read and write returns, from the runtime.
pub use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
