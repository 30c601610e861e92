use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry};
use std::io;

/// `IORING_OP_NOP`: completes at once. Measures the ring's round trip and exercises the op
/// lifecycle in tests.
#[derive(Debug, Default)]
pub struct Nop {
    _private: (),
}

impl Nop {
    /// A no-op to await.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = ringbolt_runtime::Runtime::new()?;
    /// rt.block_on(async { ringbolt_runtime::ops::Nop::op().await })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn op() -> Op<Nop> {
        Op::new(Nop { _private: () })
    }
}

// SAFETY: a NOP SQE carries no pointers.
unsafe impl OpCode for Nop {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        opcode::Nop::new().build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
