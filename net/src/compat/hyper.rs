//! `hyper::rt::Read` + `Write` for [`PollIo`] (feature `hyper`), so hyper needs no adapter.

use super::{poll_io, PollIo, PollSource};
use hyper::rt::{Read, ReadBufCursor, Write};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

impl<S: PollSource + Unpin> Read for PollIo<S> {
    /// Receives straight into the cursor's unfilled bytes (no zeroing, no copy).
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let fd = &this.fd;
        poll_io(&mut this.read, cx, || {
            fd.recv_nonblocking_hyper(&mut buf).map(drop)
        })
    }
}

impl<S: PollSource + Unpin> Write for PollIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        PollIo::poll_write(self.get_mut(), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        PollIo::poll_write_vectored(self.get_mut(), cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Nothing is buffered: ready at once.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write side (`shutdown(SHUT_WR)`).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        PollIo::poll_shutdown(self.get_mut(), cx)
    }
}
