//! Hierarchical cancellation for tasks on one core; the local counterpart of
//! `tokio_util::sync::CancellationToken`.
//!
//! Rules:
//! 1. Clones of a token share one node; cancelling any clone cancels them all. Cancellation is
//!    permanent.
//! 2. [`CancellationToken::child_token`] makes a new node under this one. Cancelling a node
//!    cancels its whole subtree; cancelling a child never touches its parent or siblings.
//! 3. A node holds its children weakly and each child holds its parent strongly, so a subtree
//!    stays reachable from its ancestors even after the tokens in between are dropped. A dropped
//!    child unregisters itself.
//! 4. Each node wakes its waiters with a [`Notify`] (`notify_waiters`), so a dropped
//!    `cancelled()` future has nothing to pass on.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use slab::Slab;

use super::notify::{Notified, Notify};

struct Node {
    cancelled: Cell<bool>,
    waiters: Notify,
    children: RefCell<Slab<Weak<Node>>>,
    /// The parent and this node's key in its `children` (rule 3).
    parent: Option<(Rc<Node>, usize)>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some((parent, key)) = &self.parent {
            // A cancelled parent has already cleared its children.
            parent.children.borrow_mut().try_remove(*key);
        }
    }
}

/// A token that tasks can wait on until it is cancelled.
///
/// Clones share one token. [`child_token`](Self::child_token) makes a token that is cancelled
/// with this one (and with its ancestors), while cancelling the child leaves this one alone.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::sync::CancellationToken;
///
/// # fn main() -> std::io::Result<()> {
/// ringbolt_runtime::Runtime::new()?.block_on(async {
///     let token = CancellationToken::new();
///     let child = token.child_token();
///     let worker = ringbolt_runtime::spawn(async move {
///         child.cancelled().await;
///         "stopped"
///     });
///     token.cancel();
///     assert_eq!(worker.await.expect("task completes"), "stopped");
/// });
/// # Ok(())
/// # }
/// ```
///
/// A token stays on its core:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::sync::CancellationToken>();
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Rc<Node>,
}

impl CancellationToken {
    /// A new token, not cancelled, with no parent.
    pub fn new() -> Self {
        CancellationToken {
            node: Rc::new(Node {
                cancelled: Cell::new(false),
                waiters: Notify::new(),
                children: RefCell::new(Slab::new()),
                parent: None,
            }),
        }
    }

    /// A token that is cancelled when this one is (or already cancelled, if this one is).
    ///
    /// Cancelling the child does not cancel this token.
    pub fn child_token(&self) -> CancellationToken {
        let parent = &self.node;
        if parent.cancelled.get() {
            let token = CancellationToken::new();
            token.node.cancelled.set(true);
            return token;
        }
        let node = Rc::new_cyclic(|weak| {
            let key = parent.children.borrow_mut().insert(weak.clone());
            Node {
                cancelled: Cell::new(false),
                waiters: Notify::new(),
                children: RefCell::new(Slab::new()),
                parent: Some((Rc::clone(parent), key)),
            }
        });
        CancellationToken { node }
    }

    /// Cancels this token and every token below it, waking all their waiters.
    pub fn cancel(&self) {
        let mut pending = vec![Rc::clone(&self.node)];
        while let Some(node) = pending.pop() {
            if node.cancelled.replace(true) {
                // Its subtree was cancelled with it.
                continue;
            }
            let children = std::mem::take(&mut *node.children.borrow_mut());
            pending.extend(
                children
                    .into_iter()
                    .filter_map(|(_, child)| child.upgrade()),
            );
            node.waiters.notify_waiters();
        }
    }

    /// True once this token (or an ancestor) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.get()
    }

    /// Completes once this token is cancelled.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            token: self,
            notified: self.node.waiters.notified(),
        }
    }

    /// Runs `future` until it completes (`Some(output)`) or this token is cancelled (`None`).
    ///
    /// If both are ready at once, cancellation wins.
    pub async fn run_until_cancelled<F: Future>(&self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut cancelled = self.cancelled();
        std::future::poll_fn(|cx| {
            if Pin::new(&mut cancelled).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            future.as_mut().poll(cx).map(Some)
        })
        .await
    }

    /// A guard that cancels this token when dropped, unless disarmed.
    pub fn drop_guard(self) -> DropGuard {
        DropGuard {
            token: self,
            armed: true,
        }
    }
}

impl Default for CancellationToken {
    fn default() -> Self {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Future returned by [`CancellationToken::cancelled`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellationFuture<'a> {
    token: &'a CancellationToken,
    notified: Notified<'a>,
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.token.is_cancelled() {
            return Poll::Ready(());
        }
        // `notify_waiters` is only called by `cancel`, after the flag is set (rule 4).
        Pin::new(&mut this.notified).poll(cx)
    }
}

impl fmt::Debug for WaitForCancellationFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFuture")
            .field("is_cancelled", &self.token.is_cancelled())
            .finish()
    }
}

/// Cancels its token when dropped; see [`CancellationToken::drop_guard`].
#[must_use = "the token is cancelled as soon as the guard is dropped"]
pub struct DropGuard {
    token: CancellationToken,
    armed: bool,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.armed = false;
        self.token.clone()
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if self.armed {
            self.token.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("armed", &self.armed)
            .finish()
    }
}
