/**
 * Model outputs as they reach the middle: JSON text, parsed once, canonicalised for equality
 * and hashing.
 */
import stringify from 'fast-json-stable-stringify';

/** A model output parsed once, so one baseline can be compared with many candidates. */
export type ParsedOutput =
  | { readonly ok: true; readonly raw: string; readonly value: unknown }
  | { readonly ok: false; readonly raw: string | null };

/**
 * Parses a JSON-encoded model output; null (a failed call) and unparseable text give
 * `ok: false`. Python's json.dumps writes bare NaN / Infinity / -Infinity, which JSON cannot
 * hold: those are read as the strings "NaN", "Infinity", "-Infinity".
 */
export function parseOutput(json: string | null): ParsedOutput {
  if (json === null) return { ok: false, raw: null };
  try {
    return { ok: true, raw: json, value: JSON.parse(json) as unknown };
  } catch {
    // The slow path runs only for text that already failed, so well-formed outputs pay nothing.
    const quoted = quoteNonFiniteTokens(json);
    if (quoted !== null) {
      try {
        return { ok: true, raw: json, value: JSON.parse(quoted) as unknown };
      } catch {
        // fall through: unparseable for another reason
      }
    }
    return { ok: false, raw: json };
  }
}

const NON_FINITE = ['NaN', 'Infinity', '-Infinity'] as const;

/** Rewrites bare NaN / Infinity / -Infinity outside strings as JSON strings; null if none. */
export function quoteNonFiniteTokens(text: string): string | null {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i += 1;
      else if (ch === 0x22 /* " */) inString = false;
      continue;
    }
    if (ch === 0x22) {
      inString = true;
      continue;
    }
    if (ch !== 0x4e /* N */ && ch !== 0x49 /* I */ && ch !== 0x2d /* - */) continue;
    const token = NON_FINITE.find((t) => text.startsWith(t, i));
    if (token === undefined) continue;
    out += `${text.slice(last, i)}"${token}"`;
    i += token.length - 1;
    last = i + 1;
  }
  return last === 0 ? null : out + text.slice(last);
}

/**
 * Canonical JSON: keys sorted, no whitespace, numbers as JavaScript prints them (so `1.0`
 * and `1` are the same). `undefined` prints as `null`.
 */
export function canonicalJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

/**
 * A short stable hash of an output: FNV-1a 64 (16 hex digits) of its canonical JSON, so key
 * order and whitespace do not change it. Unparseable text is hashed as is; null gives ''.
 */
export function outputHash(json: string | null): string {
  const parsed = parseOutput(json);
  if (parsed.raw === null) return '';
  return fnv1a64(parsed.ok ? canonicalJson(parsed.value) : parsed.raw);
}

/** FNV-1a 64 over the UTF-8 bytes of `text`, as 16 lowercase hex digits. */
export function fnv1a64(text: string): string {
  // The 64-bit state as two uint32 halves: BigInt would be ~20x slower per byte.
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  const byte = (b: number): void => {
    const x = (lo ^ b) >>> 0;
    // prime = 2^40 + 0x1b3: multiply the low half by 0x1b3, and add the shifted terms to hi.
    const t = x * 0x1b3;
    hi = (hi * 0x1b3 + x * 0x100 + Math.floor(t / 0x1_0000_0000)) >>> 0;
    lo = t >>> 0;
  };
  for (let i = 0; i < text.length; i += 1) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      byte(c);
      continue;
    }
    if (c < 0x800) {
      byte(0xc0 | (c >> 6));
      byte(0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i += 1;
        byte(0xf0 | (c >> 18));
        byte(0x80 | ((c >> 12) & 0x3f));
        byte(0x80 | ((c >> 6) & 0x3f));
        byte(0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
    }
    byte(0xe0 | (c >> 12));
    byte(0x80 | ((c >> 6) & 0x3f));
    byte(0x80 | (c & 0x3f));
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
