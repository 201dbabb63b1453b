import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { UmbraError } from '../errors.ts';

/** A zod issue as one line: the dotted path of the bad field and what was expected. */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (issue.path.length ? `${path}.${k}` : k));
    return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''} (remove ${keys.length > 1 ? 'them' : 'it'} or check the spelling)`;
  }
  return `${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

/**
 * Parses `raw` with `schema` into a frozen object, or throws CONFIG_INVALID whose message names
 * every bad field (first one first) as `source: path: expected ...`.
 */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): Readonly<z.output<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(formatIssue);
    throw new UmbraError('CONFIG_INVALID', `${source}: ${lines.join('; ')}`, {
      context: { source, issues: lines },
    });
  }
  return deepFreeze(result.data) as Readonly<z.output<S>>;
}

/** Reads a YAML file (missing file, bad YAML and bad fields are all CONFIG_* errors). */
export function readYamlFile(path: string): unknown {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (cause) {
    throw new UmbraError('CONFIG_NOT_FOUND', `${path}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, {
      context: { path: abs },
      cause,
    });
  }
  try {
    return parseYaml(text) ?? {};
  } catch (cause) {
    const where = cause instanceof YAMLParseError && cause.linePos ? ` line ${cause.linePos[0].line}` : '';
    throw new UmbraError('CONFIG_INVALID', `${path}:${where}: not valid YAML (${(cause as Error).message.split('\n')[0]})`, {
      context: { path: abs },
      cause,
    });
  }
}

export function loadYamlConfig<S extends z.ZodType>(schema: S, path: string): Readonly<z.output<S>> {
  return parseConfig(schema, readYamlFile(path), path);
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
