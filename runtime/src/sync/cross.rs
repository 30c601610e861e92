//! Channels between cores: the only way ringbolt's shared-nothing cores exchange values.
//!
//! Everything here is `Send` (when the message is): the halves are made before
//! [`Builder::launch`](crate::Builder::launch) and moved or cloned into each core's closure, or
//! sent inside messages. They are built on `std::sync::Mutex` and [`Waker`](std::task::Waker);
//! a ringbolt waker woken from another core queues the task on its own core and rings that
//! core's io_uring.
//!
//! | item | use it to |
//! |---|---|
//! | [`channel`] | a bounded multi-producer, single-consumer queue with back-pressure |
//! | [`mesh`] | give every core a sender to every core and one receiver of its own |
//! | [`oneshot`] | send one reply back to the core that asked |
//!
//! Rules:
//! 1. **One wake per batch.** A send wakes the receiver only if the receiver is parked on an
//!    empty queue; the wake also clears the parked mark, so the messages that follow before
//!    the receiver runs again cost no wake at all.
//! 2. **The receiver drains in batches.** When its local buffer is empty it takes the whole
//!    shared queue in one lock; later `recv`s pop from the local buffer without locking.
//! 3. **Back-pressure is exact.** At most `capacity` messages are sent and not yet received; a
//!    send on a full channel waits, and every received message frees one slot and wakes one
//!    waiting sender (a sender waiting on another core is woken through its ring).
//! 4. **Per-sender order is kept**: messages from one sender arrive in the order sent.
//! 5. **Closing.** When the receiver is dropped or closed, waiting and later sends fail and
//!    hand the value back; when every sender is gone, `recv` drains what is queued, then
//!    returns `None`.
//! 6. **A wake to a core that has shut down is harmless**: the runtime drops it.
//!
//! # Examples
//!
//! ```
//! use ringbolt_runtime::sync::cross;
//!
//! let (tx, rx) = cross::channel::<u64>(128);
//! // Each half goes to the one core that uses it.
//! let tx = std::sync::Mutex::new(Some(tx));
//! let rx = std::sync::Mutex::new(Some(rx));
//! let sums = ringbolt_runtime::Runtime::builder().cores(2).launch(|core| {
//!     let tx = if core == 0 { tx.lock().unwrap().take() } else { None };
//!     let rx = if core == 1 { rx.lock().unwrap().take() } else { None };
//!     async move {
//!         if let Some(tx) = tx {
//!             for i in 1..=1000 {
//!                 tx.send(i).await.expect("receiver alive");
//!             }
//!         }
//!         let mut sum = 0;
//!         if let Some(mut rx) = rx {
//!             // `None` once the sender is dropped and everything was received.
//!             while let Some(v) = rx.recv().await {
//!                 sum += v;
//!             }
//!         }
//!         sum
//!     }
//! })?;
//! assert_eq!(sums, vec![0, 500_500]);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The halves cross threads when the message type does:
//!
//! ```
//! use ringbolt_runtime::sync::cross;
//! fn assert_send_sync<T: Send + Sync>() {}
//! fn assert_send<T: Send>() {}
//! assert_send_sync::<cross::Sender<Vec<u8>>>();
//! assert_send::<cross::Receiver<Vec<u8>>>();
//! assert_send_sync::<cross::Mesh<String>>();
//! ```
//!
//! ```compile_fail
//! use ringbolt_runtime::sync::cross;
//! fn assert_send<T: Send>() {}
//! assert_send::<cross::Sender<std::rc::Rc<u8>>>(); // an `Rc` must not reach another core
//! ```

mod channel;
mod mesh;
pub mod oneshot;

pub use super::mpsc::error::{SendError, TryRecvError, TrySendError};
pub use channel::{channel, Receiver, Sender};
pub use mesh::{mesh, Mesh, Peer};
