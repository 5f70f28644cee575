/**
 * Exponential moving average of the weights (Polyak averaging; as in timm's ModelEmaV2 and
 * YOLOX): evaluation and the saved best checkpoint use the averaged weights, which are usually
 * better than the last ones. The effective decay ramps up as decay * (1 - exp(-iter / 2000)),
 * YOLOX's warm-up, so early averages are not dominated by the random initialisation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { PRIORITY, type Hook, type IterOutput, type RunnerApi } from '../hook';

export const emaParams = z.strictObject({
  decay: z.number().min(0).max(1).default(0.9998).describe('Weight of the running average per step'),
  warmup: z.boolean().default(true).describe('Ramp the decay up over the first few thousand iterations (YOLOX)'),
  warmup_iters: z.number().int().min(1).default(2000).describe('Time constant of the ramp, in iterations'),
});

export class EMAHook implements Hook {
  readonly name = 'EMAHook';
  readonly priority = PRIORITY.aboveNormal;
  private shadow?: Map<string, tf.Variable>;
  private swapped?: Map<string, tf.Tensor>;

  constructor(readonly params: z.output<typeof emaParams>) {}

  private ensure(r: RunnerApi): Map<string, tf.Variable> {
    if (!this.shadow) {
      this.shadow = new Map();
      for (const [name, v] of r.model.stateDict()) this.shadow.set(name, tf.variable(v.clone(), false));
    }
    return this.shadow;
  }

  beforeRun(r: RunnerApi): void {
    this.ensure(r);
  }

  afterIter(r: RunnerApi, _out: IterOutput): void {
    const shadow = this.ensure(r);
    const d = this.params.warmup ? this.params.decay * (1 - Math.exp(-r.iter / this.params.warmup_iters)) : this.params.decay;
    tf.tidy(() => {
      for (const [name, v] of r.model.stateDict()) {
        const s = shadow.get(name)!;
        s.assign(tf.add(tf.mul(s, d), tf.mul(v, 1 - d)));
      }
    });
  }

  beforeEval(r: RunnerApi): void {
    const shadow = this.ensure(r);
    this.swapped = new Map();
    for (const [name, v] of r.model.stateDict()) {
      this.swapped.set(name, v.clone());
      v.assign(shadow.get(name)!);
    }
  }

  afterEval(r: RunnerApi): void {
    if (!this.swapped) return;
    for (const [name, v] of r.model.stateDict()) {
      const saved = this.swapped.get(name)!;
      v.assign(saved);
      saved.dispose();
    }
    this.swapped = undefined;
  }

  tensors(): Map<string, tf.Tensor> {
    return new Map(this.shadow ?? []);
  }

  loadTensors(tensors: Map<string, tf.Tensor>): void {
    if (!this.shadow) this.shadow = new Map();
    for (const [name, t] of tensors) {
      const s = this.shadow.get(name);
      if (s) s.assign(t);
      else this.shadow.set(name, tf.variable(t.clone(), false));
    }
  }
}

register('hook', {
  type: 'EMAHook',
  description: 'Exponential moving average of the weights, used for evaluation and the best checkpoint',
  paper: 'Polyak and Juditsky, 1992; the warm-up of YOLOX (Ge et al., 2021, arXiv:2107.08430)',
  params: emaParams,
  build: (p) => new EMAHook(p),
});
