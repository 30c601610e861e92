//! The runtime's owned-buffer I/O traits ([`AsyncReadOwned`], [`AsyncWriteOwned`],
//! [`SplitOwned`]) for the stream types, so generic code runs over TCP and Unix streams and
//! their halves alike. Each method delegates to the inherent method of the same name.

use crate::{OwnedReadHalf, OwnedWriteHalf, TcpStream, UnixStream};
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
use ringbolt_runtime::io::{AsyncReadOwned, AsyncWriteOwned, SplitOwned};
use std::future::Future;
use std::io;
use std::net::Shutdown;

/// Implements `AsyncReadOwned` by delegating to the inherent read methods.
macro_rules! impl_read {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> AsyncReadOwned for $ty {
            fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                <$ty>::read(self, buf)
            }
            fn readv<B: IoBufMut>(
                &mut self,
                bufs: Vec<B>,
            ) -> impl Future<Output = BufResult<usize, Vec<B>>> {
                <$ty>::readv(self, bufs)
            }
            fn read_exact<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<(), B>> {
                <$ty>::read_exact(self, buf)
            }
        }
    };
}

/// Implements `AsyncWriteOwned` (all but `shutdown`) by delegating to the inherent methods.
macro_rules! write_methods {
    ($ty:ty) => {
        fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
            <$ty>::write(self, buf)
        }
        fn writev<B: IoBuf>(
            &mut self,
            bufs: Vec<B>,
        ) -> impl Future<Output = BufResult<usize, Vec<B>>> {
            <$ty>::writev(self, bufs)
        }
        fn write_all<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<(), B>> {
            <$ty>::write_all(self, buf)
        }
    };
}

impl_read!([] TcpStream);
impl_read!([] UnixStream);
impl_read!([S] OwnedReadHalf<S>);

impl AsyncWriteOwned for TcpStream {
    write_methods!(TcpStream);
    /// Shuts down the write side (`shutdown(SHUT_WR)`).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        TcpStream::shutdown(self, Shutdown::Write)
    }
}

impl AsyncWriteOwned for UnixStream {
    write_methods!(UnixStream);
    /// Shuts down the write side (`shutdown(SHUT_WR)`).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        UnixStream::shutdown(self, Shutdown::Write)
    }
}

impl<S> AsyncWriteOwned for OwnedWriteHalf<S> {
    write_methods!(OwnedWriteHalf<S>);
    /// Shuts down the write side (`shutdown(SHUT_WR)`).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        OwnedWriteHalf::shutdown(self)
    }
}

impl SplitOwned for TcpStream {
    type Read = OwnedReadHalf<TcpStream>;
    type Write = OwnedWriteHalf<TcpStream>;
    fn split_owned(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl SplitOwned for UnixStream {
    type Read = OwnedReadHalf<UnixStream>;
    type Write = OwnedWriteHalf<UnixStream>;
    fn split_owned(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}
