import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import '../../src/builtins';
import { Random } from '../../src/core/random';
import { build } from '../../src/core/registry';
import { ntXentLoss } from '../../src/models/losses/ntXent';
import { infoNCE, queueContrastiveLoss } from '../../src/models/losses/infoNCE';
import { normalizedMseLoss } from '../../src/models/losses/normalizedMse';
import { sinkhornKnopp } from '../../src/models/losses/sinkhorn';
import { swavLoss } from '../../src/models/losses/swavLoss';
import { DINOLoss, teacherTemperature } from '../../src/models/losses/dinoLoss';

beforeAll(async () => {
  await useCpu();
});

type M = number[][];
const rng = new Random(7);
const randMatrix = (r: number, c: number): M => Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal(0, 1)));
const t2 = (m: M) => tf.tensor2d(m);
const value = (t: tf.Tensor) => t.dataSync()[0];
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const unit = (a: number[]) => {
  const n = Math.sqrt(dot(a, a));
  return a.map((v) => v / n);
};
const logSumExp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};
const softmax = (xs: number[]) => {
  const l = logSumExp(xs);
  return xs.map((x) => Math.exp(x - l));
};

/** SimCLR Algorithm 1, literally: l(i, j) over all 2N anchors with the 2N - 1 others in the denominator. */
function ntXentLoop(z1: M, z2: M, t: number): number {
  const n = z1.length;
  const z: M = [];
  for (let k = 0; k < n; k++) z.push(unit(z1[k]), unit(z2[k]));
  const l = (i: number, j: number) => {
    const others = z.map((zk, k) => (k === i ? -Infinity : dot(z[i], zk) / t)).filter((v) => v !== -Infinity);
    return -(dot(z[i], z[j]) / t - logSumExp(others));
  };
  let total = 0;
  for (let k = 0; k < n; k++) total += l(2 * k, 2 * k + 1) + l(2 * k + 1, 2 * k);
  return total / (2 * n);
}

describe('NT-Xent (SimCLR)', () => {
  it('matches a hand-computed value', () => {
    // Two images, views identical and orthogonal: each anchor sees its positive at similarity 1
    // and two negatives at 0 -> -log(e / (e + 2)) = log(1 + 2/e).
    const z = t2([
      [1, 0],
      [0, 1],
    ]);
    expect(value(ntXentLoss(z, z, 1))).toBeCloseTo(Math.log(1 + 2 / Math.E), 6);
    // At T = 0.5 the similarities double: log(1 + 2 e^-2).
    expect(value(ntXentLoss(z, z, 0.5))).toBeCloseTo(Math.log(1 + 2 * Math.exp(-2)), 6);
  });

  it('matches the paper\'s algorithm written as plain loops', () => {
    const z1 = randMatrix(5, 4);
    const z2 = randMatrix(5, 4);
    for (const t of [0.1, 0.5]) expect(value(ntXentLoss(t2(z1), t2(z2), t))).toBeCloseTo(ntXentLoop(z1, z2, t), 4);
  });

  it('rejects a temperature that is not positive, in the schema and the function', () => {
    expect(() => build('loss', { type: 'NTXentLoss', temperature: 0 })).toThrow(/temperature must be > 0/);
    expect(() => ntXentLoss(t2([[1, 0]]), t2([[1, 0]]), -1)).toThrow(/temperature/);
  });
});

describe('InfoNCE (MoCo)', () => {
  it('matches a hand-computed value', () => {
    // pos 1, negatives 0 and 0, T = 0.5: -log(e^2 / (e^2 + 2)) = log(1 + 2 e^-2)
    expect(value(infoNCE(t2([[1]]), t2([[0, 0]]), 0.5))).toBeCloseTo(Math.log(1 + 2 * Math.exp(-2)), 6);
  });

  it('matches MoCo\'s Algorithm 1 written as loops (queue of negatives)', () => {
    const q = randMatrix(4, 3).map(unit);
    const k = randMatrix(4, 3).map(unit);
    const queue = randMatrix(6, 3).map(unit);
    const t = 0.2;
    let expected = 0;
    for (let i = 0; i < 4; i++) {
      const logits = [dot(q[i], k[i]) / t, ...queue.map((n) => dot(q[i], n) / t)];
      expected += logSumExp(logits) - logits[0];
    }
    expect(value(queueContrastiveLoss(t2(q), t2(k), t2(queue), t))).toBeCloseTo(expected / 4, 5);
  });
});

describe('BYOL normalised MSE', () => {
  it('is 2 - 2 cos, averaged over the batch', () => {
    expect(value(normalizedMseLoss(t2([[1, 0]]), t2([[0, 3]])))).toBeCloseTo(2, 6);
    expect(value(normalizedMseLoss(t2([[1, 0]]), t2([[2, 0]])))).toBeCloseTo(0, 6);
    expect(value(normalizedMseLoss(t2([[1, 1], [1, 0]]), t2([[1, 0], [-1, 0]])))).toBeCloseTo((2 - Math.SQRT2 + 4) / 2, 5);
  });
});

/** SwAV's distributed_sinkhorn on one device, as loops over a K x B matrix. */
function sinkhornLoop(scores: M, eps: number, iters: number): M {
  const b = scores.length;
  const k = scores[0].length;
  const max = Math.max(...scores.flat());
  const q = Array.from({ length: k }, (_, p) => scores.map((row) => Math.exp((row[p] - max) / eps)));
  const total = q.flat().reduce((a, v) => a + v, 0);
  for (const row of q) for (let j = 0; j < b; j++) row[j] /= total;
  for (let it = 0; it < iters; it++) {
    for (const row of q) {
      const s = row.reduce((a, v) => a + v, 0);
      for (let j = 0; j < b; j++) row[j] /= s * k;
    }
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += q[p][j];
      for (let p = 0; p < k; p++) q[p][j] /= s * b;
    }
  }
  return Array.from({ length: b }, (_, j) => q.map((row) => row[j] * b));
}

