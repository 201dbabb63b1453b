/**
 * OutputSpec: how a task's model outputs are read and compared. Embedded in the experiment
 * config; parsed once with `outputSpecSchema`, which fills the defaults below.
 */
import { z } from 'zod';
import { UmbraError } from '../../errors.ts';
import { hasWildcard, parsePath } from '../json-path.ts';

export interface ClassificationSpec {
  task: 'classification';
  /** JSON path of the label, e.g. `$.label`. */
  label: string;
  /** JSON path of the score (probability) of the label, e.g. `$.score`. */
  score?: string;
  /** |Δscore| at or below this counts as withinTolerance. Default 0. */
  scoreTolerance?: number;
}

export interface RegressionSpec {
  task: 'regression';
  /** JSON path of the predicted number. */
  value: string;
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /** Relative tolerance, numpy isclose convention |c−b| ≤ atol + rtol·|b|. Default 0.01. */
  rtol?: number;
}

export interface RankingSpec {
  task: 'ranking';
  /** JSON path of an array of ids, or of objects holding an id. */
  ranking: string;
  /** Field (or `$`-relative JSON path) of the id when items are objects. */
  idField?: string;
  /** Depth of the comparison. Default 10. */
  k?: number;
  /** Persistence of rank-biased overlap, 0 < p < 1. Default 0.9. */
  rboP?: number;
}

export interface StructuredSpec {
  task: 'structured';
  /** JSON path of the compared sub-document. Default `$`. */
  root?: string;
  /** Numbers a, b are equal when |a−b| ≤ tol·max(1, |a|, |b|). Default 1e-9. */
  floatTolerance?: number;
  /** Compare arrays as multisets (of canonical JSON). Default false. */
  ignoreArrayOrder?: boolean;
  /** Absolute paths (exact or prefix; `[*]`/`.*` match any one segment) left out of the diff. */
  ignorePaths?: string[];
}

export type OutputSpec = ClassificationSpec | RegressionSpec | RankingSpec | StructuredSpec;

export const OUTPUT_SPEC_DEFAULTS = Object.freeze({
  scoreTolerance: 0,
  atol: 0,
  rtol: 0.01,
  k: 10,
  rboP: 0.9,
  root: '$',
  floatTolerance: 1e-9,
  ignoreArrayOrder: false,
});

function pathSchema(allowWildcard: boolean) {
  return z.string().superRefine((path, ctx) => {
    try {
      const segments = parsePath(path);
      if (!allowWildcard && hasWildcard(segments)) {
        ctx.addIssue({ code: 'custom', message: 'wildcards are only allowed in ignorePaths' });
      }
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
    }
  });
}

const tolerance = z.number().finite().nonnegative();

export const outputSpecSchema = z.discriminatedUnion('task', [
  z.strictObject({
    task: z.literal('classification'),
    label: pathSchema(false),
    score: pathSchema(false).nullable().default(null),
    scoreTolerance: tolerance.default(OUTPUT_SPEC_DEFAULTS.scoreTolerance),
  }),
  z.strictObject({
    task: z.literal('regression'),
    value: pathSchema(false),
    atol: tolerance.default(OUTPUT_SPEC_DEFAULTS.atol),
    rtol: tolerance.default(OUTPUT_SPEC_DEFAULTS.rtol),
  }),
  z.strictObject({
    task: z.literal('ranking'),
    ranking: pathSchema(false),
    idField: z
      .string()
      .min(1)
      .superRefine((f, ctx) => {
        if (!f.startsWith('$')) return;
        try {
          if (hasWildcard(parsePath(f)))
            ctx.addIssue({ code: 'custom', message: 'idField cannot hold a wildcard' });
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
        }
      })
      .nullable()
      .default(null),
    k: z.number().int().min(1).max(10_000).default(OUTPUT_SPEC_DEFAULTS.k),
    rboP: z.number().gt(0).lt(1).default(OUTPUT_SPEC_DEFAULTS.rboP),
  }),
  z.strictObject({
    task: z.literal('structured'),
    root: pathSchema(false).default(OUTPUT_SPEC_DEFAULTS.root),
    floatTolerance: tolerance.default(OUTPUT_SPEC_DEFAULTS.floatTolerance),
    ignoreArrayOrder: z.boolean().default(OUTPUT_SPEC_DEFAULTS.ignoreArrayOrder),
    ignorePaths: z.array(pathSchema(true)).default([]),
  }),
]);

/** An OutputSpec with every default filled in (absent optional paths are null). */
export type ResolvedOutputSpec = z.output<typeof outputSpecSchema>;

// Keeps the hand-written OutputSpec and the schema in step: every OutputSpec must parse.
type _SpecFitsSchema = OutputSpec extends z.input<typeof outputSpecSchema> ? true : never;
const _specFitsSchema: _SpecFitsSchema = true;

/** Validates and fills defaults; throws UmbraError('CONFIG_INVALID') naming the offending keys. */
export function parseOutputSpec(input: unknown, at = 'outputSpec'): ResolvedOutputSpec {
  const result = outputSpecSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({
      key: [at, ...i.path.map(String)].join('.'),
      message: i.message,
    }));
    throw new UmbraError('CONFIG_INVALID', issues.map((i) => `${i.key}: ${i.message}`).join('; '), {
      context: { issues },
    });
  }
  return result.data;
}
