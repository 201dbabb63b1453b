/**
 * Deterministic sampling: whether an event is replayed against a candidate depends only on
 * the event id, the rate and the salt, so every replica and every re-replay of a partition
 * picks the same events.
 *
 * The hash is 32-bit FNV-1a over the UTF-8 bytes of `salt`, a NUL byte and `eventId`,
 * followed by the murmur3 finaliser (FNV-1a alone leaves the high bits of sequential ids
 * poorly mixed). The result mapped to [0, 1) is compared with `rate`.
 */
export function sampled(eventId: string, rate: number, salt = ''): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  return sampleKey(eventId, salt) < rate;
}

/** The event's position in [0, 1) for the given salt; exposed for tests and diagnostics. */
export function sampleKey(eventId: string, salt = ''): number {
  let h = 0x811c9dc5;
  h = fnv1aUtf8(h, salt);
  h = Math.imul(h, 0x01000193); // the NUL separator: xor with 0 is a no-op
  h = fnv1aUtf8(h, eventId);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

function fnv1aUtf8(hash: number, s: string): number {
  let h = hash;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    // Encode to UTF-8 inline so ids hash the same as in any other language.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    // Lone surrogates encode as U+FFFD, as TextEncoder does.
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    const bytes =
      c < 0x800
        ? [0xc0 | (c >> 6), 0x80 | (c & 0x3f)]
        : c < 0x10000
          ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
          : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  }
  return h;
}
