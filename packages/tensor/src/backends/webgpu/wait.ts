/**
 * How the JS thread waits for GPU work in Node. Dawn's node bindings (`webgpu` 0.6.2) deliver mapAsync and
 * onSubmittedWorkDone results from an AsyncRunner that, while any such promise is pending, calls
 * instance.ProcessEvents() and re-schedules itself with `setImmediate` (looked up on the global object each time),
 * so the event loop never blocks: the JS thread spins on a core for as long as the GPU works. On a CPU adapter
 * (lavapipe, SwiftShader) that core is taken from the GPU emulation itself.
 *
 * `WaitPolicy` (installed by the runtime in Node, see `InitOptions.waitMode`) wraps `globalThis.setImmediate`: the
 * binding's own callbacks (native functions without a name) keep spinning for `spinMs` after a wait begins (a
 * short readback returns with no added latency), then are re-scheduled as 1 ms timers, during which the event loop
 * sleeps in epoll. Every other setImmediate call passes straight through. Uninstalling restores the original.
 */
type ImmediateFn = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

/** 'spin': leave Dawn's busy polling alone; 'sleep': spin for `spinMs`, then poll every millisecond; 'auto': sleep on CPU adapters, spin on GPUs. */
export type WaitMode = 'spin' | 'sleep' | 'auto';

const isBindingTick = (f: unknown): f is () => void =>
  typeof f === 'function' && f.name === '' && Function.prototype.toString.call(f).endsWith('{ [native code] }');

export class WaitPolicy {
  /** Milliseconds of spinning (immediate re-polls) after a wait begins, before polling sleeps. */
  spinMs = 1;
  /** Binding ticks scheduled as immediates (spins) and as 1 ms timers (sleeps) since install. */
  readonly counts = { spins: 0, sleeps: 0 };
  #orig: ImmediateFn | null = null;
  #hook: ImmediateFn | null = null;
  #chainStart = 0;
  #inTick = false;

  get installed(): boolean {
    return this.#orig !== null;
  }

  install(): void {
    const g = globalThis as { setImmediate?: ImmediateFn };
    if (this.#orig || typeof g.setImmediate !== 'function') return;
    const orig = g.setImmediate;
    // The real timer, captured now (a test's fake timers installed later must not swallow Dawn's polling).
    const timer = globalThis.setTimeout;
    this.#orig = orig;
    const hook: ImmediateFn = (cb, ...args) => {
      if (args.length > 0 || !this.#orig || !isBindingTick(cb)) return orig(cb, ...args);
      const now = performance.now();
      // A tick scheduled from outside a tick starts a new chain (a new wait): spin first.
      if (!this.#inTick) this.#chainStart = now;
      const run = () => {
        this.#inTick = true;
        try {
          cb();
        } finally {
          this.#inTick = false;
        }
      };
      if (now - this.#chainStart < this.spinMs) {
        this.counts.spins++;
        return orig(run);
      }
      this.counts.sleeps++;
      return timer(run, 1);
    };
    this.#hook = hook;
    g.setImmediate = hook;
  }

  uninstall(): void {
    const g = globalThis as { setImmediate?: ImmediateFn };
    if (!this.#orig) return;
    // Someone wrapped setImmediate after us: leave their wrapper; ours then passes everything through.
    if (g.setImmediate === this.#hook) g.setImmediate = this.#orig;
    this.#orig = null;
    this.#hook = null;
  }

  /** Marks the start of an explicit wait (readback, sync): the binding's polling spins again for `spinMs`. */
  begin(): void {
    this.#chainStart = performance.now();
  }
}
