/**
 * Moves momentum (target) encoders after every optimizer step, with the momentum of a schedule
 * (BYOL's cosine increase from 0.996 to 1, Grill et al., arXiv:2006.07733, Section 3.2; MoCo's
 * constant 0.999). Self-supervised algorithms add it themselves from their `momentum` parameters
 * (EasyCV's BYOLHook/MomentumUpdateHook), so configs need not list it.
 *
 * The momentum is a function of the iteration alone, so a resumed run moves the target exactly
 * as an uninterrupted one; the targets' weights are in the model's checkpointed state.
 */
import { PRIORITY, type Hook, type IterOutput, type RunnerApi } from '../hook';
import { momentumUpdate, scheduledMomentum, type MomentumPair, type MomentumSchedule } from '../../models/algorithms/selfsup/momentum';

export class MomentumUpdateHook implements Hook {
  readonly name = 'MomentumUpdateHook';
  // Before evaluation and checkpoints (normal) and the logger (veryLow), which reports `momentum`.
  readonly priority = PRIORITY.high;

  /**
   * @param offset  the schedule's position of the update after step k is k + offset: 0 where the
   *   reference updates after its optimizer step with that step's momentum (BYOL Algorithm 1, DINO);
   *   1 where it updates at the start of the next step with that step's (MoBY's moby.py: its counter
   *   also counts the no-op update before the first step).
   */
  constructor(
    private readonly pairs: () => MomentumPair[],
    readonly schedule: MomentumSchedule,
    readonly offset = 0,
  ) {}

  /** The momentum applied after 0-based step `iter`. */
  momentumAt(iter: number, maxIters: number): number {
    return scheduledMomentum(this.schedule, iter + this.offset, maxIters);
  }

  afterIter(r: RunnerApi, out: IterOutput): void {
    // r.iter counts finished steps: the step just taken is r.iter - 1.
    const m = this.momentumAt(r.iter - 1, r.maxIters);
    for (const pair of this.pairs()) momentumUpdate(pair, m);
    out.logs.momentum = m;
  }
}
