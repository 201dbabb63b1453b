/**
 * The small JSON path subset candidates use to pick their output and to place the event
 * input in a request body: `$`, `.key`, `[index]`, `['key']` / `["key"]`.
 * Filters, wildcards and recursive descent are deliberately out of scope.
 */
export type JsonPath = readonly (string | number)[];

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/** Parses a path; throws `Error` with the position on bad syntax (config validation names the field). */
export function parseJsonPath(path: string): JsonPath {
  if (!path.startsWith('$')) throw new Error(`a JSON path starts with "$", got "${path}"`);
  const segments: (string | number)[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      const m = IDENT.exec(path.slice(i + 1));
      if (!m) throw new Error(`expected a key after "." at ${i} in "${path}"`);
      segments.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new Error(`unclosed "[" at ${i} in "${path}"`);
      const inner = path.slice(i + 1, close);
      if (/^\d+$/.test(inner)) segments.push(Number(inner));
      else if (/^'[^']*'$/.test(inner) || /^"[^"]*"$/.test(inner)) segments.push(inner.slice(1, -1));
      else throw new Error(`expected an index or a quoted key in "[${inner}]" in "${path}"`);
      i = close + 1;
    } else {
      throw new Error(`unexpected "${c}" at ${i} in "${path}"`);
    }
  }
  return segments;
}

/** The value at `path`, or `undefined` when any step is missing. */
export function selectJsonPath(value: unknown, path: JsonPath): unknown {
  let cur: unknown = value;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return undefined;
      cur = cur[seg];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return cur;
}
