//! Socket opcodes: accept (single and multishot), connect, send, sendmsg, recv (single and
//! multishot with provided buffers), recvmsg, shutdown. The `net` crate builds TCP, UDP and
//! Unix sockets on these without `unsafe`.
//!
//! Rules:
//! 1. Every send sets `MSG_NOSIGNAL`: a closed peer gives `EPIPE`, never `SIGPIPE`.
//! 2. Addresses, `msghdr`s and `iovec`s live in the boxed op state ([`SockAddr`] is stored
//!    inline), so the kernel's pointers stay valid until the final CQE.
//! 3. An op whose completion creates an fd (accept) owns it in its output: a late completion
//!    after the future was dropped closes it.

mod accept;
mod addr;
mod connect;
mod recv;
mod send;
mod shutdown;

pub use accept::{Accept, AcceptMulti};
pub use addr::{SockAddr, UnixAddr};
pub use connect::Connect;
pub use recv::{Recv, RecvMsg, RecvMsgOut, RecvMulti};
pub use send::{Send, SendMsg, SendTo};
pub use shutdown::Shutdown;

use crate::buf::MAX_RW_COUNT;
use crate::driver::SharedFd;
use std::os::fd::{AsFd, BorrowedFd};

/// Builds iovecs over buffers, capping the total at `MAX_RW_COUNT` and the count at `IOV_MAX`.
fn iovecs(ptrs: impl Iterator<Item = (*mut u8, usize)>) -> Vec<libc::iovec> {
    let mut total = 0usize;
    let mut out = Vec::new();
    for (ptr, len) in ptrs.take(1024) {
        let len = len.min(MAX_RW_COUNT - total);
        out.push(libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        });
        total += len;
        if total == MAX_RW_COUNT {
            break;
        }
    }
    out
}

/// Borrowing the fd lets safe code (`socket2::SockRef`) set socket options.
impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd stays open while any SharedFd clone is alive (fd.rs rule 2), and the
        // borrow cannot outlive `self`.
        unsafe { BorrowedFd::borrow_raw(self.raw()) }
    }
}
