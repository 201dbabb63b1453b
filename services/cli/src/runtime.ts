import {
  createLogger,
  isUmbraError,
  loadUmbraConfig,
  type Logger,
  type UmbraConfig,
} from '@umbra/core';
import { createClickHouse, type ClickHouse } from '@umbra/core/clickhouse';
import { createKafka, type KafkaBus } from '@umbra/core/kafka';

export interface GlobalOptions {
  umbraConfig?: string;
  logLevel?: string;
}

/** What every command starts from: the validated config and a logger on stderr. */
export function startup(opts: GlobalOptions, service: string): { config: Readonly<UmbraConfig>; logger: Logger } {
  const config = loadUmbraConfig(opts.umbraConfig ? { file: opts.umbraConfig } : {});
  const logger = createLogger({
    service,
    level: opts.logLevel ?? config.logging.level,
    destination: process.stderr,
  });
  return { config, logger };
}

export function openClickHouse(config: Readonly<UmbraConfig>, logger: Logger): Promise<ClickHouse> {
  const ch = config.clickhouse;
  return createClickHouse({
    ...(ch.url ? { url: ch.url, username: ch.username, password: ch.password, database: ch.database } : {}),
    dataDir: ch.dataDir,
    logger,
  });
}

/** The Kafka client of the config (brokers, TLS, SASL), or undefined when no Kafka is configured. */
export function openKafka(config: Readonly<UmbraConfig>, logger: Logger, role?: string): KafkaBus | undefined {
  const k = config.kafka;
  if (!k) return undefined;
  return createKafka({
    brokers: [...k.brokers],
    clientId: role ? `${k.clientId}-${role}` : k.clientId,
    logger,
    ssl: k.ssl,
    ...(k.sasl ? { sasl: { ...k.sasl } } : {}),
  });
}

/** One clear line on stderr and a non-zero exit: 2 for bad config or arguments, 1 otherwise. */
export function fail(err: unknown): never {
  if (isUmbraError(err)) {
    process.stderr.write(`umbra: ${err.message}\n`);
    const usage = err.code === 'CONFIG_INVALID' || err.code === 'CONFIG_NOT_FOUND' || err.code === 'BAD_ARGUMENT';
    process.exit(usage ? 2 : 1);
  }
  process.stderr.write(`umbra: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
