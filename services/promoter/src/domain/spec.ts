/**
 * The rollout spec: which candidate goes to production, by which path (canary steps or a
 * blue-green switch), through which gates. Parsed once (strict: unknown keys and bad values fail
 * naming the field), defaults filled, durations in milliseconds, frozen.
 */
import { parseConfig, UmbraError } from '@umbra/core';
import stableStringify from 'fast-json-stable-stringify';
import { z } from 'zod';
import type { Phase } from './types.ts';

export const GATE_METRICS = [
  'agreement',
  'candidate_error_rate',
  'timeout_rate',
  'latency_p99_ratio',
  'latency_p95_ratio',
  'psi',
  'js',
  'canary_error_rate_diff',
  'canary_latency_p99_ratio',
] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

/** Gates on the live canary/stable split: judged only while 0 < weight < 100. */
export const CANARY_METRICS: readonly GateMetric[] = [
  'canary_error_rate_diff',
  'canary_latency_p99_ratio',
];
/** Gates judged on a point estimate with minimum evidence (no confidence sequence exists for them here). */
export const POINT_ESTIMATE_METRICS: readonly GateMetric[] = ['psi', 'js'];

/** The direction in which each metric is good; a gate with the other op is a spelling mistake. */
const METRIC_OP: Record<GateMetric, '>=' | '<='> = {
  agreement: '>=',
  candidate_error_rate: '<=',
  timeout_rate: '<=',
  latency_p99_ratio: '<=',
  latency_p95_ratio: '<=',
  psi: '<=',
  js: '<=',
  canary_error_rate_diff: '<=',
  canary_latency_p99_ratio: '<=',
};

/** Names the decision's own pseudo-gates use in `Decision.reasons`. */
export const RESERVED_GATE_NAMES = ['bake-time', 'evidence-window', 'live-traffic'] as const;

export interface GateSpec {
  name: string;
  metric: GateMetric;
  op: '>=' | '<=';
  threshold: number;
  /**
   * Which statistic must be on the right side of the threshold to pass. Defaults: 'lower' for
   * '>=' gates, 'upper' for '<=' gates (the confidence bound), 'value' for psi and js. A gate
   * fails only when the whole confidence sequence is on the wrong side, whatever `bound` says.
   */
  bound: 'lower' | 'upper' | 'value';
  perSegment?: { keys: string[] };
}

export interface CanaryStrategy {
  shadow: { minDuration: number };
  /** Percent of live traffic per step, strictly increasing; after the last one, 'done' at 100. */
  steps: number[];
  /** Minimum time per canary step (ms). */
  bakeTime: number;
}

export interface BlueGreenStrategy {
  shadow: { minDuration: number };
  preview?: { weight: number; minDuration: number };
  watch: { duration: number };
}

export interface RolloutSpec {
  rollout: string;
  experiment: string;
  candidate: string;
  baseline: string;
  strategy: { canary: CanaryStrategy } | { blueGreen: BlueGreenStrategy };
  gates: GateSpec[];
  evidence: { minPairs: number; minPerSegment: number; minRequestsPerArm: number };
  rollback: { afterFailures: number };
  alpha: number;
  /** How often the edges evaluate (ms). */
  interval: number;
}

export const SPEC_DEFAULTS = Object.freeze({
  evidence: Object.freeze({ minPairs: 1000, minPerSegment: 200, minRequestsPerArm: 500 }),
  rollback: Object.freeze({ afterFailures: 2 }),
  alpha: 0.05,
  interval: '1m',
});

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** '10m', '90s', '1h30m', '250ms' → milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) {
    throw new UmbraError('BAD_ARGUMENT', `not a duration: '${text}' (e.g. '90s', '10m', '1h30m')`);
  }
  let ms = 0;
  for (const [, num, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    ms += Number(num) * (UNIT_MS[unit as string] as number);
  }
  return Math.round(ms);
}

