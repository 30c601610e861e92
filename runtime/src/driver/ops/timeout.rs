use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry, types::Timespec};
use std::io;
use std::time::Duration;

/// `IORING_OP_TIMEOUT` with a relative duration: an op that stays in flight for a while.
///
/// Timers users await are [`crate::time::sleep`] (a timer wheel, no SQE per timer); this op is
/// for code that wants a kernel-side timeout, and for exercising long-lived ops in tests.
#[derive(Debug)]
pub struct Timeout {
    ts: Timespec,
}

impl Timeout {
    /// An op that completes with `Ok(())` after `duration`, or with `ECANCELED` if cancelled.
    pub fn op(duration: Duration) -> Op<Timeout> {
        Op::new(Timeout {
            ts: Timespec::from(duration),
        })
    }
}

// SAFETY: the SQE points at `self.ts`, which lives in the boxed op until the final CQE.
unsafe impl OpCode for Timeout {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::Timeout::new(&self.ts).build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        match cqe.result {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
