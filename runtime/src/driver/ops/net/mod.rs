//! Socket opcodes: accept (single and multishot), connect, send, zero-copy send, sendmsg, recv
//! (single and multishot with provided buffers), recvmsg, shutdown. The `net` crate builds TCP,
//! UDP and Unix sockets on these without `unsafe`.
//!
//! Rules:
//! 1. Every send sets `MSG_NOSIGNAL`: a closed peer gives `EPIPE`, never `SIGPIPE`.
//! 2. Addresses, `msghdr`s and `iovec`s live in the boxed op state, so the kernel's pointers
//!    stay valid until the final CQE: a [`SockAddr`] (socket2's) to read from, raw storage to
//!    write into (see the `addr` module's rules, and its docs for the migration from
//!    ringbolt's earlier address type).
//! 3. An op whose completion creates an fd (accept) owns it in its output: a late completion
//!    after the future was dropped closes it.
//! 4. A zero-copy send ([`SendZc`]) ends with the kernel's notification CQE, not with its
//!    result CQE: the buffer is handed back (or, for a dropped future, freed) only once the
//!    kernel stopped reading it.

mod accept;
mod addr;
mod connect;
mod recv;
mod send;
mod send_zc;
mod shutdown;

pub use accept::{Accept, AcceptDirect, AcceptMulti};
pub use addr::{unix_abstract, unix_addr, unix_path, SockAddr, UnixAddr};
pub use connect::Connect;
pub use recv::{Recv, RecvMsg, RecvMsgOut, RecvMulti};
pub use send::{Send, SendMsg, SendTo};
pub use send_zc::SendZc;
pub use shutdown::Shutdown;

use super::iovecs;