/** Milliseconds → '1h30m', '4m', '45s', '0s' (whole seconds; below one second, ms). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return ms <= 0 ? '0s' : `${Math.round(ms)}ms`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean);
  return parts.join('');
}

const duration = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `not a duration: '${text}' (e.g. '90s', '10m', '1h30m')`,
    });
    return z.NEVER;
  }
});
const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than 0');
const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:/@-]*$/,
    'letters, digits and _ . : / @ - (starting with a letter or digit)',
  );
const weight = z
  .number()
  .gt(0, 'a weight is a percent in (0, 100]')
  .max(100, 'a weight is a percent in (0, 100]');

const canarySchema = z.strictObject({
  shadow: z.strictObject({ minDuration: duration }),
  steps: z
    .array(weight)
    .min(1, 'at least one canary step, e.g. [5, 10, 25, 50, 100]')
    .refine(
      (s) => s.every((w, i) => i === 0 || w > (s[i - 1] as number)),
      'steps must increase strictly',
    ),
  bakeTime: duration,
});

const blueGreenSchema = z.strictObject({
  shadow: z.strictObject({ minDuration: duration }),
  preview: z
    .strictObject({
      weight: weight.refine((w) => w < 100, 'a preview weight is below 100'),
      minDuration: duration,
    })
    .optional(),
  watch: z.strictObject({ duration }),
});

const gateSchema = z
  .strictObject({
    name: name.refine((n) => !(RESERVED_GATE_NAMES as readonly string[]).includes(n), {
      message: `reserved for the decision's own reasons (${RESERVED_GATE_NAMES.join(', ')})`,
    }),
    metric: z.enum(GATE_METRICS),
    op: z.enum(['>=', '<=']),
    threshold: z.number().finite(),
    bound: z.enum(['lower', 'upper', 'value']).optional(),
    perSegment: z.strictObject({ keys: z.array(z.string().min(1)).min(1) }).optional(),
  })
  .superRefine((g, ctx) => {
    const want = METRIC_OP[g.metric];
    if (g.op !== want) {
      ctx.addIssue({ code: 'custom', path: ['op'], message: `${g.metric} gates use op '${want}'` });
    }
    const range = thresholdRange(g.metric);
    if (!(g.threshold >= range.min && g.threshold <= range.max)) {
      ctx.addIssue({
        code: 'custom',
        path: ['threshold'],
        message: `${g.metric} threshold must be in ${range.text}`,
      });
    }
    if (POINT_ESTIMATE_METRICS.includes(g.metric) && g.bound !== undefined && g.bound !== 'value') {
      ctx.addIssue({
        code: 'custom',
        path: ['bound'],
        message: `${g.metric} is a point-estimate gate: bound must be 'value' (or left out)`,
      });
    }
  })
  .transform((g): GateSpec => {
    const bound =
      g.bound ??
      (POINT_ESTIMATE_METRICS.includes(g.metric) ? 'value' : g.op === '>=' ? 'lower' : 'upper');
    const out: GateSpec = {
      name: g.name,
      metric: g.metric,
      op: g.op,
      threshold: g.threshold,
      bound,
    };
    if (g.perSegment) out.perSegment = { keys: [...g.perSegment.keys] };
    return out;
  });

function thresholdRange(metric: GateMetric): { min: number; max: number; text: string } {
  switch (metric) {
    case 'agreement':
      return { min: Number.MIN_VALUE, max: 1, text: '(0, 1]' };
    case 'candidate_error_rate':
    case 'timeout_rate':
      return { min: 0, max: 1 - Number.EPSILON, text: '[0, 1)' };
    case 'canary_error_rate_diff':
      return { min: -1 + Number.EPSILON, max: 1 - Number.EPSILON, text: '(-1, 1)' };
    case 'js':
      return { min: Number.MIN_VALUE, max: 1, text: '(0, 1]' };
    case 'psi':
    case 'latency_p99_ratio':
    case 'latency_p95_ratio':
    case 'canary_latency_p99_ratio':
      return { min: Number.MIN_VALUE, max: Number.MAX_VALUE, text: '(0, ∞)' };
  }
}

const positiveInt = z.number().int().positive();

export const rolloutSpecSchema = z
  .strictObject({
    rollout: name,
    experiment: name,
    candidate: name,
    baseline: name,
    strategy: z
      .strictObject({ canary: canarySchema.optional(), blueGreen: blueGreenSchema.optional() })
      .superRefine((s, ctx) => {
        if ((s.canary === undefined) === (s.blueGreen === undefined)) {
          ctx.addIssue({ code: 'custom', message: 'exactly one of canary or blueGreen' });
        }
      }),
    gates: z.array(gateSchema).min(1, 'at least one gate'),
    evidence: z
      .strictObject({
        minPairs: positiveInt.default(SPEC_DEFAULTS.evidence.minPairs),
        minPerSegment: positiveInt.default(SPEC_DEFAULTS.evidence.minPerSegment),
        minRequestsPerArm: positiveInt.default(SPEC_DEFAULTS.evidence.minRequestsPerArm),
      })
      .prefault({}),
    rollback: z
      .strictObject({ afterFailures: positiveInt.default(SPEC_DEFAULTS.rollback.afterFailures) })
      .prefault({}),
    alpha: z.number().gt(0).max(0.5).default(SPEC_DEFAULTS.alpha),
    interval: positiveDuration.prefault(SPEC_DEFAULTS.interval),
  })
  .superRefine((s, ctx) => {
    const seen = new Map<string, number>();
    s.gates.forEach((g, i) => {
      const first = seen.get(g.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['gates', i, 'name'],
          message: `duplicate gate name (also gates[${first}])`,
        });
      } else seen.set(g.name, i);
    });
    // Shadow and a 100 % step have no live split: without a paired gate nothing would judge them.
    if (s.gates.every((g) => CANARY_METRICS.includes(g.metric))) {
      ctx.addIssue({
        code: 'custom',
        path: ['gates'],
        message:
          'at least one gate on paired shadow evidence (agreement, rates, latency, drift), so shadow is judged',
      });
    }
    if (s.candidate === s.baseline) {
      ctx.addIssue({
        code: 'custom',
        path: ['candidate'],
        message: 'the candidate must differ from the baseline',
      });
    }
  })
  .transform((s): RolloutSpec => {
    const strategy = s.strategy.canary
      ? { canary: s.strategy.canary }
      : { blueGreen: s.strategy.blueGreen as BlueGreenStrategy };
    return { ...s, strategy };
  });

// Keeps the hand-written RolloutSpec and the schema in step.
type _OutputIsSpec = z.output<typeof rolloutSpecSchema> extends RolloutSpec ? true : never;
const _outputIsSpec: _OutputIsSpec = true;

/**
 * Validates a rollout spec (e.g. parsed YAML) into a frozen RolloutSpec with defaults filled;
 * throws UmbraError('CONFIG_INVALID') whose message names each bad field.
 */
