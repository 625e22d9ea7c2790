//! An in-process queue per time slot for the writes that change its seat count.
//!
//! On PostgreSQL every booking, cancel and reschedule of one slot updates that slot's row. At
//! SERIALIZABLE, two such transactions in flight at once cannot both commit: the second waits
//! for the first's row lock and then fails with 40001, is retried, and with dozens of requests
//! on one popular slot the unlucky ones can run out of retries (a 503) while the database
//! burns CPU on work that is thrown away. Queueing them in the process instead lets each run
//! alone: it commits on its first try, and once the seats are gone every later request is
//! refused by one cheap statement. Several instances still race each other; the database's
//! checks and the retries keep that correct, this gate only keeps it cheap.
//!
//! The queues live in a map keyed by slot, created on first use and removed when the last
//! write on the slot leaves, so the map holds only the slots being written right now, and two
//! different slots never wait for each other.
//!
//! Waiting in the queue is a lock wait like any other: it is bounded by the database's lock
//! timeout (`DB_LOCK_TIMEOUT_MS`) and then answered 503, so requests piled up behind a slot
//! whose row another session holds are refused as promptly as the first of them.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};

type Queue = Arc<Mutex<()>>;

/// The queues of the slots being written, by slot.
pub struct SlotGate<K> {
    queues: std::sync::Mutex<HashMap<K, Queue>>,
    /// The longest wait for a turn.
    patience: Duration,
}

/// A write waited for its turn longer than the lock timeout.
#[derive(Debug, thiserror::Error)]
#[error("waited longer than the lock timeout for the slot's queue")]
pub struct GateTimeout;

impl From<GateTimeout> for crate::domain::DomainError {
    /// Answered 503 with `Retry-After`, like a lock timeout in the database.
    fn from(e: GateTimeout) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

/// The turn of one write on its slots; dropping it lets the next one go.
pub struct Turn<'a, K: Hash + Eq + Clone> {
    gate: &'a SlotGate<K>,
    keys: Vec<K>,
    held: Vec<OwnedMutexGuard<()>>,
}

impl<K: Hash + Eq + Clone + Ord> SlotGate<K> {
    /// Queues that give up waiting after `patience`.
    pub fn new(patience: Duration) -> Self {
        Self {
            queues: Default::default(),
            patience,
        }
    }

    /// Waits for the turn on every key (a reschedule holds two slots), at most the patience in
    /// all. Keys are taken in ascending order, so two writes on the same pair of slots cannot
    /// wait on each other.
    pub async fn enter(&self, keys: &[K]) -> Result<Turn<'_, K>, GateTimeout> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        let queues: Vec<Queue> = {
            let mut map = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            keys.iter()
                .map(|k| map.entry(k.clone()).or_default().clone())
                .collect()
        };
        // Registered before waiting, so a timed-out wait still removes what it added.
        let mut turn = Turn {
            gate: self,
            keys,
            held: Vec::with_capacity(queues.len()),
        };
        let wait = async {
            for q in queues {
                turn.held.push(q.lock_owned().await);
            }
        };
        tokio::time::timeout(self.patience, wait)
            .await
            .map_err(|_| GateTimeout)?;
        Ok(turn)
    }

    /// How many slots have a queue now.
    #[cfg(test)]
    fn queued_slots(&self) -> usize {
        self.queues.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl<K: Hash + Eq + Clone> Drop for Turn<'_, K> {
    fn drop(&mut self) {
        self.held.clear();
        let mut map = self.gate.queues.lock().unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            // Only the map's own reference left: nobody holds or waits for this queue.
            if map.get(k).is_some_and(|q| Arc::strong_count(q) == 1) {
                map.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn one_write_per_slot_at_a_time() {
        let gate = Arc::new(SlotGate::new(Duration::from_secs(60)));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _turn = gate.enter(&["slot"]).await.unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(gate.queued_slots(), 0);
    }

    #[tokio::test]
    async fn two_keys_in_either_order_do_not_deadlock() {
        let gate = Arc::new(SlotGate::new(Duration::from_secs(60)));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    let keys = if i % 2 == 0 { ["a", "b"] } else { ["b", "a"] };
                    let _turn = gate.enter(&keys).await.unwrap();
                    tokio::task::yield_now().await;
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_patience_gives_up_and_leaves_nothing() {
        let gate = SlotGate::new(Duration::from_millis(20));
        let first = gate.enter(&["slot"]).await.unwrap();
        assert!(gate.enter(&["slot"]).await.is_err());
        // Another slot does not wait for this one.
        drop(gate.enter(&["other"]).await.unwrap());
        assert_eq!(gate.queued_slots(), 1);
        drop(first);
        assert_eq!(gate.queued_slots(), 0);
    }
}
