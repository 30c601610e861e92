//! A NUL byte inside a Unix socket pathname is `InvalidInput` in every constructor (as in
//! std), never a path silently cut at the NUL.

mod common;

use common::watchdog;
use ringbolt_net::{UnixDatagram, UnixListener, UnixStream};
use ringbolt_runtime::Runtime;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

fn temp_dir(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("rb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("temp dir");
    p
}

#[test]
fn interior_nul_is_invalid_input_everywhere() {
    let _w = watchdog(Duration::from_secs(60));
    let dir = temp_dir("unix-nul");
    let cut = dir.join("sock");
    let with_nul = PathBuf::from(format!("{}\0tail", cut.display()));
    Runtime::new().unwrap().block_on(async {
        let e = UnixListener::bind(&with_nul).expect_err("listener path with NUL");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = UnixDatagram::bind(&with_nul).expect_err("datagram path with NUL");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(
            !cut.exists(),
            "nothing was bound at the path cut at the NUL"
        );

        // A real socket at the cut path: connecting through the NUL path must not reach it.
        let target = UnixDatagram::bind(&cut).expect("bind the cut path");
        let client = UnixDatagram::unbound().expect("unbound");
        let e = client
            .connect(&with_nul)
            .expect_err("connect path with NUL");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let (res, _) = client.send_to(b"x".to_vec(), &with_nul).await;
        assert_eq!(res.expect_err("send_to").kind(), ErrorKind::InvalidInput);
        let e = UnixStream::connect(&with_nul).await.expect_err("stream");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        drop(target);

        // Abstract names (leading NUL) may hold NUL bytes.
        let name = format!("\0rb-nul-{}\0x", std::process::id());
        let listener = UnixListener::bind(&name).expect("abstract name with a NUL inside");
        let _c = UnixStream::connect(&name).await.expect("connect abstract");
        let (_s, _) = listener.accept().await.expect("accept");
    });
    let _ = std::fs::remove_dir_all(&dir);
}
