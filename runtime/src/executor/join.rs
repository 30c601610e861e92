//! `JoinHandle` and `JoinError`.

use super::task::{TaskRef, CANCELLED, COMPLETE, JOIN_INTEREST, RUNNING, SCHEDULED};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a task did not produce its output.
pub struct JoinError {
    /// `None`: cancelled. A panic payload is boxed once more so that a `JoinError` is one
    /// word: it sits in every task's stage (as `Result<T, JoinError>`), panics are rare.
    panic: Option<Box<Box<dyn Any + Send + 'static>>>,
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError { panic: None }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            panic: Some(Box::new(payload)),
        }
    }

    /// The task was aborted, or its runtime shut down before it finished.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the task was cancelled rather than panicking; see [`JoinError::try_into_panic`].
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(p) => p,
            Err(_) => panic!("JoinError::into_panic on a cancelled task"),
        }
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.panic {
            Some(p) => Ok(*p),
            None => Err(self),
        }
    }

    /// The panic message, when the payload is a string.
    pub fn panic_message(&self) -> Option<&str> {
        let p: &(dyn Any + Send) = &***self.panic.as_ref()?;
        p.downcast_ref::<&'static str>()
            .copied()
            .or_else(|| p.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.panic, self.panic_message()) {
            (None, _) => f.write_str("task was cancelled"),
            (Some(_), Some(m)) => write!(f, "task panicked: {m}"),
            (Some(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.panic {
            None => f.write_str("JoinError::Cancelled"),
            Some(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e.to_string())
    }
}

/// An owned permission to await a spawned task's output.
///
/// Awaiting it yields `Ok(output)`, or `Err(JoinError)` if the task panicked or was aborted.
/// Dropping it detaches the task, which keeps running. `!Send`, like the task.
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let rt = ringbolt_runtime::Runtime::new().unwrap();
/// rt.block_on(async { assert_send(ringbolt_runtime::spawn(async {})) });
/// ```
pub struct JoinHandle<T> {
    task: TaskRef,
    _marker: PhantomData<(T, *const ())>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: TaskRef) -> Self {
        JoinHandle {
            task,
            _marker: PhantomData,
        }
    }

    /// Asks the task to stop: its future is dropped at the executor's next turn (at once if it
    /// is waiting), which cancels the I/O it was waiting on. Awaiting the handle afterwards
    /// yields a cancelled `JoinError`, unless the task had already finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = ringbolt_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let h = ringbolt_runtime::spawn(ringbolt_runtime::time::sleep(Duration::from_secs(60)));
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abort(&self) {
        let h = self.task.header();
        let state = h.state.get();
        if state & (COMPLETE | CANCELLED) != 0 {
            return;
        }
        h.state.set(state | CANCELLED);
        if state & (SCHEDULED | RUNNING) == 0 {
            super::schedule(self.task.clone_ref());
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.header().state.get() & COMPLETE != 0
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let h = self.task.header();
        if h.state.get() & COMPLETE != 0 {
            let mut out: Option<Result<T, JoinError>> = None;
            // SAFETY: owner thread (JoinHandle is !Send); `out` has the task's output type.
            unsafe {
                self.task
                    .take_output((&mut out as *mut Option<Result<T, JoinError>>).cast())
            };
            return Poll::Ready(out.unwrap_or_else(|| Err(JoinError::cancelled())));
        }
        let old = h.join_waker.take();
        let w = match old {
            Some(w) if w.will_wake(cx.waker()) => w,
            _ => cx.waker().clone(),
        };
        h.join_waker.set(Some(w));
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let h = self.task.header();
        let state = h.state.get();
        h.state.set(state & !JOIN_INTEREST);
        drop(h.join_waker.take());
        if state & COMPLETE != 0 {
            self.task.drop_stage();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
