export * from './events.ts';
export * from './compare/index.ts';
export * from './json-path.ts';
