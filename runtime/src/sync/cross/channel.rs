//! The bounded cross-core MPSC channel (its rules are in the parent module's docs).

use super::{SendError, TryRecvError, TrySendError};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Creates a bounded channel whose halves may live on different cores: at most `capacity`
/// messages are in flight, and a send on a full channel waits for the receiver.
///
/// # Panics
///
/// Panics if `capacity` is 0.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::sync::cross;
///
/// let (tx, mut rx) = cross::channel(2);
/// std::thread::spawn(move || {
///     ringbolt_runtime::Runtime::new()?.block_on(async {
///         for word in ["from", "another", "core"] {
///             tx.send(word).await.expect("receiver alive");
///         }
///     });
///     Ok::<(), std::io::Error>(())
/// });
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let words = rt.block_on(async {
///     let mut words = Vec::new();
///     while let Some(w) = rx.recv().await {
///         words.push(w);
///     }
///     words
/// });
/// assert_eq!(words, ["from", "another", "core"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "cross::channel capacity must be at least 1");
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::with_capacity(capacity.min(1024)),
            rx_waker: None,
            waiters: BTreeMap::new(),
            next_waiter: 0,
            senders: 1,
        }),
        in_flight: AtomicUsize::new(0),
        senders_waiting: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        capacity,
    });
    let rx = Receiver {
        shared: shared.clone(),
        buf: VecDeque::with_capacity(capacity.min(1024)),
    };
    (Sender { shared }, rx)
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Messages sent and not yet received: the slots taken, at most `capacity` (rule 3).
    in_flight: AtomicUsize,
    /// Some sender is registered in `State::waiters`. Written only under the lock.
    senders_waiting: AtomicBool,
    /// The receiver was closed or dropped. Written only under the lock.
    closed: AtomicBool,
    capacity: usize,
}

struct State<T> {
    queue: VecDeque<T>,
    /// `Some` exactly while the receiver is parked on an empty queue (rule 1).
    rx_waker: Option<Waker>,
    /// Senders waiting for a slot, by id: ids grow, so the oldest comes first.
    waiters: BTreeMap<u64, Waker>,
    next_waiter: u64,
    senders: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Every critical section leaves the state consistent before anything can panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one slot if the channel is not full.
    fn take_slot(&self) -> bool {
        let mut n = self.in_flight.load(SeqCst);
        while n < self.capacity {
            match self
                .in_flight
                .compare_exchange_weak(n, n + 1, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }

    /// Frees `n` slots and wakes as many waiting senders (rule 3). The `SeqCst` pair with
    /// `Send::poll` (flag store, then slot retry) means either the sender sees the free slot or
    /// we see its flag.
    fn free_slots(&self, n: usize) {
        self.in_flight.fetch_sub(n, SeqCst);
        if self.senders_waiting.load(SeqCst) {
            self.wake_senders(n);
        }
    }

    fn wake_senders(&self, n: usize) {
        let mut st = self.lock();
        let mut woken = Vec::with_capacity(n.min(st.waiters.len()));
        while woken.len() < n {
            match st.waiters.pop_first() {
                Some((_, w)) => woken.push(w),
                None => break,
            }
        }
        if st.waiters.is_empty() {
            self.senders_waiting.store(false, SeqCst);
        }
        drop(st);
        for w in woken {
            w.wake();
        }
    }

    /// Queues a value whose slot was taken; wakes the receiver if it is parked (rule 1).
    fn enqueue(&self, value: T) -> Result<(), SendError<T>> {
        let mut st = self.lock();
        if self.closed.load(SeqCst) {
            drop(st);
            self.in_flight.fetch_sub(1, SeqCst);
            return Err(SendError(value));
        }
        st.queue.push_back(value);
        let waker = st.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

/// The sending half of a [`channel`]: `Send` and `Sync` (for `T: Send`), clone it for every
/// core or task that sends.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends a value, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// Hands the value back if the receiver was dropped or closed.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        Send {
            shared: &self.shared,
            value: Some(value),
            waiter: None,
        }
        .await
    }

    /// Sends a value if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the channel is at capacity, [`TrySendError::Closed`] if the
    /// receiver was dropped or closed; both hand the value back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.shared.closed.load(SeqCst) {
            return Err(TrySendError::Closed(value));
        }
        if !self.shared.take_slot() {
            return Err(TrySendError::Full(value));
        }
        self.shared.enqueue(value).map_err(TrySendError::from)
    }

    /// Whether the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(SeqCst)
    }

    /// Free slots right now.
    pub fn capacity(&self) -> usize {
        self.shared
            .capacity
            .saturating_sub(self.shared.in_flight.load(SeqCst))
    }

    /// The capacity the channel was made with.
    pub fn max_capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Whether both senders feed the same receiver.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        let waker = if st.senders == 0 {
            st.rx_waker.take()
        } else {
            None
        };
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("cross::Sender")
            .field("in_flight", &self.shared.in_flight.load(SeqCst))
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

/// The future of [`Sender::send`].
struct Send<'a, T> {
    shared: &'a Shared<T>,
    /// `None` once the send finished.
    value: Option<T>,
    /// Our id in `State::waiters`, once we registered.
    waiter: Option<u64>,
}

// No field is structurally pinned.
impl<T> Unpin for Send<'_, T> {}

