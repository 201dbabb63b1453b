import { Command } from 'commander';
import { registerCompare } from './commands/compare.ts';
import { registerDemo } from './commands/demo.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerReplay } from './commands/replay.ts';
import { registerReport } from './commands/report.ts';
import { registerRollout } from './commands/rollout.ts';
import { registerRoute } from './commands/route.ts';
import { fail } from './runtime.ts';

const program = new Command()
  .name('umbra')
  .description(
    'Decide, with evidence, whether a new model version may take production traffic:\n' +
      'replay production events against candidates, store the pairs in ClickHouse, report, gate rollouts.',
  )
  .option('--umbra-config <file>', 'umbra settings (YAML): ClickHouse, Kafka, logging, metrics; default ./umbra.yaml when present; env overrides apply')
  .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
  .showHelpAfterError('(run umbra --help for usage)');

registerMigrate(program);
registerReplay(program);
registerReport(program);
registerCompare(program);
registerRollout(program);
registerRoute(program);
registerDemo(program);
registerGenerate(program);

program.parseAsync(process.argv).catch(fail);
