export * from './errors.ts';
export * from './domain/index.ts';
export * from './logging/index.ts';
