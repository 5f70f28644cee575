/**
 * Moves momentum (target) encoders after every optimizer step, with the momentum of a schedule
 * (BYOL's cosine increase from 0.996 to 1, Grill et al., arXiv:2006.07733, Section 3.2; MoCo's
 * constant 0.999). Self-supervised algorithms add it themselves for their MomentumEncoder
 * (EasyCV's BYOLHook/MomentumUpdateHook), so configs need not list it.
 *
 * The momentum is a function of the iteration alone, so a resumed run moves the target exactly
 * as an uninterrupted one; the targets' weights are in the model's checkpointed state.
 */
import { PRIORITY } from '../../../core/hookPriority';
import type { Hook, IterOutput, RunnerApi } from '../../../train/hook';
import type { MomentumEncoder } from './momentum';

export class MomentumUpdateHook implements Hook {
  readonly name = 'MomentumUpdateHook';
  // Before evaluation and checkpoints (normal) and the logger (veryLow), which reports `momentum`.
  readonly priority = PRIORITY.high;

  constructor(readonly encoder: Pick<MomentumEncoder, 'update'>) {}

  afterIter(r: RunnerApi, out: IterOutput): void {
    // r.iter counts finished steps: the step just taken is r.iter - 1.
    out.logs.momentum = this.encoder.update(r.iter - 1, r.maxIters);
  }
}
