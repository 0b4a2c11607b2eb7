/// <reference types="@webgpu/types" preserve="true" />
/**
 * Ambient types the published .d.ts files rely on, so that consumers type-check them without skipLibCheck: the WebGPU
 * types (@webgpu/types, a dependency) and the explicit-resource-management symbols for consumers whose `lib` predates
 * ES2025 (the same declarations as TypeScript's lib.esnext.disposable and @types/node, which merge with these).
 */
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

export {};
