export * from './events.ts';
export * from './compare/index.ts';
