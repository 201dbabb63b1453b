/**
 * Candidates read their output and place the event input with core's JSON path dialect
 * (`$`, `.key`, `[index]`, `['key']`), without wildcards: each path points at one value.
 */
import { getPathSegments, hasWildcard, parsePath, type PathSegment } from '@umbra/core/domain';

export type JsonPath = readonly PathSegment[];

/** Parses a path; bad syntax or a wildcard throws an error naming the position (config validation names the field). */
export function parseJsonPath(path: string): JsonPath {
  const segments = parsePath(path);
  if (hasWildcard(segments)) throw new Error(`a wildcard cannot select one value in ${JSON.stringify(path)}`);
  return segments;
}

/** The value at `path`, or `undefined` when any step is missing. */
export const selectJsonPath: (value: unknown, path: JsonPath) => unknown = getPathSegments;
