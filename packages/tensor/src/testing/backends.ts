/**
 * The backends a test suite should run on: the CPU always, plus every provider that can initialise here
 * (WebGPU registers itself below). Tests use `describe.each(await availableBackends())`.
 */
export interface BackendProvider {
  name: string;
  /** Initialises the backend; resolves false (with a reason logged) when it cannot run here. */
  init(): Promise<boolean>;
}

export const backendProviders: BackendProvider[] = [
  {
    // WebAssembly SIMD kernels with threads; SEGLLM_SKIP_CPU_WASM=1 leaves it out.
    name: 'cpu-wasm',
    async init() {
      if ((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.SEGLLM_SKIP_CPU_WASM === '1') return false;
      const { initCpuWasm } = await import('../backends/wasm/index.ts');
      await initCpuWasm();
      return true;
    },
  },
  {
    name: 'webgpu',
    async init() {
      try {
        const { initWebGPU } = await import('../backends/webgpu/index.ts');
        await initWebGPU();
        return true;
      } catch (e) {
        const msg = `WebGPU tests SKIPPED: ${(e as Error).message}`;
        if ((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.SEGLLM_EXPECT_WEBGPU === '1') {
          throw new Error(`SEGLLM_EXPECT_WEBGPU=1 but ${msg}`);
        }
        console.warn(`\n!!!!!!!! ${msg}\n`);
        return false;
      }
    },
  },
];

let cached: Promise<string[]> | null = null;

export function availableBackends(): Promise<string[]> {
  cached ??= (async () => {
    const names = ['cpu'];
    for (const p of backendProviders) if (await p.init()) names.push(p.name);
    return names;
  })();
  return cached;
}
