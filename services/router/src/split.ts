/**
 * Who gets which arm. A sticky key hashes to a fixed point in [0, 100); the key is on the
 * canary iff its point lies below the canary weight. The point never moves, so as the weight
 * grows users only move stable → canary, and as it shrinks only canary → stable.
 */

/** FNV-1a over UTF-16 code units, then the murmur3 finaliser to spread near-identical keys. */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key's point in [0, 100). */
export function bucketOf(key: string): number {
  return (hash32(key) / 0x1_0000_0000) * 100;
}

/** True when the key's traffic goes to the canary at this weight (0..100). */
export function onCanary(key: string, weight: number): boolean {
  return bucketOf(key) < weight;
}
