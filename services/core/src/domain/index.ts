export * from './events.ts';
export * from './compare/index.ts';
export * from './json-path.ts';
export * from './stats/index.ts';
