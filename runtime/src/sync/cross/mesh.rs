//! A full mesh of cross-core channels: one receiver per core, and on every core a sender to
//! every core.

use super::{channel, Receiver, SendError, Sender};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// Creates a mesh of `cores` bounded channels of `capacity` messages each.
///
/// Build it before [`Builder::launch`](crate::Builder::launch) and let each core take its
/// endpoint with [`Mesh::join`]. The mesh keeps its own senders only until every core has
/// joined, so once every [`Peer`] is dropped the receivers see the channel close.
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
/// let mesh = cross::mesh::<(usize, u32)>(2, 64);
/// let got = ringbolt_runtime::Runtime::builder().cores(2).launch(|core| {
///     let mut peer = mesh.join(core).expect("each core joins once");
///     async move {
///         let other = 1 - peer.core();
///         peer.send_to(other, (peer.core(), 42)).await.expect("peer alive");
///         peer.recv().await
///     }
/// })?;
/// assert_eq!(got, vec![Some((1, 42)), Some((0, 42))]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn mesh<T>(cores: usize, capacity: usize) -> Mesh<T> {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..cores)
        .map(|_| {
            let (tx, rx) = channel(capacity);
            (tx, Some(rx))
        })
        .unzip();
    Mesh {
        state: Mutex::new(MeshState {
            senders,
            receivers,
            joined: 0,
        }),
        cores,
    }
}

/// The endpoints of a [`mesh`] not yet taken by their core. `Sync` for `T: Send`, so a
/// `launch` closure can borrow it.
pub struct Mesh<T> {
    state: Mutex<MeshState<T>>,
    cores: usize,
}

struct MeshState<T> {
    senders: Vec<Sender<T>>,
    receivers: Vec<Option<Receiver<T>>>,
    joined: usize,
}

impl<T> Mesh<T> {
    fn lock(&self) -> MutexGuard<'_, MeshState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of cores in the mesh.
    pub fn cores(&self) -> usize {
        self.cores
    }

    /// Takes core `core`'s endpoint: its receiver and a sender to every core (itself
    /// included). `None` if `core` is out of range or already joined.
    pub fn join(&self, core: usize) -> Option<Peer<T>> {
        let mut st = self.lock();
        let receiver = st.receivers.get_mut(core)?.take()?;
        let senders = st.senders.clone();
        st.joined += 1;
        if st.joined == self.cores {
            // Every core holds its senders now: let the receivers close when the peers go.
            st.senders.clear();
        }
        Some(Peer {
            core,
            senders,
            receiver,
        })
    }
}

impl<T> fmt::Debug for Mesh<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("cross::Mesh")
            .field("cores", &self.cores)
            .finish()
    }
}

/// One core's endpoint of a [`mesh`]: a sender to every core and this core's receiver.
pub struct Peer<T> {
    core: usize,
    senders: Vec<Sender<T>>,
    receiver: Receiver<T>,
}

impl<T> Peer<T> {
    /// The core this endpoint belongs to.
    pub fn core(&self) -> usize {
        self.core
    }

    /// The number of cores in the mesh.
    pub fn cores(&self) -> usize {
        self.senders.len()
    }

    /// The sender to core `core` (clone it to hand it to a task), or `None` if out of range.
    pub fn sender(&self, core: usize) -> Option<&Sender<T>> {
        self.senders.get(core)
    }

    /// Senders to every core, indexed by core.
    pub fn senders(&self) -> &[Sender<T>] {
        &self.senders
    }

    /// Sends `value` to core `core`, waiting while its channel is full.
    ///
    /// # Errors
    ///
    /// Hands the value back if that core's receiver is gone or `core` is out of range.
    pub async fn send_to(&self, core: usize, value: T) -> Result<(), SendError<T>> {
        match self.senders.get(core) {
            Some(tx) => tx.send(value).await,
            None => Err(SendError(value)),
        }
    }

    /// Receives the next message sent to this core.
    pub async fn recv(&mut self) -> Option<T> {
        self.receiver.recv().await
    }

    /// This core's receiver.
    pub fn receiver(&mut self) -> &mut Receiver<T> {
        &mut self.receiver
    }

    /// Splits the endpoint into its senders (by core) and its receiver.
    pub fn into_parts(self) -> (Vec<Sender<T>>, Receiver<T>) {
        (self.senders, self.receiver)
    }
}

impl<T> fmt::Debug for Peer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("cross::Peer")
            .field("core", &self.core)
            .field("cores", &self.senders.len())
            .finish()
    }
}
