import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { loadYamlConfig, parseConfig } from '@umbra/core';
import { outputSpecSchema } from '@umbra/core/domain';
import { candidateConfigSchema } from './candidates/index.ts';

const name = z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" or "-"');

export const experimentConfigSchema = z
  .object({
    /** The experiment: a named set of candidates evaluated against a baseline on a stream. */
    experiment: name,
    source: z
      .object({
        kafka: z
          .object({
            topic: z.string().min(1).optional(),
            groupId: z.string().min(1).optional(),
            fromBeginning: z.boolean().default(true),
            partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(2),
          })
          .strict()
          .optional(),
        file: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    baseline: z
      .object({
        /** The model that served the events, as named in them; other models' events are stored but not replayed. */
        model: z.string().min(1),
        version: z.string().min(1).optional(),
        /**
         * How to call the baseline model. Replays the baseline's own events (A/A, candidate
         * 'baseline-aa', role noise) so reports can subtract its nondeterminism, and the events a
         * candidate with a `model` served (reverse shadow: pairs of that candidate with served
         * 'candidate'), so evidence continues when the candidate serves live traffic.
         */
        replay: candidateConfigSchema.optional(),
      })
      .strict(),
    output: outputSpecSchema,
    candidates: z
      .array(candidateConfigSchema)
      .min(1, 'at least one candidate')
      .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, 'candidate names must be unique'),
    /** Event attributes that name segments (region, client, input class, ...). */
    segments: z.array(z.string().min(1)).default([]),
    store: z
      .object({
        batchPairs: z.number().int().min(1).max(1_000_000).default(20_000),
        flushIntervalMs: z.number().int().min(10).max(60_000).default(500),
        /** Pairs held in memory before consumption waits for the store (bounds memory when it is down). */
        maxPendingPairs: z.number().int().min(1).default(100_000),
        retryMaxDelayMs: z.number().int().min(10).default(5_000),
        requestEvents: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // A candidate's model names the events it served (replayed against the baseline); the
    // baseline's names the events replayed against the candidates. One model cannot be both.
    cfg.candidates.forEach((c, i) => {
      // A versioned candidate under a baseline named without a version is fine: its events are
      // the candidate's, every other version's the baseline's.
      if (c.model === undefined || c.model.name !== cfg.baseline.model) return;
      if (c.model.version !== undefined && c.model.version !== cfg.baseline.version) return;
      ctx.addIssue({
        code: 'custom',
        path: ['candidates', i, 'model'],
        message:
          c.model.version === undefined
            ? `names the baseline's model (${c.model.name}) without a version: give the candidate's version, so its served events can be told from the baseline's`
            : `${c.model.name} ${c.model.version} is the baseline itself: give the candidate's own model version`,
      });
    });
  });

export type ExperimentConfig = z.output<typeof experimentConfigSchema>;

export const NOISE_CANDIDATE = 'baseline-aa';

/** Loads an experiment file; module candidate paths resolve from the file's directory. */
export function loadExperimentConfig(path: string): Readonly<ExperimentConfig> & { baseDir: string } {
  return { ...loadYamlConfig(experimentConfigSchema, path), baseDir: dirname(resolve(path)) };
}

export function parseExperimentConfig(raw: unknown, source = 'experiment'): Readonly<ExperimentConfig> {
  return parseConfig(experimentConfigSchema, raw, source);
}
