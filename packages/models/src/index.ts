export * from './tokenizer/index.ts';
export * from './preprocess/index.ts';
export * from './checkpoint/index.ts';
export * from './clip/index.ts';
export * from './llama/index.ts';
export * from './llava/index.ts';
export * from './resnet/index.ts';
export * from './hipie/index.ts';
