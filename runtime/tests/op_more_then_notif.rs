//! A single-shot op that posts a result CQE with `IORING_CQE_F_MORE` and then a notification
//! (`IORING_OP_SEND_ZC`, the case `driver::dispatch` names) must resolve to the *result*.
//!
//! `dispatch` returns early for a `Waiting` slot whose CQE has `F_MORE`, throwing that CQE away,
//! and completes the op with the notification CQE, whose `res` is 0. A zero-copy send of 5 bytes
//! therefore reports `Ok(0)`; a `write_all` loop over it never ends.
mod common;

use common::watchdog;
use io_uring::{opcode, squeue::Entry, types};
use ringbolt_runtime::{CqeResult, Op, OpCode, Runtime};
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Duration;

struct SendZc {
    sock: UdpSocket,
    buf: Vec<u8>,
}

// SAFETY: the SQE points into `self.buf`, a Vec owned by the boxed op whose heap block does not
// move; the socket stays open because the op owns it.
unsafe impl OpCode for SendZc {
    type Output = io::Result<u32>;
    fn build(&mut self) -> Entry {
        opcode::SendZc::new(
            types::Fd(self.sock.as_raw_fd()),
            self.buf.as_ptr(),
            self.buf.len() as u32,
        )
        .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<u32> {
        cqe.result
    }
}

#[test]
fn zero_copy_send_reports_bytes_sent() {
    let _wd = watchdog("review_zc_result_lost", Duration::from_secs(30));
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(rx.local_addr().unwrap()).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let rt = Runtime::new().unwrap();
    if !rt.block_on(async { ringbolt_runtime::is_supported(opcode::SendZc::CODE) }) {
        eprintln!("SEND_ZC unsupported here; nothing to check");
        return;
    }
    let sent = rt.block_on(Op::new(SendZc {
        sock: tx,
        buf: b"hello".to_vec(),
    }));
    let mut got = [0u8; 16];
    let n = rx.recv(&mut got).unwrap();
    assert_eq!(&got[..n], b"hello", "the datagram went out");
    assert_eq!(
        sent.unwrap(),
        5,
        "the send's result CQE (5 bytes, F_MORE) was dropped; the op reported the notification's res"
    );
}
