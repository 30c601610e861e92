//! Reading an SQE back: the epoll driver runs the very description an op built for the ring.
//!
//! An [`Entry`] is the kernel's 64-byte `struct io_uring_sqe` (the `io-uring` crate declares it
//! `#[repr(C)]` around `io_uring_sqe`), whose layout is fixed by the kernel ABI. [`RawSqe`]
//! spells that layout out with plain integer fields, so the fallback driver needs no second
//! description of each op: whatever `OpCode::build` puts in the SQE is what it executes. The
//! `layout` test below builds real entries and checks every field this module reads.

use io_uring::squeue::Entry;

/// The fields of `struct io_uring_sqe`, by their offsets in the kernel ABI.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawSqe {
    pub(crate) opcode: u8,
    /// `IOSQE_*` flags.
    pub(crate) flags: u8,
    /// `ioprio`, or the per-op flags some ops keep there (multishot accept/recv, SEND_ZC).
    pub(crate) ioprio: u16,
    pub(crate) fd: i32,
    /// `off`, or `addr2`.
    pub(crate) off: u64,
    /// `addr`, or `splice_off_in`.
    pub(crate) addr: u64,
    pub(crate) len: u32,
    /// The op-specific flags union (`rw_flags`, `msg_flags`, `open_flags`, `poll32_events`...).
    pub(crate) op_flags: u32,
    pub(crate) user_data: u64,
    /// `buf_index` or `buf_group`.
    pub(crate) buf_index: u16,
    pub(crate) personality: u16,
    /// `splice_fd_in`, `file_index`, or `addr_len` (low 16 bits).
    pub(crate) file_index: u32,
    pub(crate) addr3: u64,
    pub(crate) pad: u64,
}

const _: () = assert!(std::mem::size_of::<RawSqe>() == 64);
const _: () = assert!(std::mem::size_of::<Entry>() == 64);

impl RawSqe {
    /// The fields of `entry`.
    #[inline]
    pub(crate) fn of(entry: &Entry) -> RawSqe {
        // `Entry` is `#[repr(C)]` around the kernel's `io_uring_sqe`, 64 bytes (checked above)
        // with no padding: every byte is an initialised integer field of a union the builders
        // zero first. `RawSqe` is `#[repr(C)]` with the same ABI offsets and only integer
        // fields, for which every bit pattern is valid.
        // SAFETY: as just said; `transmute_copy` reads 64 bytes from a valid reference.
        unsafe { std::mem::transmute_copy::<Entry, RawSqe>(entry) }
    }
}

/// `IOSQE_FIXED_FILE`: `fd` is an index into the registered file table.
pub(crate) const IOSQE_FIXED_FILE: u8 = 1 << 0;
/// `IOSQE_BUFFER_SELECT`: take the buffer from the provided-buffer group in `buf_index`.
pub(crate) const IOSQE_BUFFER_SELECT: u8 = 1 << 5;
/// `IORING_ACCEPT_MULTISHOT` (in `ioprio`).
pub(crate) const ACCEPT_MULTISHOT: u16 = 1 << 0;
/// `IORING_RECV_MULTISHOT` (in `ioprio`).
pub(crate) const RECV_MULTISHOT: u16 = 1 << 1;
/// `IORING_POLL_ADD_MULTI` (in `len`).
pub(crate) const POLL_ADD_MULTI: u32 = 1 << 0;
/// `IORING_FSYNC_DATASYNC`.
pub(crate) const FSYNC_DATASYNC: u32 = 1 << 0;
/// `IORING_ASYNC_CANCEL_FD`.
pub(crate) const CANCEL_FD: u32 = 1 << 1;
/// `IORING_ASYNC_CANCEL_ANY`.
pub(crate) const CANCEL_ANY: u32 = 1 << 2;
/// `SPLICE_F_FD_IN_FIXED`.
pub(crate) const SPLICE_F_FD_IN_FIXED: u32 = 1 << 31;

/// CQE flags.
pub(crate) const CQE_F_BUFFER: u32 = 1 << 0;
pub(crate) const CQE_F_MORE: u32 = 1 << 1;
pub(crate) const CQE_F_NOTIF: u32 = 1 << 3;
pub(crate) const CQE_BUFFER_SHIFT: u32 = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use io_uring::{opcode, types};

    #[test]
    fn layout() {
        let buf = [0u8; 16];
        let e = opcode::Read::new(types::Fd(7), buf.as_ptr() as *mut u8, 16)
            .offset(99)
            .rw_flags(3)
            .build()
            .user_data(42);
        let s = RawSqe::of(&e);
        assert_eq!(s.opcode, opcode::Read::CODE);
        assert_eq!(s.fd, 7);
        assert_eq!(s.addr, buf.as_ptr() as u64);
        assert_eq!(s.len, 16);
        assert_eq!(s.off, 99);
        assert_eq!(s.op_flags, 3);
        assert_eq!(s.user_data, 42);

        let e = opcode::Recv::new(types::Fd(5), std::ptr::null_mut(), 0)
            .buf_group(9)
            .build()
            .flags(io_uring::squeue::Flags::BUFFER_SELECT);
        let s = RawSqe::of(&e);
        assert_eq!(s.buf_index, 9);
        assert_ne!(s.flags & IOSQE_BUFFER_SELECT, 0);

        let e = opcode::RecvMulti::new(types::Fd(5), 3).build();
        assert_ne!(RawSqe::of(&e).ioprio & RECV_MULTISHOT, 0);
        let e = opcode::AcceptMulti::new(types::Fd(5)).build();
        assert_ne!(RawSqe::of(&e).ioprio & ACCEPT_MULTISHOT, 0);
        let e = opcode::PollAdd::new(types::Fd(5), 1).multi(true).build();
        let s = RawSqe::of(&e);
        assert_eq!(s.len & POLL_ADD_MULTI, POLL_ADD_MULTI);
        assert_eq!(s.op_flags, 1);

        let e = opcode::Splice::new(types::Fd(3), 11, types::Fd(4), 12, 100).build();
        let s = RawSqe::of(&e);
        assert_eq!(
            (s.fd, s.file_index as i32, s.addr, s.off, s.len),
            (4, 3, 11, 12, 100)
        );

        let e = opcode::Send::new(types::Fd(5), buf.as_ptr(), 4)
            .dest_addr(buf.as_ptr().cast())
            .dest_addr_len(16)
            .build();
        let s = RawSqe::of(&e);
        assert_eq!(s.off, buf.as_ptr() as u64);
        assert_eq!(s.file_index & 0xffff, 16);

        let e = opcode::AsyncCancel::new(1234).build();
        assert_eq!(RawSqe::of(&e).addr, 1234);
        let e = opcode::Timeout::new(&types::Timespec::new().sec(1))
            .build()
            .user_data(1);
        assert_eq!(RawSqe::of(&e).opcode, opcode::Timeout::CODE);
    }
}
