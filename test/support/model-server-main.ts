import { startModelServer } from './model-server.ts';

// Child-process entry of spawnModelServer: options as JSON in argv, URL on stdout.
const server = await startModelServer(JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof startModelServer>[0]);
process.stdout.write(`URL=${server.url}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
