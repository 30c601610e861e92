//! 1,000 files opened, written, closed and removed concurrently on one core; the fd count
//! returns to its baseline.

mod common;

use common::{fd_count, run, secs, TempDir};
use ringbolt_fs::{self as fs, File};
use ringbolt_runtime::sync::Barrier;
use std::rc::Rc;

const FILES: usize = 1000;

#[test]
fn thousand_files_at_once_then_fds_back_to_baseline() {
    let tmp = Rc::new(TempDir::new("many"));
    run(secs(60), async move {
        let baseline = fd_count();
        let all_open = Rc::new(Barrier::new(FILES + 1));
        let mut tasks = Vec::with_capacity(FILES);
        for i in 0..FILES {
            let (tmp, all_open) = (tmp.clone(), all_open.clone());
            tasks.push(ringbolt_runtime::spawn(async move {
                let path = tmp.join(&format!("f{i}"));
                let f = File::create_new(&path).await?;
                all_open.wait().await;
                let data = format!("file {i} ").repeat(100).into_bytes();
                let (res, data) = f.write_all_at(data, 0).await;
                res?;
                let (res, back) = f.read_exact_at(Vec::with_capacity(data.len()), 0).await;
                res?;
                assert_eq!(back, data, "file {i}");
                f.close().await?;
                fs::remove_file(&path).await
            }));
        }
        all_open.wait().await;
        let open_now = fd_count();
        assert!(
            open_now >= baseline + FILES,
            "expected {FILES} files open at once: {open_now} fds vs baseline {baseline}"
        );
        for t in tasks {
            t.await.expect("task").expect("file lifecycle");
        }
        assert_eq!(fd_count(), baseline, "fds back to baseline");
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
        let mut dir = fs::read_dir(tmp.path()).await.expect("read_dir");
        assert!(
            dir.next_entry().await.expect("entry").is_none(),
            "all removed"
        );
    });
}
