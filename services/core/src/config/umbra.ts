import { existsSync } from 'node:fs';
import { z } from 'zod';
import { loadYamlConfig, parseConfig, readYamlFile } from './load.ts';

const nonEmpty = z.string().min(1);

export const kafkaConfigSchema = z
  .object({
    brokers: z.array(nonEmpty).min(1, 'at least one broker, e.g. ["127.0.0.1:9092"]'),
    clientId: nonEmpty.default('umbra'),
    ssl: z.boolean().default(false),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: nonEmpty,
        password: nonEmpty,
      })
      .strict()
      .optional(),
    topics: z
      .object({
        requests: nonEmpty.default('umbra.requests'),
        deadLetters: nonEmpty.default('umbra.requests.dlq'),
        reports: nonEmpty.default('umbra.reports'),
        decisions: nonEmpty.default('umbra.decisions'),
      })
      .strict()
      .prefault({}),
    schemaRegistry: z
      .object({ url: z.url(), username: z.string().optional(), password: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict();

export const clickhouseConfigSchema = z
  .object({
    /** A ClickHouse server over HTTP; without it, the embedded chDB engine at dataDir. */
    url: z.url().optional(),
    username: z.string().default('default'),
    password: z.string().default(''),
    database: nonEmpty.default('umbra'),
    dataDir: nonEmpty.default('./.umbra/db'),
    retentionDays: z.number().int().positive().max(3650).optional(),
  })
  .strict();

export const umbraConfigSchema = z
  .object({
    clickhouse: clickhouseConfigSchema.prefault({}),
    kafka: kafkaConfigSchema.optional(),
    logging: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
    metrics: z
      .object({ port: z.number().int().min(0).max(65535).optional(), host: nonEmpty.default('127.0.0.1') })
      .strict()
      .prefault({}),
  })
  .strict();

export type UmbraConfig = z.output<typeof umbraConfigSchema>;
export type KafkaConfig = z.output<typeof kafkaConfigSchema>;
export type ClickHouseConfig = z.output<typeof clickhouseConfigSchema>;

/** The environment variables umbra reads, and where each lands in the config. */
export const ENV_OVERRIDES = {
  CLICKHOUSE_URL: 'clickhouse.url',
  CLICKHOUSE_USER: 'clickhouse.username',
  CLICKHOUSE_PASSWORD: 'clickhouse.password',
  CLICKHOUSE_DATABASE: 'clickhouse.database',
  UMBRA_DATA_DIR: 'clickhouse.dataDir',
  KAFKA_BROKERS: 'kafka.brokers',
  SCHEMA_REGISTRY_URL: 'kafka.schemaRegistry.url',
  UMBRA_LOG_LEVEL: 'logging.level',
  UMBRA_METRICS_PORT: 'metrics.port',
} as const;

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = (next && typeof next === 'object' ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function envValue(name: keyof typeof ENV_OVERRIDES, raw: string): unknown {
  if (name === 'KAFKA_BROKERS') return raw.split(',').map((b) => b.trim()).filter(Boolean);
  if (name === 'UMBRA_METRICS_PORT') return /^\d+$/.test(raw) ? Number(raw) : raw;
  return raw;
}

/**
 * The one place umbra reads its settings: the YAML file (default ./umbra.yaml when present),
 * then environment overrides, validated once into a frozen object.
 */
export function loadUmbraConfig(opts: { file?: string; env?: Record<string, string | undefined> } = {}): Readonly<UmbraConfig> {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.UMBRA_CONFIG ?? (existsSync('umbra.yaml') ? 'umbra.yaml' : undefined);
  const raw = (file ? readYamlFile(file) : {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return parseConfig(umbraConfigSchema, raw, file ?? 'config');
  }
  const sources: string[] = [];
  for (const [name, path] of Object.entries(ENV_OVERRIDES) as [keyof typeof ENV_OVERRIDES, string][]) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      setPath(raw, path, envValue(name, value));
      sources.push(name);
    }
  }
  const source = [file, sources.length ? `env ${sources.join(',')}` : undefined].filter(Boolean).join(' + ') || 'defaults';
  return parseConfig(umbraConfigSchema, raw, source);
}

export { loadYamlConfig };
