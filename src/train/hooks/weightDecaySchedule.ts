/**
 * A weight-decay schedule: the decay follows a cosine from the optimizer's `weight_decay` to
 * `end` over the run (DINO: 0.04 to 0.4, Caron et al., arXiv:2104.14294, Appendix; a larger
 * decay late in training sharpens ViT features). It scales the per-parameter decay multipliers,
 * so parameters excluded from decay (norms, biases) stay excluded.
 *
 * The value is a function of the iteration alone, so a resumed run decays exactly as an
 * uninterrupted one.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { PRIORITY, type Hook, type IterOutput, type RunnerApi } from '../hook';
import type { Optimizer } from '../optimizers/optimizer';

export const weightDecayScheduleParams = z.strictObject({
  end: z.number().min(0).describe('Weight decay at the last iteration (DINO: 0.4); the start is optimizer.weight_decay'),
  schedule: z.enum(['cosine', 'linear']).default('cosine').describe('Shape of the change from the start to the end value'),
});

export type WeightDecayScheduleParams = z.output<typeof weightDecayScheduleParams>;

/** The weight decay of 0-based iteration `iter`. */
export function scheduledWeightDecay(start: number, p: WeightDecayScheduleParams, iter: number, maxIters: number): number {
  const t = Math.min(1, iter / Math.max(1, maxIters));
  if (p.schedule === 'linear') return start + (p.end - start) * t;
  return p.end - ((p.end - start) * (Math.cos(Math.PI * t) + 1)) / 2;
}

export class WeightDecayScheduleHook implements Hook {
  readonly name = 'WeightDecayScheduleHook';
  readonly priority = PRIORITY.high;
  private baseMults?: Map<string, number>;
  private start = 0;
  /** The weight decay of the step about to run. */
  current = 0;

  constructor(readonly params: WeightDecayScheduleParams) {}

  private ensure(optimizer: Optimizer): void {
    if (this.baseMults) return;
    const start = (optimizer as unknown as { cfg?: { weight_decay?: number } }).cfg?.weight_decay;
    if (!start) {
      throw new UserError('WeightDecayScheduleHook: optimizer.weight_decay is 0 or absent; set it to the starting weight decay (DINO: 0.04) and hooks[].end to the final one');
    }
    this.start = start;
    this.baseMults = new Map(optimizer.params.map((p) => [p.name, p.decayMult]));
  }

  beforeIter(r: RunnerApi): void {
    this.ensure(r.optimizer);
    this.current = scheduledWeightDecay(this.start, this.params, r.iter, r.maxIters);
    const scale = this.current / this.start;
    for (const p of r.optimizer.params) p.decayMult = this.baseMults!.get(p.name)! * scale;
  }

  afterIter(_r: RunnerApi, out: IterOutput): void {
    out.logs.weight_decay = this.current;
  }
}

register('hook', {
  type: 'WeightDecayScheduleHook',
  description: 'Cosine (or linear) schedule of the weight decay from optimizer.weight_decay to `end` (DINO: 0.04 to 0.4)',
  paper: 'Caron et al., Emerging Properties in Self-Supervised Vision Transformers (DINO), ICCV 2021, arXiv:2104.14294',
  params: weightDecayScheduleParams,
  build: (p) => new WeightDecayScheduleHook(p),
});
