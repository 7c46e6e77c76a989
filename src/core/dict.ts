/**
 * Dictionaries keyed by names read from files or typed by users (metrics, tags, rewards, columns, keys): no prototype,
 * so that `__proto__`, `constructor` or `toString` is just a name (docs/ARCHITECTURE.md, "Names are data").
 */

/** A null-prototype object with these entries. */
export function dict<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** Whether `o` has its own property `k` (never one it inherits). */
export function has(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** o[k] when `o` has it as its own property, else `dflt`. */
export function own<T>(o: Readonly<Record<string, T>>, k: string, dflt: T): T {
  return has(o, k) ? o[k] : dflt;
}
