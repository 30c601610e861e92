//! Memory per idle task: spawns 1,000,000 tasks whose future is zero-sized and never ready,
//! lets each run once (so it is idle, not queued), and prints the growth of the process's
//! resident set divided by the task count: the task's header and stage, its registry entry,
//! the run queue's room for it, and the allocator's overhead.
//!
//! Run: `cargo bench -p ringbolt-benches --bench task_rss [-- --tasks N]`

use ringbolt::runtime as rb;

/// The process's resident set in bytes (`/proc/self/statm`, second field, in pages).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm resident field");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).expect("page size")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut tasks = 1_000_000usize;
    while let Some(a) = args.next() {
        if a == "--tasks" {
            tasks = args.next().and_then(|v| v.parse().ok()).expect("--tasks N");
        }
    }
    // Stall detection off: spawning a million tasks is one long poll, which is the point.
    let rt = rb::Runtime::builder()
        .stall_threshold(None)
        .build()
        .expect("ringbolt runtime");
    let (before, after) = rt.block_on(async move {
        // Let the runtime settle (its own first allocations) before measuring.
        rb::task::yield_now().await;
        let before = rss_bytes();
        for _ in 0..tasks {
            drop(rb::spawn(std::future::pending::<()>()));
        }
        // Every task runs once and parks before the runtime waits for the timer: none is left
        // in the run queue.
        rb::time::sleep(std::time::Duration::from_millis(20)).await;
        (before, rss_bytes())
    });
    let zst = std::mem::size_of_val(&std::future::pending::<()>());
    println!(
        "{tasks} idle tasks ({zst}-byte future): RSS +{} KiB = {:.1} B per task",
        (after - before) / 1024,
        (after - before) as f64 / tasks as f64
    );
}
