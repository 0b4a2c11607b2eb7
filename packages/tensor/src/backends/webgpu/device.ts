/// <reference types="@webgpu/types" />
/**
 * Creating the process's device: the adapter (browser `navigator.gpu`, else Dawn from the `webgpu` package) with
 * its maximum limits and the wanted features, the Dawn toggles, and the runtime options (./runtime.ts).
 */
import type { BufferReuse } from './runtime.ts';
import { GpuRuntime, WANTED_FEATURES } from './runtime.ts';
import type { WaitMode } from './wait.ts';

export class WebGPUUnavailableError extends Error {
  override name = 'WebGPUUnavailableError';
}

export interface InitOptions {
  /** Extra Dawn flags for node (`create([...])`), e.g. 'backend=vulkan' or 'adapter=<name>'. */
  dawnFlags?: string[];
  powerPreference?: 'low-power' | 'high-performance';
  /** When freed buffers may be reused (default 'submitted'). */
  bufferReuse?: BufferReuse;
  /** false: never use subgroup operations, even when the adapter has 'subgroups' (the workgroup-memory path). */
  subgroups?: boolean;
  /**
   * How awaiting GPU work polls in Node (Dawn): 'spin' (Dawn's default, a core busy until the work is done), 'sleep'
   * (spin `spinMs`, then poll every millisecond), 'auto' (default: 'sleep' on CPU adapters, 'spin' on GPUs).
   * Without this option the environment variable SEGLLM_WEBGPU_WAIT (spin, sleep or auto) decides.
   */
  waitMode?: WaitMode;
  /** Spin phase of the 'sleep' wait mode in milliseconds (default 1). */
  spinMs?: number;
}

const HOWTO =
  'no WebGPU adapter found. In Node, install the `webgpu` npm package and a Vulkan driver (on Debian: Mesa lavapipe, ' +
  'see scripts/setup-webgpu.sh); in Chromium, start it with --enable-unsafe-webgpu (headless) or use a browser with WebGPU.';

/** Creates the adapter and device (browser `navigator.gpu`, else Dawn from the `webgpu` package). */
export async function createRuntime(opts: InitOptions = {}): Promise<GpuRuntime> {
  let gpu: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  let dawn = false;
  if (!gpu) {
    let mod: { create(flags: string[]): GPU; globals: Record<string, unknown> };
    try {
      const name = 'webgpu';
      mod = (await import(/* @vite-ignore */ name)) as typeof mod;
    } catch (e) {
      throw new WebGPUUnavailableError(
        `WebGPU in Node needs the optional peer dependency \`webgpu\` (Dawn), which could not be loaded: run \`npm install webgpu\` ` +
          `(and install a Vulkan driver), or pick device 'cpu-wasm' or 'cpu' (${(e as Error).message})`,
      );
    }
    Object.assign(globalThis, mod.globals);
    gpu = mod.create(['enable-dawn-features=allow_unsafe_apis', ...(opts.dawnFlags ?? [])]);
    dawn = true;
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new WebGPUUnavailableError(`${HOWTO} (requestAdapter failed: ${(e as Error).message})`);
  }
  if (!adapter) throw new WebGPUUnavailableError(HOWTO);
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  const lim = adapter.limits as unknown as Record<string, number>;
  for (const k in lim) if (typeof lim[k] === 'number') requiredLimits[k] = lim[k];
  const vendor = String((adapter.info as unknown as { vendor?: string }).vendor ?? '');
  const toggles = ['allow_unsafe_apis'];
  if (/nvidia/i.test(vendor)) toggles.push('vulkan_enable_f16_on_nvidia');
  const desc: GPUDeviceDescriptor & { dawnTogglesDescriptor?: { enabledToggles: string[] } } = { requiredFeatures, requiredLimits };
  if (dawn) desc.dawnTogglesDescriptor = { enabledToggles: toggles };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice(desc);
  } catch {
    // Some limits the adapter lists cannot be requested on every platform: retry with the defaults.
    device = await adapter.requestDevice({ requiredFeatures, ...(dawn ? { dawnTogglesDescriptor: { enabledToggles: toggles } } : {}) });
  }
  const r = new GpuRuntime(gpu, adapter, device);
  r.useSubgroups = r.features.has('subgroups') && opts.subgroups !== false;
  if (dawn) r.markDawn();
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.SEGLLM_WEBGPU_WAIT;
  const envMode = env === 'spin' || env === 'sleep' || env === 'auto' ? env : undefined;
  r.setWaitMode(opts.waitMode ?? envMode ?? 'auto', opts.spinMs);
  return r;
}
