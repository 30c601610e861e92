//! `bytes::Bytes` and `BytesMut` as I/O buffers (feature `bytes`, on for the workspace's tests):
//! bytes written from a `Bytes` (and a slice of one) arrive intact; a read into a `BytesMut`
//! through `slice(len..)` appends after what it holds; a read never writes past the capacity.

use bytes::{Bytes, BytesMut};
use ringbolt::buf::IoBuf;
use ringbolt::net::UnixStream;

#[ringbolt::test(timeout_ms = 10_000)]
async fn bytes_and_bytes_mut_carry_data() {
    let (a, b) = UnixStream::pair().unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 13) as u8).collect();
    let payload = Bytes::from(data.clone());

    // Whole Bytes, then a slice of another handle to the same data.
    let (res, back) = a.write_all(payload.clone()).await;
    res.unwrap();
    assert_eq!(back, payload, "the buffer comes back unchanged");
    let (res, _) = a.write_all(payload.clone().slice(100..200)).await;
    res.unwrap();

    // read_exact into a BytesMut: length grows to exactly what was read.
    let buf = BytesMut::with_capacity(data.len());
    let (res, buf) = b.read_exact(buf).await;
    res.unwrap();
    assert_eq!(buf.len(), data.len());
    assert_eq!(&buf[..], &data[..]);

    // A plain read with spare capacity: keeps what was there, appends after it.
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(b"head:");
    let (res, buf) = b.read(buf.slice(5..)).await;
    let n = res.unwrap();
    let buf = buf.into_inner();
    assert_eq!(n, 59, "one read fills the 59 spare bytes (100 are waiting)");
    assert_eq!(&buf[..5], b"head:");
    assert_eq!(&buf[5..5 + n], &data[100..100 + n]);
    assert!(buf.capacity() >= 64 && buf.len() == 5 + n);

    // The rest of the slice is still there: nothing was lost or overwritten.
    let (res, rest) = b.read_exact(BytesMut::with_capacity(100 - n)).await;
    res.unwrap();
    assert_eq!(&rest[..], &data[100 + n..200]);
}
