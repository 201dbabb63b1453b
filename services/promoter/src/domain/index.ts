export * from './types.ts';
export * from './spec.ts';
export * from './gates.ts';
export * from './decide.ts';
export * from './format.ts';
export * from './stats/confidence-sequence.ts';
