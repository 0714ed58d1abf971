/**
 * Sets an entry of a cache held in a Map of at most `max` entries. A Map keeps insertion order, so
 * when full the oldest entry goes: it is simply looked up again, while emptying the whole cache
 * would send every caller to the database at once. The entry set is the newest.
 */
export function setBounded<K, V>(entries: Map<K, V>, key: K, value: V, max: number): void {
  entries.delete(key);
  if (entries.size >= max) entries.delete(entries.keys().next().value!);
  entries.set(key, value);
}