export function parseRolloutSpec(raw: unknown, source = 'rollout spec'): Readonly<RolloutSpec> {
  return parseConfig(rolloutSpecSchema, raw, source) as Readonly<RolloutSpec>;
}

/**
 * A stable hash of the parsed spec (defaults filled, durations in ms): FNV-1a 64 over its
 * canonical JSON, 16 hex digits. Two spellings of the same spec ('600s' and '10m') hash alike;
 * a decision records the hash so the audit trail shows which spec judged it.
 */
export function specHash(spec: RolloutSpec): string {
  // Frozen specs (as parseRolloutSpec returns) cannot change, so their hash is computed once.
  if (!Object.isFrozen(spec)) return fnv1a64(stableStringify(spec));
  let hash = hashes.get(spec);
  if (hash === undefined) {
    hash = fnv1a64(stableStringify(spec));
    hashes.set(spec, hash);
  }
  return hash;
}

const hashes = new WeakMap<object, string>();

/**
 * FNV-1a 64 of the UTF-8 bytes of `text`, as 16 lowercase hex digits. The 64-bit state is kept
 * in four 16-bit limbs so every product stays exact in a double (BigInt is ~20× slower here).
 */
export function fnv1a64(text: string): string {
  // Offset basis 0xcbf29ce484222325, lowest limb first.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (const byte of new TextEncoder().encode(text)) {
    h0 ^= byte;
    // × prime 0x100000001b3 = 2^40 + 0x1b3, modulo 2^64.
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + h0 * 0x100 + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + h1 * 0x100 + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((x) => x.toString(16).padStart(4, '0')).join('');
}

