//! `#[ringbolt::test]` as a user writes it: an `async fn` test on a fresh runtime, `?` and
//! `Result` returns, kept attributes (`#[should_panic]`), and a timeout that really fails a
//! stuck test.

use ringbolt::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[ringbolt::test]
async fn runs_on_a_ringbolt_core() {
    assert_eq!(ringbolt::core_id(), 0);
    let h = ringbolt::spawn(async { 6 * 7 });
    assert_eq!(h.await.unwrap(), 42);
}

#[ringbolt::test(timeout_ms = 10_000)]
async fn returns_io_result_with_question_mark() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    let (res, _) = client.write_all(b"macro".to_vec()).await;
    res?;
    let (res, buf) = server.read_exact(vec![0u8; 5]).await;
    res?;
    assert_eq!(&buf, b"macro");
    Ok(())
}

#[ringbolt::test(timeout = "20ms")]
#[should_panic(expected = "timed out after 20 ms")]
async fn a_stuck_test_times_out() {
    ringbolt::time::sleep(Duration::from_secs(30)).await;
}

#[ringbolt::test(timeout = "10s")]
async fn the_timeout_does_not_cut_a_test_short() {
    let start = Instant::now();
    ringbolt::time::sleep(Duration::from_millis(30)).await;
    assert!(start.elapsed() >= Duration::from_millis(30));
}
