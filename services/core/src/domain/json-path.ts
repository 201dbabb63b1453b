/**
 * A deliberately tiny JSON path dialect: `$`, `$.a.b`, `$.a[0].b`, `$['weird key']`,
 * `$["key"]`, plus the wildcard `[*]` / `.*` (one segment) for patterns such as ignorePaths.
 * No recursive descent, filters or slices: output specs only need to point at one value.
 */
import { UmbraError } from '../errors.ts';

export type PathSegment =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'wildcard' };

/** Characters allowed in a dotted name: anything but separators, quotes and whitespace. */
const NAME_CHAR = /[^.[\]'"\s]/;
/** Keys printed in dotted form; the rest are printed bracketed so that parse(format(p)) = p. */
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function invalid(path: string, position: number, reason: string): UmbraError {
  return new UmbraError(
    'CONFIG_INVALID',
    `invalid JSON path ${JSON.stringify(path)} at ${position}: ${reason}`,
    {
      context: { path, position, reason },
    },
  );
}

function parseUncached(path: string): PathSegment[] {
  if (path[0] !== '$') throw invalid(path, 0, "a path starts with '$'");
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < path.length) {
    const ch = path[i];
    if (ch === '.') {
      i += 1;
      if (path[i] === '*') {
        segments.push({ kind: 'wildcard' });
        i += 1;
        if (i < path.length && path[i] !== '.' && path[i] !== '[')
          throw invalid(path, i, "'*' must be a whole segment");
        continue;
      }
      const start = i;
      while (i < path.length && NAME_CHAR.test(path[i] as string) && path[i] !== '*') i += 1;
      if (i === start) throw invalid(path, start, 'expected a name after "."');
      if (path[i] === '*') throw invalid(path, i, "'*' must be a whole segment");
      segments.push({ kind: 'key', key: path.slice(start, i) });
    } else if (ch === '[') {
      i += 1;
      const open = path[i];
      if (open === "'" || open === '"') {
        let key = '';
        i += 1;
        for (;;) {
          if (i >= path.length) throw invalid(path, i, 'unterminated quoted key');
          const c = path[i] as string;
          if (c === '\\') {
            if (i + 1 >= path.length) throw invalid(path, i, 'dangling escape');
            key += path[i + 1];
            i += 2;
          } else if (c === open) {
            i += 1;
            break;
          } else {
            key += c;
            i += 1;
          }
        }
        segments.push({ kind: 'key', key });
      } else if (open === '*') {
        i += 1;
        segments.push({ kind: 'wildcard' });
      } else {
        const start = i;
        while (i < path.length && (path[i] as string) >= '0' && (path[i] as string) <= '9') i += 1;
        if (i === start) throw invalid(path, start, 'expected an index, a quoted key or *');
        const index = Number(path.slice(start, i));
        if (!Number.isSafeInteger(index)) throw invalid(path, start, 'index too large');
        segments.push({ kind: 'index', index });
      }
      if (path[i] !== ']') throw invalid(path, i, "expected ']'");
      i += 1;
    } else {
      throw invalid(path, i, `unexpected ${JSON.stringify(ch)}`);
    }
  }
  return segments;
}

// Object.hasOwn is slower than this on Node 20's V8, and it runs for every pair.
const hasOwn = Object.prototype.hasOwnProperty;

// Specs name a handful of paths that are read for every pair: parse each once.
const cache = new Map<string, readonly PathSegment[]>();
const CACHE_LIMIT = 1024;

/** Parses a path; throws UmbraError('CONFIG_INVALID') naming the position on bad syntax. */
export function parsePath(path: string): readonly PathSegment[] {
  const hit = cache.get(path);
  if (hit !== undefined) return hit;
  const segments = Object.freeze(parseUncached(path));
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(path, segments);
  return segments;
}

/** The printed form of one key segment, e.g. `.label` or `['weird key']`. */
export function formatKey(key: string): string {
  return IDENTIFIER.test(key)
    ? `.${key}`
    : `['${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
}

/** Canonical text of a path: `$["a"][0]` and `$.a[0]` both print as `$.a[0]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '$';
  for (const s of segments) {
    out += s.kind === 'key' ? formatKey(s.key) : s.kind === 'index' ? `[${s.index}]` : '[*]';
  }
  return out;
}

/** The value at `segments`, or undefined when any step is missing or of the wrong type. */
export function getPathSegments(value: unknown, segments: readonly PathSegment[]): unknown {
  let cur = value;
  for (const s of segments) {
    if (s.kind === 'key') {
      // Own properties only: `$.constructor` on {} must not reach Object.prototype.
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !hasOwn.call(cur, s.key))
        return undefined;
      cur = (cur as Record<string, unknown>)[s.key];
    } else if (s.kind === 'index') {
      if (!Array.isArray(cur) || s.index >= cur.length) return undefined;
      cur = cur[s.index];
    } else {
      throw new UmbraError('CONFIG_INVALID', 'a wildcard path cannot be read as a single value', {
        context: { path: formatPath(segments) },
      });
    }
  }
  return cur;
}

/**
 * The value at `path` in a parsed JSON value, or undefined when it is absent.
 * Keys read objects only and indices read arrays only; throws CONFIG_INVALID on bad syntax.
 */
export function getPath(value: unknown, path: string): unknown {
  return getPathSegments(value, parsePath(path));
}

/** Whether `pattern` (which may hold wildcards) equals `path` or is a prefix of it. */
export function pathCovers(pattern: readonly PathSegment[], path: readonly PathSegment[]): boolean {
  if (pattern.length > path.length) return false;
  for (let i = 0; i < pattern.length; i += 1) {
    if (!segmentMatches(pattern[i] as PathSegment, path[i] as PathSegment)) return false;
  }
  return true;
}

export function segmentMatches(pattern: PathSegment, segment: PathSegment): boolean {
  if (pattern.kind === 'wildcard') return true;
  if (pattern.kind === 'key') return segment.kind === 'key' && segment.key === pattern.key;
  return segment.kind === 'index' && segment.index === pattern.index;
}

export function hasWildcard(segments: readonly PathSegment[]): boolean {
  return segments.some((s) => s.kind === 'wildcard');
}
