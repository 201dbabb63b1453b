import type { Command } from 'commander';
import { createRegistry, serveMetrics } from '@umbra/core';
import { loadRouterConfig, startRouterService } from '@umbra/router';
import { openKafka, startup, type GlobalOptions } from '../runtime.ts';
import { readTokens } from './rollout.ts';

export function registerRoute(program: Command): void {
  program
    .command('route')
    .description(
      "run the reference router: split live traffic between the stable and canary backends, tap every request to Kafka, follow the promoter's decisions",
    )
    .requiredOption(
      '--config <router.yaml>',
      'backends, models, mode, sticky key, tap, the rollout to follow',
    )
    .requiredOption(
      '--token-file <file>',
      'bearer token(s) of the admin endpoint /_umbra/routing, one per line; the first is used',
    )
    .action(async (opts: { config: string; tokenFile: string }, cmd: Command) => {
      const routerConfig = loadRouterConfig(opts.config);
      const [adminToken] = readTokens(opts.tokenFile);
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'router');
      const registry = createRegistry('router');
      const kafka = config.kafka;
      const bus = openKafka(config, logger, 'router');
      const service = await startRouterService({
        config: routerConfig,
        adminToken: adminToken as string,
        logger,
        registry,
        ...(bus && kafka
          ? {
              kafka: {
                bus,
                topics: { requests: kafka.topics.requests, decisions: kafka.topics.decisions },
              },
            }
          : {}),
      });
      const metricsServer =
        config.metrics.port !== undefined
          ? await serveMetrics(registry, {
              port: config.metrics.port,
              host: config.metrics.host,
              health: () => ({
                ok: true,
                detail: { routing: service.router.routing(), tap: service.tap?.stats() ?? null },
              }),
            })
          : null;
      const routing = service.router.routing();
      logger.info(
        {
          url: service.url,
          mode: routing.mode,
          weight: routing.weight,
          follow: routerConfig.follow?.rollout ?? null,
          tap: service.tap ? (routerConfig.tap.topic ?? kafka?.topics.requests) : 'off',
          metrics: metricsServer ? `${metricsServer.url}/metrics` : null,
        },
        'router serving; SIGTERM or Ctrl-C stops',
      );
      process.stdout.write(
        `umbra router on ${service.url} (admin: ${service.url}/_umbra/routing)\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      logger.info(
        { tap: service.tap?.stats() ?? null },
        'stopping: finishing requests in hand, sending the tapped events still buffered',
      );
      await service.close();
      await metricsServer?.close();
    });
}
