import * as z from 'zod';
import { UmbraError } from '@umbra/core';
import { parseJsonPath } from './json-path.ts';
import { findTemplateError } from './template.ts';

/*
 * Candidate config, checked once at start. Every object is strict, so an unknown key fails
 * and the error names it; bad values name the field and the allowed range.
 */

const jsonPath = z.string().superRefine((path, ctx) => {
  try {
    parseJsonPath(path);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const retrySchema = z
  .strictObject({
    /** Retries after the first try: total tries = 1 + attempts. */
    attempts: z.int().min(0).max(10).default(2),
    /** Backoff before retry n (1-based) is min(maxBackoffMs, backoffMs * 2^(n-1)), jittered to [50%, 100%]. */
    backoffMs: z.int().min(0).max(60_000).default(50),
    maxBackoffMs: z.int().min(0).max(300_000).default(1000),
    /** Timed-out calls are recorded, not retried, unless this is set. */
    onTimeout: z.boolean().default(false),
  })
  .refine((r) => r.maxBackoffMs >= r.backoffMs, {
    path: ['maxBackoffMs'],
    message: 'maxBackoffMs must be >= backoffMs',
  });

const modelSchema = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1).optional(),
});

const common = {
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9._-]+$/, 'expected lowercase letters, digits, ".", "_" or "-"'),
  /** Per attempt; the retry wrapper sits outside the timeout. */
  timeoutMs: z.int().min(1).max(600_000).default(2000),
  /** Maximum calls in flight to this candidate; further invokes wait for a slot. */
  concurrency: z.int().min(1).max(4096).default(16),
  retry: retrySchema.prefault({}),
  /** Fraction of events replayed against this candidate, chosen by `sampled(eventId, rate, name)`. */
  sampleRate: z.number().min(0).max(1).default(1),
  /** The model behind the candidate, recorded with its pairs (kserve-v2 also uses it in the URL). */
  model: modelSchema.optional(),
};

const poolSchema = z.strictObject({
  /** Sockets to the candidate; defaults to `concurrency`. */
  connections: z.int().min(1).max(4096).optional(),
  keepAliveTimeoutMs: z.int().min(1).max(600_000).default(4000),
});

const headersSchema = z.record(z.string(), z.string()).default({});

export const httpCandidateConfigSchema = z.strictObject({
  ...common,
  adapter: z.literal('http'),
  url: httpUrl,
  method: z.enum(['POST', 'PUT']).default('POST'),
  headers: headersSchema,
  /**
   * 'input': the event input JSON is sent as is.
   * { template }: a JSON value sent with every string "$input" or "$input<path>" (e.g.
   * "$input.features", "$input[0]") replaced by that part of the parsed event input.
   */
  body: z
    .union([
      z.literal('input'),
      z.strictObject({
        template: z.unknown().superRefine((t, ctx) => {
          const err = findTemplateError(t);
          if (err) ctx.addIssue({ code: 'custom', message: err.message, path: err.path });
        }),
      }),
    ])
    .default('input'),
  /** Where the output sits in the response body. */
  outputPath: jsonPath.default('$'),
  pool: poolSchema.prefault({}),
});

export const KSERVE_DATATYPES = ['BOOL', 'INT32', 'INT64', 'FP32', 'FP64', 'BYTES'] as const;
export type KserveDatatype = (typeof KSERVE_DATATYPES)[number];

export const kserveV2CandidateConfigSchema = z.strictObject({
  ...common,
  adapter: z.literal('kserve-v2'),
  /** Base URL of the inference server, e.g. http://host:8080. */
  url: httpUrl,
  /** Required here: its name and version make the infer URL. */
  model: modelSchema,
  headers: headersSchema,
  /**
   * 'auto': an input with an `inputs` array is an Open Inference Protocol request and is sent
   * as is; any other object is a flat map of features. 'oip' / 'features' force one reading.
   */
  inputFormat: z.enum(['auto', 'oip', 'features']).default('auto'),
  /** Overrides the inferred tensor datatype per feature (inferred: integer INT64, number FP32, string BYTES, boolean BOOL). */
  datatypes: z.record(z.string(), z.enum(KSERVE_DATATYPES)).default({}),
  /** Applied to the `{ <output name>: data }` object built from the response outputs. */
  outputPath: jsonPath.default('$'),
  pool: poolSchema.prefault({}),
});

export const moduleCandidateConfigSchema = z.strictObject({
  ...common,
  adapter: z.literal('module'),
  /** A .js/.ts file, absolute or relative to the directory of the config file (`baseDir`). */
  path: z.string().min(1),
  /** The exported function `(input, event, { signal }) => output`. */
  export: z.string().min(1).default('default'),
});

export const candidateConfigSchema = z.discriminatedUnion('adapter', [
  httpCandidateConfigSchema,
  kserveV2CandidateConfigSchema,
  moduleCandidateConfigSchema,
]);

export const candidatesConfigSchema = z.array(candidateConfigSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((c, i) => {
    if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate candidate name "${c.name}"` });
    seen.add(c.name);
  });
});

export type CandidateConfig = z.output<typeof candidateConfigSchema>;
export type CandidateConfigInput = z.input<typeof candidateConfigSchema>;
export type HttpCandidateConfig = z.output<typeof httpCandidateConfigSchema>;
export type KserveV2CandidateConfig = z.output<typeof kserveV2CandidateConfigSchema>;
export type ModuleCandidateConfig = z.output<typeof moduleCandidateConfigSchema>;
export type RetryConfig = CandidateConfig['retry'];

/** Parses one candidate config into a frozen typed object; throws CONFIG_INVALID naming each bad field. */
export function parseCandidateConfig(raw: unknown, at = 'candidate'): CandidateConfig {
  return deepFreeze(parseWith(candidateConfigSchema, raw, at));
}

/** Parses the list of candidates (names must be unique). */
export function parseCandidateConfigs(raw: unknown, at = 'candidates'): readonly CandidateConfig[] {
  return deepFreeze(parseWith(candidatesConfigSchema, raw, at));
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, at: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = formatIssues(r.error.issues, at);
  throw new UmbraError('CONFIG_INVALID', `invalid candidate config: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, {
    context: { problems },
  });
}

/** One line per problem with the full field path; unknown keys are named in the path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], at: string): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: fieldPath(at, [...issue.path, key]), message: 'unknown key' });
    } else {
      out.push({ path: fieldPath(at, issue.path), message: issue.message });
    }
  }
  return out;
}

function fieldPath(at: string, path: readonly PropertyKey[]): string {
  let s = at;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return s;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}