/** One stage of a rollout: where traffic is, how long it must stay, what ends it. */
export interface Stage {
  phase: Phase;
  /** Percent of live traffic on the candidate. */
  weight: number;
  /** Minimum time in this stage before promotion (ms): shadow minDuration, bakeTime, watch duration. */
  minDuration: number;
  /** What the minimum time is called in reasons. */
  clock: 'shadow time' | 'bake time' | 'preview time' | 'switch' | 'watch time';
}

/**
 * The stages a rollout passes, in order; `RolloutState.step` indexes this list and promoting
 * from the last stage ends in 'done' at weight 100.
 * Canary: shadow → canary steps. Blue-green: shadow → preview (if configured) → switched
 * (all traffic on green; promoted once the gates pass on post-switch evidence) → watch.
 */
export function rolloutPlan(spec: RolloutSpec): Stage[] {
  if ('canary' in spec.strategy) {
    const c = spec.strategy.canary;
    // A step of 100 % is the promotion itself, not a stage to bake: with the candidate serving
    // everything, no request is served by the baseline any more, so there is nothing to replay
    // against it and no stable arm to compare with. The last comparison is at the step before.
    return [
      { phase: 'shadow', weight: 0, minDuration: c.shadow.minDuration, clock: 'shadow time' },
      ...c.steps.filter((w) => w < 100).map((w): Stage => ({
        phase: 'canary',
        weight: w,
        minDuration: c.bakeTime,
        clock: 'bake time',
      })),
    ];
  }
  const b = spec.strategy.blueGreen;
  const stages: Stage[] = [
    { phase: 'shadow', weight: 0, minDuration: b.shadow.minDuration, clock: 'shadow time' },
  ];
  if (b.preview) {
    stages.push({
      phase: 'preview',
      weight: b.preview.weight,
      minDuration: b.preview.minDuration,
      clock: 'preview time',
    });
  }
  stages.push({ phase: 'switched', weight: 100, minDuration: 0, clock: 'switch' });
  stages.push({ phase: 'watch', weight: 100, minDuration: b.watch.duration, clock: 'watch time' });
  return stages;
}

/** What the edges must count for this spec beyond the fixed Evidence fields. */
export interface EvidenceNeeds {
  /** Segment keys to compute per-segment evidence for. */
  segmentKeys: string[];
  /** Latency exceedance counts: `pairs` → Evidence.latency.exceedance, `canary` → Evidence.canary.exceedance. */
  exceedance: { arm: 'pairs' | 'canary'; quantile: number; ratio: number }[];
}

export function evidenceNeeds(spec: RolloutSpec): EvidenceNeeds {
  const keys = new Set<string>();
  const exceedance: EvidenceNeeds['exceedance'] = [];
  const add = (e: EvidenceNeeds['exceedance'][number]): void => {
    if (
      !exceedance.some((x) => x.arm === e.arm && x.quantile === e.quantile && x.ratio === e.ratio)
    )
      exceedance.push(e);
  };
  for (const g of spec.gates) {
    for (const k of g.perSegment?.keys ?? []) keys.add(k);
    if (g.metric === 'latency_p99_ratio') add({ arm: 'pairs', quantile: 0.99, ratio: g.threshold });
    if (g.metric === 'latency_p95_ratio') add({ arm: 'pairs', quantile: 0.95, ratio: g.threshold });
    if (g.metric === 'canary_latency_p99_ratio')
      add({ arm: 'canary', quantile: 0.99, ratio: g.threshold });
  }
  return { segmentKeys: [...keys].sort(), exceedance };
}
