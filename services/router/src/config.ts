/**
 * The router's config file (YAML), checked once at start: unknown keys and bad values fail with
 * the field's path and what was expected. The admin token is not here (it comes from a token
 * file given on the command line), so the file can be committed.
 */
import { z } from 'zod';
import { loadYamlConfig, parseConfig } from '@umbra/core';

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const model = z.strictObject({ name: z.string().min(1), version: z.string().min(1) });

const arm = z.strictObject({
  /** Base URL of the backend; the request path is appended to it. */
  url: httpUrl,
  /** The model this backend serves, recorded on every tapped event. */
  model,
});

export const routerConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  mode: z.enum(['canary', 'blue-green']).default('canary'),
  /** Starting canary share 0..100 (blue-green: 0 = blue, 100 = green), until a decision moves it. */
  weight: z.number().min(0).max(100).default(0),
  stable: arm,
  canary: arm,
  /** Pins a user to one arm as the weight grows: a request header, or a field of the JSON body. */
  stickyKey: z
    .strictObject({ header: z.string().min(1).optional(), jsonField: z.string().min(1).optional() })
    .refine(
      (s) => s.header !== undefined || s.jsonField !== undefined,
      'give header, jsonField or both',
    )
    .optional(),
  /** Event attribute → request header, e.g. { region: x-region }: the segments reports split by. */
  attributeHeaders: z.record(z.string().min(1), z.string().min(1)).default({}),
  /** Follow the promoter: apply the decisions of this rollout from kafka.topics.decisions. */
  follow: z.strictObject({ rollout: z.string().min(1) }).optional(),
  /** Record every request as a RequestEvent on kafka.topics.requests (or `topic`). */
  tap: z
    .strictObject({
      enabled: z.boolean().default(true),
      topic: z.string().min(1).optional(),
      /** Share of requests tapped, 0..1; recorded on each event as tapSampleRate. */
      sampleRate: z
        .number()
        .gt(0, 'must be > 0 (set enabled: false to tap nothing)')
        .max(1)
        .default(1),
      /** Events held while Kafka is slow or down; beyond it events are dropped and counted. */
      maxBuffer: z.int().min(1).max(10_000_000).default(10_000),
      batchSize: z.int().min(1).max(100_000).default(500),
      lingerMs: z.int().min(0).max(60_000).default(100),
    })
    .prefault({}),
  backendTimeoutMs: z.int().min(1).max(600_000).default(30_000),
  /** Keep-alive connections per backend. */
  connections: z.int().min(1).max(4096).default(64),
  maxBodyBytes: z
    .int()
    .min(1)
    .default(10 * 1024 * 1024),
});

export type RouterConfig = z.output<typeof routerConfigSchema>;

export function loadRouterConfig(path: string): Readonly<RouterConfig> {
  return loadYamlConfig(routerConfigSchema, path);
}

export function parseRouterConfig(raw: unknown, source = 'router config'): Readonly<RouterConfig> {
  return parseConfig(routerConfigSchema, raw, source);
}
