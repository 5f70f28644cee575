/**
 * DINO's self-distillation loss (Caron et al., Emerging Properties in Self-Supervised Vision
 * Transformers, ICCV 2021, arXiv:2104.14294, Eq. 2-4 and Algorithm 1).
 *
 * The teacher's outputs on the global crops are centred (minus a running mean c of the teacher's
 * outputs) and sharpened (a low temperature tau_t), the student's outputs on every crop are
 * softened with tau_s, and the student predicts the teacher's distribution of every *other* crop:
 *
 *   L = 1/|pairs| sum_{g in global} sum_{v != g} H(P_t(x_g), P_s(x_v)),   H(a, b) = -a . log b
 *   P_t = softmax((t - c) / tau_t),  P_s = softmax(s / tau_s),
 *   c <- m c + (1 - m) mean_batch(t)      (after the loss, Eq. 4)
 *
 * Centring alone would collapse to the uniform distribution and sharpening alone to one
 * dimension; together they balance. tau_t warms up linearly from `warmup_teacher_temp` (0.04) to
 * `teacher_temp` (0.04 to 0.07) over the first epochs, as in the paper's Appendix.
 *
 * The centre is a module buffer, so checkpoints and resumed runs carry it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module } from '../nn/module';
import { lossSpec } from './lossSlot';
import { stopGradient } from '../nn/stopGradient';
import { meanRows } from '../nn/overRanks';

export interface DINOLossOptions {
  outDim: number;
  /** Teacher temperature after warm-up (0.04 default, up to 0.07). */
  teacherTemp: number;
  /** Teacher temperature at the start of the warm-up (0.04). */
  warmupTeacherTemp: number;
  /** Epochs of linear warm-up of the teacher temperature (30 in the paper; fractional epochs are fine). */
  warmupTeacherTempEpochs: number;
  /** Student temperature (0.1). */
  studentTemp: number;
  /** Momentum of the centre's moving average (0.9). */
  centerMomentum: number;
}

/** The teacher temperature at a (fractional) epoch: linear warm-up, then constant. */
export function teacherTemperature(o: Pick<DINOLossOptions, 'teacherTemp' | 'warmupTeacherTemp' | 'warmupTeacherTempEpochs'>, epoch: number): number {
  if (o.warmupTeacherTempEpochs <= 0 || epoch >= o.warmupTeacherTempEpochs) return o.teacherTemp;
  return o.warmupTeacherTemp + ((o.teacherTemp - o.warmupTeacherTemp) * epoch) / o.warmupTeacherTempEpochs;
}

export class DINOLoss extends Module {
  /** Running mean of the teacher outputs `[1, out_dim]`. */
  readonly center: tf.Variable;

  constructor(readonly options: DINOLossOptions) {
    super();
    this.center = this.buffer('center', tf.zeros([1, options.outDim]));
  }

  /**
   * `student[v]` `[B, out_dim]` for every crop (globals first), `teacher[g]` for the global crops.
   * `epoch` (fractional) sets the teacher temperature. Updates the centre when `updateCenter`.
   */
  forward(student: tf.Tensor2D[], teacher: tf.Tensor2D[], epoch: number, updateCenter = true): { loss: tf.Scalar; teacherTemp: number; teacherEntropy: tf.Scalar } {
    const o = this.options;
    const temp = teacherTemperature(o, epoch);
    const result = tf.tidy(() => {
      const targets = teacher.map((t) => tf.softmax(tf.div(tf.sub(stopGradient(t), this.center), temp)));
      const logProbs = student.map((s) => tf.logSoftmax(tf.div(s, o.studentTemp)));
      let total: tf.Tensor = tf.scalar(0);
      let terms = 0;
      targets.forEach((q, g) => {
        logProbs.forEach((lp, v) => {
          if (v === g) return;
          total = tf.add(total, tf.mean(tf.sum(tf.mul(tf.neg(q), lp), -1)));
          terms++;
        });
      });
      const p = targets[0];
      const entropy = tf.neg(tf.mean(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-12))), -1)));
      return { loss: tf.div(total, Math.max(1, terms)) as tf.Scalar, teacherEntropy: entropy as tf.Scalar };
    });
    if (updateCenter) this.updateCenter(teacher);
    return { ...result, teacherTemp: temp };
  }

  /** c <- m c + (1 - m) mean of the teacher outputs over all global crops (Eq. 4), of every rank in a data-parallel run. */
  updateCenter(teacher: tf.Tensor2D[]): void {
    const m = this.options.centerMomentum;
    tf.tidy(() => {
      const all = stopGradient(tf.concat(teacher, 0)) as tf.Tensor2D;
      const batchCenter = meanRows(all);
      this.center.assign(tf.add(tf.mul(this.center, m), tf.mul(batchCenter, 1 - m)));
    });
  }
}

export const dinoLossParams = z.strictObject({
  out_dim: z.number().int().min(1).optional().describe('Width of the head\'s outputs, the centre\'s width (default: the head\'s out_channels)'),
  warmup_teacher_temp: z.number().gt(0).default(0.04).describe('Teacher temperature at the start of its warm-up (0.04)'),
  teacher_temp: z.number().gt(0).default(0.04).describe('Teacher temperature after the warm-up (0.04; up to 0.07 for long runs)'),
  warmup_teacher_temp_epochs: z.number().min(0).default(30).describe('Epochs of linear warm-up of the teacher temperature (30 in the paper; scale it down for short runs)'),
  student_temp: z.number().gt(0).default(0.1).describe('Student temperature (0.1)'),
  center_momentum: z.number().min(0).max(1).default(0.9).describe('Momentum of the running centre of the teacher outputs (0.9)'),
});

register(
  'loss',
  lossSpec('distillation', {
    type: 'DINOLoss',
    description: 'Cross-entropy of the student\'s crops against the centred, sharpened teacher of the other crops (DINO)',
    paper: 'Caron et al., Emerging Properties in Self-Supervised Vision Transformers (DINO), ICCV 2021, arXiv:2104.14294, Eq. 2-4',
    params: dinoLossParams,
    build: (p) => {
      if (p.out_dim === undefined) throw new UserError('DINOLoss: out_dim is unknown; set it, or use the loss inside DINO, which takes its head\'s out_channels');
      return new DINOLoss({
        outDim: p.out_dim,
        teacherTemp: p.teacher_temp,
        warmupTeacherTemp: p.warmup_teacher_temp,
        warmupTeacherTempEpochs: p.warmup_teacher_temp_epochs,
        studentTemp: p.student_temp,
        centerMomentum: p.center_momentum,
      });
    },
  }),
);
