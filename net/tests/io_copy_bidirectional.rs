//! `copy_bidirectional` as a TCP proxy runs it: both directions at once, half-close passed
//! through (the upstream answers only after the client's end of stream), counts returned, and
//! an upstream reset ends the proxy with an error instead of a hang.

mod common;

use common::{watchdog, Checksum, Rng};
use ringbolt_net::{TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::io::{copy_bidirectional, AsyncReadOwned};
use ringbolt_runtime::Runtime;
use std::time::Duration;

fn sum(data: &[u8]) -> u64 {
    let mut c = Checksum::default();
    c.update(data);
    c.value()
}

#[test]
fn proxy_passes_half_close_both_ways() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let request = Rng::new(1).bytes(1024 * 1024 + 3);
        let response = Rng::new(2).bytes(2 * 1024 * 1024 + 7);

        // Upstream: a Unix stream (the proxy is generic over both kinds). It reads the whole
        // request to end of stream, then answers and closes.
        let (upstream_proxy_side, mut upstream) = UnixStream::pair().unwrap();
        let upstream_task = ringbolt_runtime::spawn({
            let response = response.clone();
            async move {
                let (res, req) = upstream.read_to_end(Vec::new()).await;
                res.unwrap();
                let (res, _) = upstream.write_all(response).await;
                res.unwrap();
                req
            }
        });

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = ringbolt_runtime::spawn(async move {
            let (client_side, _) = listener.accept().await.unwrap();
            copy_bidirectional(client_side, upstream_proxy_side).await
        });

        let client = TcpStream::connect(addr).await.unwrap();
        let (res, _) = client.write_all(request.clone()).await;
        res.unwrap();
        client.shutdown(std::net::Shutdown::Write).await.unwrap();
        let mut client = client;
        let (res, got) = client.read_to_end(Vec::new()).await;
        res.unwrap();

        let (up, down) = proxy.await.unwrap().expect("proxy");
        let req = upstream_task.await.unwrap();
        assert_eq!(up, request.len() as u64);
        assert_eq!(down, response.len() as u64);
        assert_eq!(sum(&req), sum(&request), "request bytes differ");
        assert_eq!(sum(&got), sum(&response), "response bytes differ");
    });
}

#[test]
fn upstream_reset_ends_the_proxy_with_an_error() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let up_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let up_addr = up_listener.local_addr().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = ringbolt_runtime::spawn(async move {
            let (client_side, _) = listener.accept().await.unwrap();
            let upstream = TcpStream::connect(up_addr).await.unwrap();
            copy_bidirectional(client_side, upstream).await
        });
        let client = TcpStream::connect(addr).await.unwrap();
        let (upstream, _) = up_listener.accept().await.unwrap();
        // The upstream resets the connection (SO_LINGER 0) after reading a little.
        let (res, _) = client.write_all(b"hello".to_vec()).await;
        res.unwrap();
        let (res, _) = upstream.read_exact(vec![0u8; 5]).await;
        res.unwrap();
        upstream.set_linger(Some(Duration::ZERO)).unwrap();
        drop(upstream);
        let res = ringbolt_runtime::time::timeout(Duration::from_secs(10), proxy)
            .await
            .expect("proxy hung after the upstream reset")
            .unwrap();
        let e = res.expect_err("a reset must surface as an error");
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "unexpected error {e:?}"
        );
        // The proxy dropped both streams: the client sees its connection end.
        let (res, _) = client.read(vec![0u8; 16]).await;
        assert!(matches!(res, Ok(0) | Err(_)));
    });
}
