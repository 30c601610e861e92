use super::SockAddr;
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;

/// `IORING_OP_CONNECT`: connects a socket to an address.
pub struct Connect {
    fd: SharedFd,
    addr: SockAddr,
}

impl Connect {
    /// A connect op on `fd` to `addr`.
    pub fn op(fd: &SharedFd, addr: SockAddr) -> Op<Connect> {
        Op::new(Connect {
            fd: fd.clone(),
            addr,
        })
    }
}

// SAFETY: the SQE points at `self.addr`, inside the boxed op; the socket stays open because the
// op holds a SharedFd clone.
unsafe impl OpCode for Connect {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::Connect::new(
            types::Fd(self.fd.raw()),
            self.addr.as_ptr().cast(),
            self.addr.len(),
        )
        .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
