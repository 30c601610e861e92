//! The owned-buffer traits over real TCP and Unix streams and their halves, through one
//! generic function each: `write_all`/`read_exact`/`read_to_end`, `writev_all` resuming
//! after short writes, `copy`, and `BufReader` lines and delimiters.

mod common;

use common::{watchdog, Checksum, Rng};
use ringbolt_net::{TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::io::{copy, AsyncReadOwned, AsyncWriteOwned, BufReader};
use ringbolt_runtime::Runtime;
use std::time::Duration;

/// Sends `data` with writev_all in uneven pieces, then shuts the write side down.
async fn send_pieces<W: AsyncWriteOwned>(mut w: W, data: Vec<u8>) -> W {
    let mut pieces = Vec::new();
    let mut rest = &data[..];
    let mut rng = Rng::new(11);
    while !rest.is_empty() {
        let n = (rng.below(70_000) as usize + 1).min(rest.len());
        pieces.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    pieces.insert(3, Vec::new()); // an empty buffer in the middle is skipped
    let count = pieces.len();
    let (res, pieces) = w.writev_all(pieces).await;
    res.expect("writev_all");
    assert_eq!(pieces.len(), count, "writev_all gives every buffer back");
    w.shutdown().await.expect("shutdown");
    w
}

/// Reads a 4-byte header with read_exact, then the rest with read_to_end.
async fn receive<R: AsyncReadOwned>(mut r: R) -> Vec<u8> {
    let (res, head) = r.read_exact(Vec::with_capacity(4)).await;
    res.expect("read_exact");
    assert_eq!(head.len(), 4);
    let (res, all) = r.read_to_end(head).await;
    let n = res.expect("read_to_end");
    assert_eq!(n, all.len() - 4);
    all
}

fn checksum(data: &[u8]) -> u64 {
    let mut c = Checksum::default();
    c.update(data);
    c.value()
}

#[test]
fn writev_all_and_read_to_end_over_tcp_and_unix() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let data = Rng::new(5).bytes(3 * 1024 * 1024 + 17);
        let want = checksum(&data);

        // TCP, whole streams, with a small send buffer so sendmsg returns short counts.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        client.set_send_buffer_size(16 * 1024).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let sender = ringbolt_runtime::spawn(send_pieces(client, data.clone()));
        let got = receive(server).await;
        sender.await.unwrap();
        assert_eq!(got.len(), data.len());
        assert_eq!(checksum(&got), want, "TCP bytes differ");

        // Unix, as owned halves.
        let (a, b) = UnixStream::pair().unwrap();
        let (_a_read, a_write) = a.into_split();
        let (b_read, _b_write) = b.into_split();
        let sender = ringbolt_runtime::spawn(send_pieces(a_write, data.clone()));
        let got = receive(b_read).await;
        sender.await.unwrap();
        assert_eq!(checksum(&got), want, "Unix bytes differ");
    });
}

#[test]
fn copy_moves_everything_and_counts_it() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let data = Rng::new(9).bytes(2 * 1024 * 1024 + 5);
        // a -> (b | c) -> d: copy from one Unix pair into another.
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut c, mut d) = UnixStream::pair().unwrap();
        let feeder = ringbolt_runtime::spawn({
            let data = data.clone();
            async move {
                let (res, _) = a.write_all(data).await;
                res.unwrap();
                a.shutdown(std::net::Shutdown::Write).await.unwrap();
                a
            }
        });
        let pump = ringbolt_runtime::spawn(async move {
            let n = copy(&mut b, &mut c).await.unwrap();
            AsyncWriteOwned::shutdown(&mut c).await.unwrap();
            (n, b, c)
        });
        let (res, got) = d.read_to_end(Vec::new()).await;
        res.unwrap();
        let (n, _b, _c) = pump.await.unwrap();
        feeder.await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(checksum(&got), checksum(&data));
    });
}

#[test]
fn buf_reader_lines_until_and_passthrough_writes() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        // Lines split across many small writes, CRLF and LF endings, a last line without one,
        // and one line longer than the reader's buffer.
        let long = "x".repeat(100);
        let text = format!("first\r\nsecond\n\n{long}\nfield1;field2;last");
        let writer = ringbolt_runtime::spawn({
            let text = text.clone();
            async move {
                for chunk in text.as_bytes().chunks(3) {
                    let (res, _) = a.write_all(chunk.to_vec()).await;
                    res.unwrap();
                    ringbolt_runtime::task::yield_now().await;
                }
                let (res, _) = a.write_all(b"\xff\xfe\n".to_vec()).await;
                res.unwrap();
                // Reads what the reader side writes back through its BufReader.
                let (res, buf) = a.read_exact(vec![0u8; 4]).await;
                res.unwrap();
                assert_eq!(&buf[..], b"done");
            }
        });
        let mut reader = BufReader::with_capacity(16, b);
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 7);
        assert_eq!(line, "first\r\n");
        let mut lines = reader.lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("second"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(""));
        assert_eq!(lines.next_line().await.unwrap(), Some(long));
        let mut reader = lines.into_inner();
        let mut field = Vec::new();
        assert_eq!(reader.read_until(b';', &mut field).await.unwrap(), 7);
        assert_eq!(field, b"field1;");
        field.clear();
        reader.read_until(b';', &mut field).await.unwrap();
        assert_eq!(field, b"field2;");
        // The last line (no \n before the invalid bytes' \n) is not UTF-8: an error, and the
        // String stays as it was.
        let mut s = String::from("keep");
        let e = reader.read_line(&mut s).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(s, "keep");
        let (res, _) = reader.write_all(b"done".to_vec()).await;
        res.unwrap();
        writer.await.unwrap();
        // End of stream: 0 and None.
        let mut rest = Vec::new();
        assert_eq!(reader.read_until(b'\n', &mut rest).await.unwrap(), 0);
        assert_eq!(reader.lines().next_line().await.unwrap(), None);
    });
}

#[test]
fn buf_reader_read_serves_buffered_then_direct() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let data = Rng::new(21).bytes(200_000);
        let writer = ringbolt_runtime::spawn({
            let data = data.clone();
            async move {
                let (res, _) = a.write_all(data).await;
                res.unwrap();
            }
        });
        let mut reader = BufReader::with_capacity(1000, b);
        let mut got = Vec::new();
        // Small reads come from the buffer; large ones go straight to the socket.
        let mut size = 1;
        while got.len() < data.len() {
            let (res, buf) = reader.read(Vec::with_capacity(size)).await;
            let n = res.unwrap();
            assert!(n > 0 && n <= size);
            assert_eq!(buf.len(), n);
            got.extend_from_slice(&buf);
            size = if size > 4000 { 1 } else { size * 3 };
        }
        writer.await.unwrap();
        assert_eq!(got, data);
    });
}
