export type * from './types.ts';
export * from './masks/index.ts';
