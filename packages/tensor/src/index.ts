export {};
export * from './io/index.ts';
