//! `select!`: the first matching branch wins and the others are dropped; mismatches disable a
//! branch; preconditions, `else`, `biased;`, control flow in handlers, fairness.

use ringbolt_runtime::select;
use ringbolt_runtime::sync::mpsc;
use ringbolt_runtime::task::yield_now;
use ringbolt_runtime::time::{sleep, timeout};
use ringbolt_runtime::Runtime;
use std::cell::Cell;
use std::future::{pending, ready, Future};
use std::rc::Rc;
use std::time::Duration;

fn run<F: Future>(f: F) -> F::Output {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        timeout(Duration::from_secs(30), f)
            .await
            .expect("test deadlocked")
    })
}

struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn first_ready_wins_and_losers_are_dropped() {
    run(async {
        let dropped = Rc::new(Cell::new(false));
        let guard = DropFlag(dropped.clone());
        let v = select! {
            v = async move { let _g = guard; sleep(Duration::from_secs(60)).await; 1 } => v,
            v = async { sleep(Duration::from_millis(2)).await; 2 } => v * 10,
        };
        assert_eq!(v, 20);
        assert!(dropped.get(), "the losing future was dropped");
    });
}

#[test]
fn mismatch_disables_branch_and_else_runs() {
    run(async {
        let v = select! {
            Some(x) = ready(None::<u32>) => x,
            Some(x) = async { yield_now().await; Some(5u32) } => x + 1,
        };
        assert_eq!(v, 6, "a None disables its branch; the other still runs");

        let v = select! {
            Some(x) = ready(None::<u32>) => x,
            Ok(x) = ready(Err::<u32, ()>(())) => x,
            else => 99,
        };
        assert_eq!(v, 99);

        let v = select! {
            _ = pending::<()>(), if false => 1,
            else => 2,
        };
        assert_eq!(v, 2, "a false precondition disables the branch");
    });
}

#[test]
fn handlers_can_break_continue_and_bind_mut() {
    run(async {
        let (tx, mut rx) = mpsc::channel::<Vec<u32>>(4);
        ringbolt_runtime::spawn(async move {
            for i in 0..5 {
                tx.send(vec![i]).await.expect("receiver");
            }
        });
        let mut seen = Vec::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 100, "loop did not end");
            select! {
                Some(mut v) = rx.recv() => {
                    v.push(0);
                    if v[0] == 1 {
                        continue;
                    }
                    seen.push(v);
                }
                else => break,
            }
        }
        assert_eq!(seen, vec![vec![0, 0], vec![2, 0], vec![3, 0], vec![4, 0]]);
    });
}

#[test]
fn biased_polls_in_order_unbiased_rotates() {
    run(async {
        for _ in 0..10 {
            let v = select! {
                biased;
                _ = ready(()) => 0,
                _ = ready(()) => 1,
            };
            assert_eq!(v, 0);
        }
        let mut wins = [0u32; 2];
        for _ in 0..100 {
            let i = select! {
                _ = ready(()) => 0,
                _ = ready(()) => 1,
            };
            wins[i] += 1;
        }
        assert!(
            wins[0] > 10 && wins[1] > 10,
            "unbiased select starves a branch: {wins:?}"
        );
    });
}

#[test]
fn question_mark_and_return_in_handlers() {
    async fn parse(first: Result<u32, String>) -> Result<u32, String> {
        let v = select! {
            r = ready(first) => r?,
            _ = sleep(Duration::from_secs(60)) => return Err("slow".into()),
        };
        Ok(v * 2)
    }
    run(async {
        assert_eq!(parse(Ok(2)).await, Ok(4));
        assert_eq!(parse(Err("bad".into())).await, Err("bad".to_owned()));
    });
}

#[test]
#[should_panic(expected = "every branch is disabled")]
fn all_disabled_without_else_panics() {
    run(async {
        let _: u32 = select! {
            Some(x) = ready(None::<u32>) => x,
        };
    });
}

#[test]
fn patterns_with_alternatives_tuples_ref_and_mut() {
    run(async {
        let v = select! {
            Ok(1) | Ok(2) = ready(Ok::<u32, ()>(2)) => "one or two",
            else => "other",
        };
        assert_eq!(v, "one or two");
        let v = select! {
            biased;
            (a, mut b) = ready((1u32, vec![2u32])) => { b.push(a); b }
        };
        assert_eq!(v, vec![2, 1]);
        let v = select! {
            Some(ref s) = ready(Some(String::from("kept"))) => s.len(),
        };
        assert_eq!(v, 4);
        let v = select! {
            [first, .., last] = ready([1u8, 2, 3]) => u32::from(first + last),
        };
        assert_eq!(v, 4);
    });
}
