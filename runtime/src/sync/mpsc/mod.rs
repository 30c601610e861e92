//! Multi-producer, single-consumer channels between tasks on one core; the local counterpart of
//! `tokio::sync::mpsc`.
//!
//! Rules:
//! 1. Messages are received in the order they were queued; each is received at most once.
//! 2. A bounded channel's free slots are a FIFO [`Semaphore`](super::Semaphore): a sender takes a
//!    slot before queueing, the receiver frees it on receipt. A full channel makes `send` wait
//!    (back-pressure), and the longest-waiting sender gets the next free slot.
//! 3. Dropping or closing the receiver fails every waiting and later send, handing the value
//!    back; queued values can still be received after `close`, and are dropped with the receiver.
//! 4. Once every sender is dropped, `recv` drains what is queued, then returns `None`.
//! 5. A `send` future dropped while waiting leaves the queue and passes on a slot it was handed.
//!
//! # Examples
//!
//! ```
//! use ringbolt_runtime::sync::mpsc;
//!
//! # fn main() -> std::io::Result<()> {
//! ringbolt_runtime::Runtime::new()?.block_on(async {
//!     let (tx, mut rx) = mpsc::channel(4);
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         ringbolt_runtime::spawn(async move {
//!             for i in 0..10 {
//!                 tx.send((id, i)).await.expect("receiver alive");
//!             }
//!         });
//!     }
//!     drop(tx);
//!     let mut received = 0;
//!     while let Some((_id, _i)) = rx.recv().await {
//!         received += 1;
//!     }
//!     assert_eq!(received, 30);
//! });
//! # Ok(())
//! # }
//! ```
//!
//! The halves stay on their core:
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_runtime::sync::mpsc::Sender<u32>>();
//! ```

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, Permit, Receiver, Sender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender};
