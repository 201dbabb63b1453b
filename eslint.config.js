import tseslint from 'typescript-eslint';

const adapters = ['kafkajs', '@clickhouse/client', 'chdb', 'chdb/*', 'avsc', 'undici', 'pino', 'prom-client', 'node:http', 'node:fs', 'node:fs/promises', 'yaml'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.turbo/**', '**/.umbra/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only services/core/src/config reads the environment.' },
      ],
    },
  },
  {
    // The pure middle: no adapters, no I/O, no environment.
    files: ['**/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: adapters.map((group) => ({ group: [group], message: 'The pure middle takes no adapter imports; put I/O at the edges.' })) }],
    },
  },
  {
    files: ['**/src/config/**/*.ts', 'deploy/**/*.ts', 'test/**/*.ts', '**/*.test.ts', '**/main.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