describe('Sinkhorn-Knopp (SwAV)', () => {
  it('gives codes whose rows sum to 1 and columns to B / K', () => {
    const scores = randMatrix(12, 4).map((r) => unit(r));
    const q = sinkhornKnopp(t2(scores), 0.05, 3).arraySync();
    for (const row of q) expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
    // Three iterations nearly balance the prototypes; many make it exact.
    const exact = sinkhornKnopp(t2(scores), 0.5, 200).arraySync();
    for (let p = 0; p < 4; p++) expect(exact.reduce((a, row) => a + row[p], 0)).toBeCloseTo(12 / 4, 4);
    // The column error shrinks with every iteration (at the paper's eps 0.05).
    const colError = (iters: number) => {
      const c = sinkhornKnopp(t2(scores), 0.05, iters).arraySync();
      return Math.max(...[0, 1, 2, 3].map((p) => Math.abs(c.reduce((a, row) => a + row[p], 0) - 3)));
    };
    expect(colError(3)).toBeLessThan(colError(1));
    expect(colError(30)).toBeLessThan(colError(3));
    expect(colError(3)).toBeCloseTo(Math.max(...[0, 1, 2, 3].map((p) => Math.abs(q.reduce((a, row) => a + row[p], 0) - 3))), 6);
  });

  it('gives the uniform code for equal scores (hand-computed), and matches the paper\'s loop', () => {
    const q = sinkhornKnopp(tf.zeros([3, 5]) as tf.Tensor2D, 0.05, 3).arraySync();
    for (const row of q) for (const v of row) expect(v).toBeCloseTo(1 / 5, 6);
    const scores = randMatrix(6, 3).map((r) => unit(r));
    const got = sinkhornKnopp(t2(scores), 0.1, 3).arraySync();
    const want = sinkhornLoop(scores, 0.1, 3);
    for (let i = 0; i < 6; i++) for (let p = 0; p < 3; p++) expect(got[i][p]).toBeCloseTo(want[i][p], 4);
  });

  it('swapped prediction matches loops (codes of crops 0 and 1 predicted by every other crop)', () => {
    const views = [randMatrix(4, 3), randMatrix(4, 3), randMatrix(4, 3)].map((v) => v.map((r) => unit(r)));
    const t = 0.1;
    let expected = 0;
    for (const s of [0, 1]) {
      const q = sinkhornLoop(views[s], 0.05, 3);
      let sub = 0;
      let n = 0;
      views.forEach((z, v) => {
        if (v === s) return;
        let ce = 0;
        z.forEach((row, i) => {
          const l = logSumExp(row.map((x) => x / t));
          ce += -row.reduce((a, x, p) => a + q[i][p] * (x / t - l), 0);
        });
        sub += ce / 4;
        n++;
      });
      expected += sub / n;
    }
    const got = swavLoss(views.map(t2), { temperature: t, epsilon: 0.05, sinkhornIterations: 3, cropsForAssign: [0, 1] });
    expect(value(got)).toBeCloseTo(expected / 2, 4);
  });
});

describe('DINO loss', () => {
  const opts = { outDim: 3, teacherTemp: 0.07, warmupTeacherTemp: 0.04, warmupTeacherTempEpochs: 10, studentTemp: 0.1, centerMomentum: 0.9 };

  it('warms the teacher temperature up linearly, then holds it', () => {
    expect(teacherTemperature(opts, 0)).toBeCloseTo(0.04, 10);
    expect(teacherTemperature(opts, 5)).toBeCloseTo(0.055, 10);
    expect(teacherTemperature(opts, 10)).toBeCloseTo(0.07, 10);
    expect(teacherTemperature(opts, 50)).toBeCloseTo(0.07, 10);
  });

  it('matches Algorithm 1 as loops, and moves the centre by (1 - m) of the batch mean', () => {
    const loss = new DINOLoss(opts);
    loss.center.assign(tf.tensor2d([[0.1, -0.2, 0.3]]));
    const teacher = [randMatrix(2, 3), randMatrix(2, 3)];
    const student = [randMatrix(2, 3), randMatrix(2, 3), randMatrix(2, 3), randMatrix(2, 3)];
    const c = [0.1, -0.2, 0.3];
    const tt = teacherTemperature(opts, 2.5);
    let total = 0;
    let terms = 0;
    teacher.forEach((tv, g) => {
      student.forEach((sv, v) => {
        if (v === g) return;
        let h = 0;
        for (let i = 0; i < 2; i++) {
          const p = softmax(tv[i].map((x, k) => (x - c[k]) / tt));
          const ls = logSumExp(sv[i].map((x) => x / 0.1));
          h += -p.reduce((a, pk, k) => a + pk * (sv[i][k] / 0.1 - ls), 0);
        }
        total += h / 2;
        terms++;
      });
    });
    const out = loss.forward(student.map(t2), teacher.map(t2), 2.5);
    expect(value(out.loss)).toBeCloseTo(total / terms, 4);
    expect(out.teacherTemp).toBeCloseTo(tt, 10);
    const mean = [0, 1, 2].map((k) => (teacher[0][0][k] + teacher[0][1][k] + teacher[1][0][k] + teacher[1][1][k]) / 4);
    const centre = loss.center.arraySync() as M;
    for (let k = 0; k < 3; k++) expect(centre[0][k]).toBeCloseTo(0.9 * c[k] + 0.1 * mean[k], 5);
    expect(loss.stateDict().has('center')).toBe(true);
  });
});
