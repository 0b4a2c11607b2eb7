export * from './tokenizer/index.ts';
export * from './preprocess/index.ts';
