export type * from './types.ts';
export * from './masks/index.ts';
export * from './readers/index.ts';
export * from './metrics/index.ts';
export * from './conversation/index.ts';
export * from './generators/index.ts';
export * from './templates/index.ts';
export * from './shapes/index.ts';
