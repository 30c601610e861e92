//! Cross-core hand-off: a connection accepted on core 0 is served on core 1 (`into_std` +
//! `from_std`), bytes verified; a stream with an op still in flight (an abandoned read whose
//! cancellation has not completed) refuses to leave its core and comes back intact.

mod common;

use common::watchdog;
use ringbolt_net::{IoBuf, TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::{core_id, spawn_on, Runtime};
use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc;
use std::time::Duration;

const CONNS: usize = 4;
const BYTES: usize = 256 * 1024;

fn pattern(conn: usize) -> Vec<u8> {
    (0..BYTES).map(|i| (i * 31 + conn * 7) as u8).collect()
}

/// Echoes until end of stream; returns the core it ran on and the bytes echoed.
async fn echo(stream: TcpStream) -> std::io::Result<(usize, usize)> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let (res, b) = stream.read(buf).await;
        let n = res?;
        if n == 0 {
            return Ok((core_id(), total));
        }
        let (res, slice) = stream.write_all(b.slice(..n)).await;
        res?;
        total += n;
        buf = slice.into_inner();
    }
}

#[test]
fn accept_on_core_0_serve_on_core_1() {
    let _w = watchdog(Duration::from_secs(60));
    let (port_tx, port_rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        Runtime::builder()
            .cores(2)
            .pin_threads(false)
            .launch(|core| {
                let port_tx = port_tx.clone();
                async move {
                    if core != 0 {
                        return Ok(Vec::new());
                    }
                    let listener = TcpListener::bind("127.0.0.1:0")?;
                    port_tx.send(listener.local_addr()?).unwrap();
                    let mut served = Vec::new();
                    for _ in 0..CONNS {
                        let (stream, _) = listener.accept().await?;
                        let std_stream = stream.into_std()?;
                        served.push(spawn_on(1, move || async move {
                            echo(TcpStream::from_std(std_stream)).await
                        }));
                    }
                    let mut out = Vec::new();
                    for h in served {
                        out.push(h.await.expect("serving task")?);
                    }
                    Ok::<_, std::io::Error>(out)
                }
            })
    });
    let addr = port_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("server did not bind");
    let clients: Vec<_> = (0..CONNS)
        .map(|conn| {
            std::thread::spawn(move || {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let data = pattern(conn);
                let mut w = c.try_clone().unwrap();
                let writer = std::thread::spawn(move || {
                    w.write_all(&data).unwrap();
                    w.shutdown(std::net::Shutdown::Write).unwrap();
                });
                let mut back = Vec::new();
                c.read_to_end(&mut back).unwrap();
                writer.join().unwrap();
                assert!(
                    back == pattern(conn),
                    "connection {conn}: echoed bytes differ"
                );
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let results = server.join().unwrap().expect("launch");
    let served = results[0].as_ref().expect("core 0");
    assert_eq!(served.len(), CONNS);
    for &(core, bytes) in served {
        assert_eq!(core, 1, "a handed-off connection was served on core {core}");
        assert_eq!(bytes, BYTES);
    }
}

#[test]
fn op_in_flight_blocks_the_handoff() {
    let _w = watchdog(Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        // A read that never completes by itself: submitted, then abandoned by the timeout.
        // Its cancellation is queued but not yet completed, so the op still names the fd.
        let read =
            ringbolt_runtime::time::timeout(Duration::from_millis(20), stream.read(vec![0u8; 16]));
        assert!(
            read.await.is_err(),
            "nothing was sent; the read must time out"
        );
        let err = stream
            .into_std()
            .expect_err("an op is in flight: no hand-off");
        assert!(err.to_string().contains("in flight"), "{err}");
        let stream = err.into_inner();
        // Once the cancellation completed, the hand-off succeeds (bounded wait).
        let mut stream = Some(stream);
        let mut std_stream = None;
        for _ in 0..200 {
            ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
            match stream.take().unwrap().into_std() {
                Ok(s) => {
                    std_stream = Some(s);
                    break;
                }
                Err(e) => stream = Some(e.into_inner()),
            }
        }
        let mut s = std_stream.expect("the cancelled read never released the fd");
        // The connection is intact: bytes flow both ways through the std stream.
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        s.write_all(b"pong").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
    });
}

#[test]
fn busy_handoff_is_resource_busy_through_question_mark() {
    let _w = watchdog(Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let (r, w) = a.into_split();
        let a = r.reunite(w).expect("halves of one stream");
        // Reunited: the only holder again.
        let std_a = a.into_std().expect("reunited stream hands off");
        let a = UnixStream::from_std(std_a);
        // A stream whose fd an op still names (an abandoned read whose cancellation has not
        // completed) refuses, and `?` turns the refusal into ResourceBusy. (A RecvStream or
        // an Incoming borrows its socket, so `into_std` cannot be called while one lives.)
        let read =
            ringbolt_runtime::time::timeout(Duration::from_millis(20), a.read(vec![0u8; 16]));
        assert!(
            read.await.is_err(),
            "nothing was sent; the read must time out"
        );
        let res: std::io::Result<_> = (|| Ok(a.into_std()?))();
        let err = res.expect_err("an op is in flight");
        assert_eq!(err.kind(), ErrorKind::ResourceBusy);
    });
}

#[test]
fn unix_stream_served_on_another_core() {
    let _w = watchdog(Duration::from_secs(30));
    let out = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| async move {
            if core != 0 {
                return Ok(None);
            }
            let (a, b) = UnixStream::pair()?;
            let b = b.into_std()?;
            let h = spawn_on(1, move || async move {
                let b = UnixStream::from_std(b);
                let (res, buf) = b.read_exact(vec![0u8; 5]).await;
                res?;
                let (res, _) = b
                    .write_all(buf.iter().rev().copied().collect::<Vec<u8>>())
                    .await;
                res.map(|()| core_id())
            });
            let (res, _) = a.write_all(b"hello".to_vec()).await;
            res?;
            let (res, buf) = a.read_exact(vec![0u8; 5]).await;
            res?;
            assert_eq!(&buf, b"olleh");
            Ok::<_, std::io::Error>(Some(h.await.expect("task on core 1")?))
        })
        .unwrap();
    assert_eq!(out[0].as_ref().unwrap(), &Some(1));
}