impl<T> Send<'_, T> {
    /// Leaves the waiter list. Returns false if a receiver had already removed (woken) us.
    fn unregister(&mut self, st: &mut State<T>) -> bool {
        let Some(id) = self.waiter.take() else {
            return true;
        };
        if st.waiters.remove(&id).is_none() {
            return false;
        }
        if st.waiters.is_empty() {
            self.shared.senders_waiting.store(false, SeqCst);
        }
        true
    }

    fn finish(&mut self, value: T, slot: bool) -> Poll<Result<(), SendError<T>>> {
        if self.waiter.is_some() {
            let shared = self.shared;
            self.unregister(&mut shared.lock());
        }
        if slot {
            Poll::Ready(self.shared.enqueue(value))
        } else {
            Poll::Ready(Err(SendError(value)))
        }
    }
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        let Some(value) = this.value.take() else {
            return Poll::Ready(Ok(()));
        };
        if shared.closed.load(SeqCst) {
            return this.finish(value, false);
        }
        if shared.take_slot() {
            return this.finish(value, true);
        }
        // Slow path: register, raise the flag, then retry once (see `Shared::free_slots`).
        let mut st = shared.lock();
        let registered = this.waiter.and_then(|id| st.waiters.get_mut(&id));
        match registered {
            Some(w) => w.clone_from(cx.waker()),
            None => {
                let id = st.next_waiter;
                st.next_waiter += 1;
                st.waiters.insert(id, cx.waker().clone());
                this.waiter = Some(id);
            }
        }
        shared.senders_waiting.store(true, SeqCst);
        let outcome = if shared.closed.load(SeqCst) {
            Some(false)
        } else if shared.take_slot() {
            Some(true)
        } else {
            None
        };
        if let Some(slot) = outcome {
            this.unregister(&mut st);
            drop(st);
            return this.finish(value, slot);
        }
        drop(st);
        this.value = Some(value);
        Poll::Pending
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if self.waiter.is_none() {
            return;
        }
        let shared = self.shared;
        let mut st = shared.lock();
        let still_queued = self.unregister(&mut st);
        drop(st);
        if !still_queued && self.value.is_some() {
            // A receiver woke us for a free slot we will never take: pass the wake on.
            shared.wake_senders(1);
        }
    }
}

/// The receiving half of a [`channel`]: one per channel, `Send`, owned by one task at a time.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The batch taken from the shared queue (rule 2).
    buf: VecDeque<T>,
}

impl<T> Receiver<T> {
    /// Receives the next message; `None` once every sender is gone (or the receiver was
    /// closed) and the queue is drained.
    pub async fn recv(&mut self) -> Option<T> {
        Recv {
            rx: self,
            parked: false,
        }
        .await
    }

    /// Polls for the next message, parking `cx`'s waker if the queue is empty.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(v) = self.buf.pop_front() {
            self.shared.free_slots(1);
            return Poll::Ready(Some(v));
        }
        let mut st = self.shared.lock();
        if st.queue.is_empty() {
            if st.senders == 0 || self.shared.closed.load(SeqCst) {
                return Poll::Ready(None);
            }
            match &mut st.rx_waker {
                Some(w) => w.clone_from(cx.waker()),
                slot => *slot = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        mem::swap(&mut st.queue, &mut self.buf);
        st.rx_waker = None;
        drop(st);
        let v = self.buf.pop_front();
        self.shared.free_slots(1);
        Poll::Ready(v)
    }

    /// Waits for at least one message, then moves up to `limit` into `buffer`; returns how
    /// many (0 only when the channel is closed and drained, or `limit` is 0).
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        let Some(first) = self.recv().await else {
            return 0;
        };
        buffer.push(first);
        let n = self.buf.len().min(limit - 1);
        buffer.extend(self.buf.drain(..n));
        if n > 0 {
            self.shared.free_slots(n);
        }
        n + 1
    }

    /// Receives a message if one is queued.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is queued but senders remain,
    /// [`TryRecvError::Disconnected`] if nothing is queued and nothing can arrive.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(v) = self.buf.pop_front() {
            self.shared.free_slots(1);
            return Ok(v);
        }
        let mut st = self.shared.lock();
        if st.queue.is_empty() {
            return if st.senders == 0 || self.shared.closed.load(SeqCst) {
                Err(TryRecvError::Disconnected)
            } else {
                Err(TryRecvError::Empty)
            };
        }
        mem::swap(&mut st.queue, &mut self.buf);
        drop(st);
        match self.buf.pop_front() {
            Some(v) => {
                self.shared.free_slots(1);
                Ok(v)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses further sends (waiting senders get their value back); what is already queued
    /// can still be received.
    pub fn close(&mut self) {
        let mut st = self.shared.lock();
        self.shared.closed.store(true, SeqCst);
        let waiters = mem::take(&mut st.waiters);
        self.shared.senders_waiting.store(false, SeqCst);
        drop(st);
        for w in waiters.into_values() {
            w.wake();
        }
    }

    /// Whether the receiver was closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(SeqCst)
    }

    /// Messages sent and not yet received.
    pub fn len(&self) -> usize {
        self.shared.in_flight.load(SeqCst)
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity the channel was made with.
    pub fn max_capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        let queued = {
            let mut st = self.shared.lock();
            st.rx_waker = None;
            mem::take(&mut st.queue)
        };
        // Messages are dropped outside the lock: their destructors may do anything.
        drop(queued);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("cross::Receiver")
            .field("in_flight", &self.shared.in_flight.load(SeqCst))
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

/// The future of [`Receiver::recv`]; unparks the receiver if dropped while parked.
struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    parked: bool,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let out = this.rx.poll_recv(cx);
        this.parked = out.is_pending();
        out
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if self.parked {
            self.rx.shared.lock().rx_waker = None;
        }
    }
}
