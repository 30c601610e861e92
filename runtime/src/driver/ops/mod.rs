//! One small file per io_uring opcode. Each type implements [`OpCode`](crate::OpCode) (or
//! [`MultishotOpCode`](crate::MultishotOpCode)) and has a safe constructor returning an
//! [`Op`](crate::Op) to await, so `net` and `fs` need no `unsafe`.

mod close;
pub(crate) mod direct;
mod nop;
mod poll;
mod read;
mod splice;
mod timeout;
mod vectored;
mod write;

pub mod fs;
pub mod net;

pub use close::Close;
pub use direct::{DirectFd, RingFd};
pub use nop::Nop;
pub use poll::{PollAdd, PollMulti};
pub use read::Read;
pub use splice::Splice;
pub use timeout::Timeout;
pub(crate) use vectored::iovecs;
pub use vectored::{Readv, Writev};
pub use write::Write;
