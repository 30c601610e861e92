//! Direct I/O `read_exact_at` across the end of a file whose size is not a multiple of the
//! alignment: the kernel returns a short, unaligned count, and the loop must report
//! `UnexpectedEof` with the bytes read in the buffer, not fail the alignment check of its own
//! retry with `InvalidInput`.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

/// Opens `path` for direct reads, or `None` (with the reason printed) where the filesystem
/// has no `O_DIRECT`.
async fn open_direct(path: &Path) -> Option<File> {
    match OpenOptions::new().read(true).direct(true).open(path).await {
        Ok(f) => Some(f),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!("SKIP: {} does not support O_DIRECT: {e}", path.display());
            None
        }
        Err(e) => panic!("open O_DIRECT: {e}"),
    }
}

#[test]
fn read_exact_past_eof_is_unexpected_eof_with_the_data_read() {
    let tmp = TempDir::new("direct-eof");
    let path = tmp.join("f");
    // Not a multiple of any direct-I/O alignment.
    let len = 5000;
    let data = Rng::new(7).bytes(len);
    std::fs::write(&path, &data).expect("write");
    run(secs(60), async {
        let Some(f) = open_direct(&path).await else {
            return;
        };
        let align = f.direct_alignment().expect("direct file").offset();
        eprintln!("direct offset alignment: {align}");
        let want = len.next_multiple_of(align) + align;

        let (res, buf) = f.read_exact_at(f.alloc_aligned(want), 0).await;
        let e = res.expect_err("the file is shorter than the buffer");
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
        assert_eq!(buf.len(), len, "every byte of the file is in the buffer");
        assert!(buf[..] == data[..], "the bytes read are the file's");

        // Starting at an aligned offset inside the last block: the same.
        let last = (len / align * align) as u64;
        let (res, buf) = f.read_exact_at(f.alloc_aligned(align), last).await;
        let e = res.expect_err("past the end");
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
        assert!(buf[..] == data[last as usize..]);

        // An exact read inside the file still succeeds.
        let (res, buf) = f.read_exact_at(f.alloc_aligned(align), 0).await;
        res.expect("first block");
        assert!(buf[..] == data[..align]);
        f.close().await.expect("close");
    });
}
