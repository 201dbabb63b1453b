import type { Command } from 'commander';
import { migrate } from '@umbra/core/clickhouse';
import { openClickHouse, startup, type GlobalOptions } from '../runtime.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create or update the ClickHouse tables (safe to run again: it says what changed)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'cli');
      const ch = await openClickHouse(config, logger);
      try {
        const result = await migrate(ch, {
          logger,
          ...(config.clickhouse.retentionDays ? { retentionDays: config.clickhouse.retentionDays } : {}),
        });
        const where = ch.describe;
        if (result.applied.length === 0) {
          process.stdout.write(`${where}: up to date, nothing changed (${result.unchanged.length} migrations already applied)\n`);
        } else {
          for (const name of result.applied) process.stdout.write(`applied ${name}\n`);
          process.stdout.write(`${where}: applied ${result.applied.length}, ${result.unchanged.length} already applied\n`);
        }
      } finally {
        await ch.close();
      }
    });
}
