//! What docs/drivers.md promises for io_uring features on the epoll driver, checked on a
//! runtime built with `Builder::driver(DriverKind::Epoll)`: registered (fixed) buffers,
//! provided-buffer rings (`RecvStream`) and `send_zc` work as plain equivalents with the same
//! results, byte for byte; direct descriptors fail with an `Unsupported` error that names the
//! epoll driver. Every async body runs under a timeout.

use std::io::{Read, Write};
use std::time::Duration;

use ringbolt::buf::fixed::FixedBufPool;
use ringbolt::net::{BufRing, TcpListener, TcpStream};
use ringbolt::{DriverKind, Runtime};

const LIMIT: Duration = Duration::from_secs(20);

fn epoll_runtime() -> Runtime {
    let rt = Runtime::builder()
        .driver(DriverKind::Epoll)
        .build()
        .expect("the epoll driver starts everywhere");
    assert_eq!(
        rt.block_on(async { ringbolt::driver_kind() }),
        DriverKind::Epoll
    );
    rt
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

#[test]
fn direct_descriptors_are_unsupported_naming_the_driver() {
    let err = match Runtime::builder()
        .driver(DriverKind::Epoll)
        .direct_files(8)
        .build()
    {
        Ok(_) => panic!("a direct-descriptor table cannot exist on the epoll driver"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{err}");
    let text = err.to_string();
    assert!(text.contains("epoll driver"), "{text}");
    assert!(text.contains("io_uring"), "{text}");
}

#[test]
fn fixed_buffers_read_and_write_files() {
    let rt = epoll_runtime();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("driver_epoll_fixed.{}", std::process::id()));
    let data = pattern(8192, 3);
    rt.block_on(async {
        ringbolt::time::timeout(LIMIT, async {
            let pool = FixedBufPool::new(2, 4096)?;
            let file = ringbolt::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await?;
            for (i, chunk) in data.chunks(4096).enumerate() {
                let mut buf = pool.get().await;
                buf.extend_from_slice(chunk);
                let (res, _) = file.write_fixed_at(buf, (i * 4096) as u64).await;
                assert_eq!(res?, chunk.len());
            }
            file.sync_all().await?;
            for (i, chunk) in data.chunks(4096).enumerate() {
                let buf = pool.get().await;
                let (res, buf) = file.read_fixed_at(buf, (i * 4096) as u64).await;
                assert_eq!(res?, chunk.len());
                assert!(buf[..] == chunk[..], "fixed-buffer read {i} differs");
            }
            file.close().await?;
            ringbolt::fs::remove_file(&path).await
        })
        .await
        .expect("timed out")
    })
    .expect("fixed-buffer file I/O on the epoll driver");
}

#[test]
fn recv_stream_with_a_buffer_ring_receives_every_byte() {
    let rt = epoll_runtime();
    let data = pattern(64 * 1024 + 77, 11);
    let got = rt.block_on(async {
        ringbolt::time::timeout(LIMIT, async {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let sent = data.clone();
            let client = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr)?;
                for chunk in sent.chunks(3000) {
                    s.write_all(chunk)?;
                }
                Ok::<(), std::io::Error>(())
            });
            let (stream, _) = listener.accept().await?;
            let ring = BufRing::new(8, 1024)?;
            let mut got = Vec::new();
            {
                let mut items = stream.recv_stream(&ring);
                // Bounded: at most one item per byte sent, plus the end.
                for _ in 0..=data.len() {
                    match items.next().await? {
                        Some(buf) => got.extend_from_slice(&buf),
                        None => break,
                    }
                }
            }
            client.join().expect("client thread")?;
            Ok::<Vec<u8>, std::io::Error>(got)
        })
        .await
        .expect("timed out")
    });
    let got = got.expect("recv_stream on the epoll driver");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "received bytes differ");
}

#[test]
fn send_zc_sends_every_byte() {
    let rt = epoll_runtime();
    let data = pattern(40 * 1024 + 5, 29);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let expected = data.len();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(LIMIT))?;
        let mut got = Vec::with_capacity(expected);
        s.read_to_end(&mut got)?;
        Ok::<Vec<u8>, std::io::Error>(got)
    });
    let sent = rt.block_on(async {
        ringbolt::time::timeout(LIMIT, async {
            let stream = TcpStream::connect(addr).await?;
            let mut off = 0;
            // Bounded: each call sends at least one byte or fails.
            while off < data.len() {
                let (res, _) = stream.send_zc(data[off..].to_vec()).await;
                let n = res?;
                assert!(n > 0, "send_zc sent nothing");
                off += n;
            }
            stream.close().await?;
            Ok::<usize, std::io::Error>(off)
        })
        .await
        .expect("timed out")
    });
    assert_eq!(sent.expect("send_zc on the epoll driver"), data.len());
    let got = reader.join().expect("reader thread").expect("read");
    assert!(got == data, "bytes sent with send_zc differ");
}
