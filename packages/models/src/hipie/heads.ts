/**
 * Prediction heads (segllm-reference.md 4.6 step 5): the VL-aligned class head (`VL_Align`: keys
 * dot_product_projection_text, log_scale, bias_lang, bias0), the language-independent objectness head of the
 * two-stage selection (`Still_Classifier`: key body), and `boxIouHeads` sizes. Box heads and the controller are the
 * DETR MLP of @segllm/tensor (keys layers.i).
 *
 * VL_Align: e = l / max(|l|, 1e-12); P = Linear(e / 2); b = e . bias_lang + bias0;
 * logit[q, t] = (h_q . P_t) / exp(log_scale) + b_t, clamped to +-50000.
 */
import { constParam, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { Linear, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';

export class VLAlign extends Module {
  dot_product_projection_text: Linear;
  log_scale: Tensor;
  bias_lang: Tensor;
  bias0: Tensor;
  constructor(hidden: number, langDim: number, opts: InitOptions & { logScale?: number; priorProb?: number } = {}) {
    super();
    const prior = opts.priorProb ?? 0.01;
    this.dot_product_projection_text = new Linear(langDim, hidden, opts);
    this.log_scale = constParam([1], opts.logScale ?? 0, opts);
    this.bias_lang = constParam([langDim], 0, opts);
    this.bias0 = constParam([1], -Math.log((1 - prior) / prior), opts);
  }
  /** x [N, Q, C], lang [N, T, Cl] -> logits [N, Q, T]. */
  forward(x: Tensor, lang: Tensor): Tensor {
    return tidy(() => {
      const e = lang.div(lang.square().sum(-1, true).sqrt().clamp(1e-12, Infinity)); // [N, T, Cl]
      const tokens = this.dot_product_projection_text.forward(e.div(2)); // [N, T, C]
      const bias = e.matmul(this.bias_lang.unsqueeze(-1)).squeeze(-1).add(this.bias0); // [N, T]
      return x.matmul(tokens.transpose(-2, -1)).div(this.log_scale.exp()).add(bias.unsqueeze(1)).clamp(-50000, 50000); // [N, Q, T]
    });
  }
}

/** Objectness for the two-stage selection: Linear(hidden -> 1), ignoring the language. */
export class StillClassifier extends Module {
  body: Linear;
  constructor(hidden: number, opts: InitOptions = {}) {
    super();
    this.body = new Linear(hidden, 1, opts);
  }
  forward(x: Tensor): Tensor {
    return this.body.forward(x);
  }
}
