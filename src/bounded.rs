//! A map shared by every request that remembers at most a fixed number of entries: when
//! full, it starts afresh, and its users compute again what they lost. The lock is taken
//! over if a holder panicked: each insert, removal or clearing either completes or never
//! starts, so the map stays valid.
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

pub struct BoundedMap<K, V> {
    max: usize,
    entries: Mutex<HashMap<K, V>>,
}

impl<K: Eq + Hash, V: Clone> BoundedMap<K, V> {
    pub fn new(max: usize) -> Self {
        BoundedMap {
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, V>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.lock().get(key).cloned()
    }

    /// Puts `make()` under `key`, unless `keep(entry)` says the entry there stays. A new
    /// key in a full map empties it first.
    pub fn put(&self, key: K, keep: impl FnOnce(&V) -> bool, make: impl FnOnce() -> V) {
        let mut entries = self.lock();
        if entries.get(&key).is_some_and(keep) {
            return;
        }
        if entries.len() >= self.max && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, make());
    }

    pub fn remove<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.lock().remove(key);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K, V> std::fmt::Debug for BoundedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedMap")
            .field("max", &self.max)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedMap;

    #[test]
    fn a_full_map_starts_afresh_for_a_new_key_only() {
        let m = BoundedMap::new(2);
        m.put(1, |_| false, || "a");
        m.put(2, |_| false, || "b");
        // Replacing a key kept does not empty it.
        m.put(2, |_| false, || "c");
        assert_eq!((m.len(), m.get(&1), m.get(&2)), (2, Some("a"), Some("c")));
        m.put(3, |_| false, || "d");
        assert_eq!((m.len(), m.get(&1), m.get(&3)), (1, None, Some("d")));
    }

    #[test]
    fn an_entry_that_should_stay_is_not_replaced() {
        let m = BoundedMap::new(4);
        m.put("k", |_| false, || 5);
        m.put("k", |old| *old > 3, || 1);
        assert_eq!(m.get("k"), Some(5));
        m.put("k", |old| *old > 9, || 1);
        assert_eq!(m.get("k"), Some(1));
        m.remove("k");
        assert!(m.is_empty());
    }
}
