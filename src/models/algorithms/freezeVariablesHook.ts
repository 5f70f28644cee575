/**
 * Holds some variables still at the start of training, then lets them learn: DINO's last layer
 * during the first epoch (Caron et al., arXiv:2104.14294, "freeze_last_layer": it stabilises the
 * start), SwAV's prototypes during the first epoch (Caron et al., arXiv:2006.09882, Appendix A.1).
 *
 * The variables stay in the optimizer but are marked not trainable before each step, so the
 * runner computes no gradient for them and the optimizer leaves them (and their weight decay)
 * alone, as PyTorch does for parameters whose gradient is None.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { PRIORITY } from '../../core/hookPriority';
import type { Hook, RunnerApi } from '../../train/hook';

export class FreezeVariablesHook implements Hook {
  readonly priority = PRIORITY.high;

  constructor(
    readonly name: string,
    private readonly variables: () => tf.Variable[],
    /** Iterations (optimizer steps) during which the variables are held. */
    private readonly frozenIters: (r: RunnerApi) => number,
  ) {}

  private apply(r: RunnerApi): void {
    const frozen = r.iter < this.frozenIters(r);
    for (const v of this.variables()) v.trainable = !frozen;
  }

  beforeRun(r: RunnerApi): void {
    this.apply(r);
  }

  beforeIter(r: RunnerApi): void {
    this.apply(r);
  }

  afterRun(): void {
    for (const v of this.variables()) v.trainable = true;
  }
}
