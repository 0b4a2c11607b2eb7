/** Basic layers: Linear, Identity, Dropout, activations, Embedding, Sequential and the DETR/SAM-style MLP. */
import type { Tensor } from '../tensor.ts';
import { zerosLike } from '../tensor.ts';
import { where } from '../ops/elementwise/elementwise.ts';
import { linear, type Activation, type LinearOptions } from '../ops/matmul/matmul.ts';
import { copyInto } from '../ops/copy/copy.ts';
import { embedding } from '../ops/index.ts';
import { rand } from '../random.ts';
import type { Generator } from '../random.ts';
import { noGrad } from '../autograd/engine.ts';
import { tidy } from '../memory.ts';
import type { Layer } from './module.ts';
import { Module, ModuleError } from './module.ts';
import type { ParamInitOptions } from './init.ts';
import { normalParam, uniformParam } from './init.ts';

/** y = x W^T + b with weight [out, in] (PyTorch's layout and default initialisation). */
export class Linear extends Module implements Layer {
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly in_features: number,
    readonly out_features: number,
    opts: ParamInitOptions & { bias?: boolean } = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(in_features);
    this.weight = uniformParam([out_features, in_features], bound, opts);
    this.bias = opts.bias === false ? null : uniformParam([out_features], bound, opts);
  }
  /** x W^T + b; `opts.activation` applies an activation in the same kernel where the backend fuses it. */
  forward(x: Tensor, opts?: LinearOptions): Tensor {
    return linear(x, this.weight, this.bias, opts);
  }
}

export class Identity extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.view(x.shape);
  }
}

/** Zeroes elements with probability p in training mode (scaling the rest by 1/(1-p)); the identity in eval mode. */
export class Dropout extends Module implements Layer {
  constructor(
    readonly p = 0.5,
    readonly generator?: Generator,
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ModuleError(`Dropout probability must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x.view(x.shape);
    return tidy(() => {
      if (this.p === 1) return x.mul(0);
      const keep = noGrad(() => rand(x.shape, { backend: x.backend, generator: this.generator }).ge(this.p)); // [...x]
      return where(keep, x.mul(1 / (1 - this.p)), 0);
    });
  }
}

export class ReLU extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** GELU, exact (erf) or with approximate = 'tanh'. */
export class GELU extends Module implements Layer {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
}

/** x * sigmoid(1.702 x) (CLIP). */
export class QuickGELU extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.quickGelu();
  }
}

export class SiLU extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Sigmoid extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** Lookup table weight [num_embeddings, embedding_dim], initialised N(0, 1) (the padding row zeroed). */
export class Embedding extends Module {
  weight: Tensor;
  constructor(
    readonly num_embeddings: number,
    readonly embedding_dim: number,
    opts: ParamInitOptions & { paddingIdx?: number } = {},
  ) {
    super();
    this.weight = normalParam([num_embeddings, embedding_dim], 1, opts);
    if (opts.paddingIdx !== undefined) zeroRow(this.weight, opts.paddingIdx);
  }
  /** ids: int32 [...] -> [..., embedding_dim]. */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}

function zeroRow(w: Tensor, i: number): void {
  noGrad(() => {
    const row = w.narrow(0, i, 1);
    const z = zerosLike(row);
    copyInto(row, z);
    row.dispose();
    z.dispose();
  });
}

/** Children in order under numeric keys ('0', '1', ...), parameterless ones included, like torch.nn.Sequential. */
export class Sequential extends Module implements Layer {
  readonly #mods: Layer[];
  constructor(...mods: Layer[]) {
    super();
    this.#mods = mods;
    const self = this as unknown as Record<string, unknown>;
    mods.forEach((m, i) => (self[String(i)] = m));
  }
  get length(): number {
    return this.#mods.length;
  }
  at(i: number): Layer {
    const m = this.#mods.at(i);
    if (!m) throw new RangeError(`Sequential has ${this.#mods.length} children, no index ${i}`);
    return m;
  }
  /** Runs the children in order; a Linear followed by ReLU, GELU, QuickGELU or SiLU runs as one fused `linear`. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = x;
      const mods = this.#mods;
      for (let i = 0; i < mods.length; i++) {
        const m = mods[i];
        // exactly Linear: a subclass may override forward and ignore the activation
        const act = m.constructor === Linear && i + 1 < mods.length ? activationOf(mods[i + 1]) : null;
        if (act) {
          y = (m as Linear).forward(y, { activation: act });
          i++;
        } else y = m.forward(y);
      }
      return y === x ? x.view(x.shape) : y;
    });
  }
}

/** The `linear` activation a layer computes, or null when it is not one linear can fuse. */
function activationOf(m: Layer): Activation | null {
  if (m instanceof ReLU) return 'relu';
  if (m instanceof GELU) return m.approximate === 'tanh' ? 'gelu_tanh' : 'gelu';
  if (m instanceof QuickGELU) return 'quick_gelu';
  if (m instanceof SiLU) return 'silu';
  return null;
}

/** The DETR/SAM MLP: `layers.i` Linear layers with ReLU between them (none after the last). */
export class MLP extends Module implements Layer {
  layers: Linear[];
  constructor(inputDim: number, hiddenDim: number, outputDim: number, numLayers: number, opts: ParamInitOptions & { sigmoidOutput?: boolean } = {}) {
    super();
    const dims = [inputDim, ...new Array<number>(numLayers - 1).fill(hiddenDim), outputDim];
    this.layers = Array.from({ length: numLayers }, (_, i) => new Linear(dims[i], dims[i + 1], opts));
    this.sigmoidOutput = opts.sigmoidOutput ?? false;
  }
  readonly sigmoidOutput: boolean;
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = x;
      this.layers.forEach((l, i) => {
        y = l.forward(y);
        if (i < this.layers.length - 1) y = y.relu();
      });
      return this.sigmoidOutput ? y.sigmoid() : y;
    });
  }
}
