/**
 * Maps and sets that peer input fills, kept to a size: past `max` the
 * oldest entry (insertion order) is forgotten first. Each keeps what the
 * node remembers bounded however many threads, signers or receipts peers
 * make up.
 */

/** Set `key` in `map`, first forgetting the oldest entry when the map is full and `key` is new. */
export function setBounded<K, V> (map: Map<K, V>, key: K, value: V, max: number): Map<K, V> {
  if (!map.has(key) && map.size >= max) forgetOldest(map)
  return map.set(key, value)
}

/** Add `member` to `set`, first forgetting the oldest member when the set is full and `member` is new. */
export function addBounded<T> (set: Set<T>, member: T, max: number): Set<T> {
  if (!set.has(member) && set.size >= max) forgetOldest(set)
  return set.add(member)
}

function forgetOldest<K> (collection: { keys: () => IterableIterator<K>, delete: (key: K) => boolean }): void {
  const oldest = collection.keys().next()
  if (oldest.done !== true) collection.delete(oldest.value)
}
