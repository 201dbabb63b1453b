import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (`*.test.ts`); integration tests run on the real Kafka broker
// and the real ClickHouse engine (`*.int.test.ts`, and everything under test/integration).
// `npm test` runs both projects; `npm run test:unit` is the fast loop.
export default defineConfig({
  test: {
    reporters: ['default'],
    pool: 'forks',
    // Two cores: one file per core at a time.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['services/*/src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['services/*/src/**/*.int.test.ts', 'test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          // chDB is one engine per process: every integration file gets its own worker process.
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
