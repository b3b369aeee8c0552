//! A bounded cache of unwrapped data keys.
//!
//! Unwrapping a data key costs a database read and an AES-GCM operation;
//! caching the most recently used keys avoids that on hot paths while the
//! bound limits how many plaintext keys sit in memory. [`DataKey`] wipes its
//! material on drop, so an evicted or removed key is zeroized as soon as the
//! last `Arc` to it is gone.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lru::LruCache;
use uuid::Uuid;

use crate::envelope::DataKey;

/// Least-recently-used cache of data keys, keyed by data key id.
#[derive(Debug)]
pub struct DataKeyCache {
    inner: Mutex<LruCache<Uuid, Arc<DataKey>>>,
}

impl DataKeyCache {
    /// A cache holding at most `capacity` keys.
    #[must_use]
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            inner: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// A poisoned lock only means another thread panicked mid-operation;
    /// the LRU is still structurally valid, so recover instead of panicking.
    fn lock(&self) -> MutexGuard<'_, LruCache<Uuid, Arc<DataKey>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached key with this id, marking it most recently used.
    #[must_use]
    pub fn get(&self, id: Uuid) -> Option<Arc<DataKey>> {
        self.lock().get(&id).cloned()
    }

    /// Caches `key` (replacing any key with the same id), evicting the least
    /// recently used key if full. Returns the shared handle.
    pub fn insert(&self, key: DataKey) -> Arc<DataKey> {
        let key = Arc::new(key);
        self.lock().put(key.id(), Arc::clone(&key));
        key
    }

    /// Forgets the key with this id, e.g. when its subject is erased.
    pub fn remove(&self, id: Uuid) {
        // Drop outside the lock is not needed: dropping only zeroizes.
        self.lock().pop(&id);
    }

    /// Forgets every key, e.g. after root-key rotation or on shutdown.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Number of cached keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache holds no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::random::DeterministicRandom;

    fn key(n: u128, rng: &DeterministicRandom) -> DataKey {
        DataKey::generate(Uuid::from_u128(n), rng).unwrap()
    }

    #[test]
    fn evicts_least_recently_used_at_capacity() {
        let rng = DeterministicRandom::new(50);
        let cache = DataKeyCache::new(NonZeroUsize::new(2).unwrap());
        assert!(cache.is_empty());
        cache.insert(key(1, &rng));
        cache.insert(key(2, &rng));
        assert_eq!(cache.len(), 2);
        // Touch 1 so 2 becomes least recently used.
        assert!(cache.get(Uuid::from_u128(1)).is_some());
        cache.insert(key(3, &rng));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(Uuid::from_u128(2)).is_none());
        assert!(cache.get(Uuid::from_u128(1)).is_some());
        assert!(cache.get(Uuid::from_u128(3)).is_some());
    }

    #[test]
    fn insert_get_remove_clear() {
        let rng = DeterministicRandom::new(51);
        let cache = DataKeyCache::new(NonZeroUsize::new(8).unwrap());
        let k = cache.insert(key(7, &rng));
        let got = cache.get(Uuid::from_u128(7)).unwrap();
        assert!(Arc::ptr_eq(&k, &got));
        assert_eq!(got.id(), Uuid::from_u128(7));
        cache.remove(Uuid::from_u128(7));
        assert!(cache.get(Uuid::from_u128(7)).is_none());
        // Outstanding handles stay usable after removal.
        assert_eq!(k.id(), Uuid::from_u128(7));
        cache.insert(key(8, &rng));
        cache.insert(key(9, &rng));
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn replacing_same_id_keeps_one_entry() {
        let rng = DeterministicRandom::new(52);
        let cache = DataKeyCache::new(NonZeroUsize::new(4).unwrap());
        let first = cache.insert(key(1, &rng));
        let second = cache.insert(key(1, &rng));
        assert_eq!(cache.len(), 1);
        assert!(Arc::ptr_eq(
            &cache.get(Uuid::from_u128(1)).unwrap(),
            &second
        ));
        assert!(!Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn poisoned_lock_does_not_panic() {
        let rng = DeterministicRandom::new(53);
        let cache = Arc::new(DataKeyCache::new(NonZeroUsize::new(4).unwrap()));
        cache.insert(key(1, &rng));
        let c = Arc::clone(&cache);
        let _ = std::thread::spawn(move || {
            let _guard = c.inner.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(cache.inner.is_poisoned());
        assert_eq!(cache.len(), 1);
        assert!(cache.get(Uuid::from_u128(1)).is_some());
    }

    #[test]
    fn debug_does_not_print_keys() {
        let rng = DeterministicRandom::new(54);
        let cache = DataKeyCache::new(NonZeroUsize::new(4).unwrap());
        cache.insert(key(1, &rng));
        let text = format!("{cache:?}");
        assert!(text.contains("len: 1"), "{text}");
        assert!(!text.contains("material"), "{text}");
    }
}
