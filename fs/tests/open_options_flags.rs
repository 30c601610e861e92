//! `OpenOptions`: append, truncate, create, create_new, mode, custom flags, invalid sets.

mod common;

use common::{run, secs, TempDir};
use ringbolt_fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;

#[test]
fn flags_behave_like_std() {
    let tmp = TempDir::new("openopts");
    run(secs(30), async {
        let p = tmp.join("f");
        let e = OpenOptions::new()
            .write(true)
            .open(&p)
            .await
            .expect_err("no create");
        assert_eq!(e.kind(), ErrorKind::NotFound);

        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o600)
            .open(&p)
            .await
            .expect("create");
        let (res, _) = f.write_all_at(b"0123456789".to_vec(), 0).await;
        res.expect("write");
        f.close().await.expect("close");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // Append: every write lands at the end, whatever the offset.
        let f = OpenOptions::new()
            .append(true)
            .open(&p)
            .await
            .expect("append");
        let (res, _) = f.write_all_at(b"AB".to_vec(), 0).await;
        res.expect("append write");
        let (res, _) = f.write_all_at(b"CD".to_vec(), 3).await;
        res.expect("append write");
        drop(f);
        assert_eq!(std::fs::read(&p).expect("read"), b"0123456789ABCD");

        // create without truncate keeps the content; truncate empties it.
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .open(&p)
            .await
            .expect("open");
        drop(f);
        assert_eq!(std::fs::metadata(&p).expect("meta").len(), 14);
        let f = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .await
            .expect("trunc");
        assert_eq!(f.metadata().await.expect("meta").len(), 0);

        // A read-only file refuses writes; a write-only file refuses reads.
        let (res, _) = File::open(&p)
            .await
            .expect("ro")
            .write_at(b"x".to_vec(), 0)
            .await;
        assert_eq!(
            res.expect_err("read-only").raw_os_error(),
            Some(libc::EBADF)
        );
        let (res, _) = f.read_at(vec![0u8; 4], 0).await;
        assert_eq!(
            res.expect_err("write-only").raw_os_error(),
            Some(libc::EBADF)
        );

        // Custom flags pass through (O_NOATIME needs ownership: the test created the file).
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOATIME)
            .open(&p)
            .await
            .expect("custom flags");
        drop(f);

        for (opts, what) in [
            (OpenOptions::new(), "no access"),
            (
                OpenOptions::new().read(true).create(true).clone(),
                "create read-only",
            ),
            (
                OpenOptions::new().read(true).truncate(true).clone(),
                "truncate read-only",
            ),
            (
                OpenOptions::new().append(true).truncate(true).clone(),
                "append+truncate",
            ),
        ] {
            let e = opts.open(&p).await.expect_err(what);
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}");
        }
    });
}
