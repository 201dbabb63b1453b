/**
 * The router as a running service: the proxy, its request tap to Kafka, and the follower that
 * applies the promoter's decisions. `umbra route` and the local closed loop both build it here.
 */
import { UmbraError, type Logger, type Registry } from '@umbra/core';
import type { KafkaBus } from '@umbra/core/kafka';
import { createTap, type Tap } from '@umbra/core/tap';
import type { RouterConfig } from './config.ts';
import { followDecisions, type DecisionFollower } from './follow.ts';
import { createRouter, type Router } from './router.ts';

export interface RouterServiceDeps {
  config: Readonly<RouterConfig>;
  adminToken: string;
  logger: Logger;
  registry?: Registry;
  /** Needed for the tap and for following decisions. */
  kafka?: { bus: KafkaBus; topics: { requests: string; decisions: string } };
}

export interface RouterService {
  router: Router;
  /** Null when the tap is off. */
  tap: Tap | null;
  /** Where the router listens. */
  url: string;
  close(): Promise<void>;
}

export async function startRouterService(deps: RouterServiceDeps): Promise<RouterService> {
  const { config, logger } = deps;
  const kafka = deps.kafka;
  if (config.follow && !kafka)
    throw new UmbraError(
      'CONFIG_INVALID',
      'router follow.rollout needs Kafka: configure kafka.brokers (or KAFKA_BROKERS), or remove follow',
    );
  if (config.tap.enabled && !kafka)
    throw new UmbraError(
      'CONFIG_INVALID',
      'router tap needs Kafka: configure kafka.brokers (or KAFKA_BROKERS), or set tap.enabled: false',
    );
  const tapTopic = config.tap.topic ?? kafka?.topics.requests;
  const tap =
    config.tap.enabled && kafka && tapTopic
      ? createTap({
          bus: kafka.bus,
          topic: tapTopic,
          maxBuffer: config.tap.maxBuffer,
          batchSize: config.tap.batchSize,
          lingerMs: config.tap.lingerMs,
          logger,
          ...(deps.registry ? { registry: deps.registry } : {}),
        })
      : null;
  const router = createRouter({
    stable: config.stable.url,
    canary: config.canary.url,
    mode: config.mode,
    weight: config.weight,
    models: { stable: config.stable.model, canary: config.canary.model },
    ...(config.stickyKey ? { stickyKey: config.stickyKey } : {}),
    attributeHeaders: config.attributeHeaders,
    adminToken: deps.adminToken,
    ...(tap ? { tap, tapSampleRate: config.tap.sampleRate } : {}),
    backendTimeoutMs: config.backendTimeoutMs,
    connections: config.connections,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    ...(deps.registry ? { registry: deps.registry } : {}),
  });

  let follower: DecisionFollower | null = null;
  try {
    if (kafka) {
      // Serving never waits on Kafka: only following decisions needs the topics first.
      const ensured = kafka.bus
        .ensureTopics([
          ...(tapTopic ? [{ topic: tapTopic, partitions: 6 }] : []),
          { topic: kafka.topics.decisions, partitions: 1 },
        ])
        .catch((err: unknown) =>
          logger.warn({ err }, 'router: could not check the Kafka topics; serving anyway'),
        );
      if (config.follow) await ensured;
    }
    if (config.follow && kafka) {
      follower = await followDecisions({
        bus: kafka.bus,
        topic: kafka.topics.decisions,
        rollout: config.follow.rollout,
        router,
        logger,
      });
    }
    const { url } = await router.listen(config.listen.port, config.listen.host);
    return {
      router,
      tap,
      url,
      async close() {
        await follower?.stop();
        await router.close();
        await tap?.close();
      },
    };
  } catch (err) {
    await follower?.stop().catch(() => undefined);
    await router.close().catch(() => undefined);
    await tap?.close().catch(() => undefined);
    throw err;
  }
}
