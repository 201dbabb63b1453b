export * from './errors.ts';
export * from './domain/index.ts';
export * from './logging/index.ts';
export * from './config/index.ts';
export * from './metrics/index.ts';
