import { parseJsonPath, selectJsonPath, type JsonPath } from './json-path.ts';

/**
 * Request body templates: a JSON value in which every string "$input" or "$input<path>" is a
 * placeholder for that part of the parsed event input. Compiled once per candidate.
 */
export type CompiledTemplate = (input: unknown) => unknown;

const PLACEHOLDER = '$input';

function placeholderPath(s: string): JsonPath | null {
  if (!s.startsWith(PLACEHOLDER)) return null;
  return parseJsonPath('$' + s.slice(PLACEHOLDER.length));
}

/** The first bad placeholder with its position in the template, for config errors. */
export function findTemplateError(t: unknown, path: (string | number)[] = []): { path: (string | number)[]; message: string } | null {
  if (typeof t === 'string') {
    try {
      placeholderPath(t);
      return null;
    } catch (e) {
      return { path, message: `bad placeholder: ${(e as Error).message}` };
    }
  }
  if (Array.isArray(t)) {
    for (let i = 0; i < t.length; i++) {
      const err = findTemplateError(t[i], [...path, i]);
      if (err) return err;
    }
    return null;
  }
  if (t !== null && typeof t === 'object') {
    for (const [k, v] of Object.entries(t)) {
      const err = findTemplateError(v, [...path, k]);
      if (err) return err;
    }
    return null;
  }
  if (t === undefined) return { path, message: 'a template is a JSON value' };
  return null;
}

/** Thrown by a compiled template when the input lacks a placeholder's path. */
export class MissingInputPathError extends Error {
  constructor(readonly placeholder: string) {
    super(`the event input has no value at ${placeholder}`);
  }
}

export function compileTemplate(t: unknown): CompiledTemplate {
  if (typeof t === 'string') {
    const path = placeholderPath(t);
    if (path === null) return () => t;
    return (input) => {
      const v = selectJsonPath(input, path);
      if (v === undefined) throw new MissingInputPathError(t);
      return v;
    };
  }
  if (Array.isArray(t)) {
    const items = t.map(compileTemplate);
    return (input) => items.map((f) => f(input));
  }
  if (t !== null && typeof t === 'object') {
    const entries = Object.entries(t).map(([k, v]) => [k, compileTemplate(v)] as const);
    return (input) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) out[k] = f(input);
      return out;
    };
  }
  return () => t;
}
