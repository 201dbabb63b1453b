export * from './load.ts';
export * from './umbra.ts';
