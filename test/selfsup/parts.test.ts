import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu, maxAbsDiff } from '../helpers/tf';
import '../../src/builtins';
import { Random } from '../../src/core/random';
import { build } from '../../src/core/registry';
import { seedInit, seedStep, stepRandom, stopGradient } from '../../src/models/nn';
import type { MoCoV2 } from '../../src/models/algorithms/selfsup/mocoV2';
import { FeatureQueue } from '../../src/models/algorithms/selfsup/queue';
import { MomentumEncoder, momentumUpdate, scheduledMomentum } from '../../src/models/algorithms/selfsup/momentum';
import type { Module } from '../../src/models/nn/module';
import { randomMasking } from '../../src/models/algorithms/selfsup/mae';
import { maskedPatchLoss, patchify } from '../../src/models/losses/maskedPatchLoss';
import { sincos2d } from '../../src/models/necks/maeNeck';
import { NonLinearNeck } from '../../src/models/necks/nonLinearNeck';
import { DINOHead } from '../../src/models/heads/dinoHead';
import { MomentumUpdateHook } from '../../src/models/algorithms/selfsup/momentumUpdateHook';
import { WeightDecayScheduleHook, scheduledWeightDecay } from '../../src/train/hooks/weightDecaySchedule';
import type { RunnerApi } from '../../src/train/hook';

beforeAll(async () => {
  await useCpu();
});

describe('FeatureQueue', () => {
  it('enqueues over the oldest rows, wraps around, and keeps the pointer and fill count in its buffers', () => {
    seedInit(1);
    const q = new FeatureQueue(5, 2);
    // Starts with random unit rows.
    for (const row of q.queue.arraySync() as number[][]) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    const keys = (a: number) => tf.tensor2d([a, a, a + 1, a + 1], [2, 2]);
    q.enqueue(keys(10));
    q.enqueue(keys(20));
    expect(q.ptr.dataSync()[0]).toBe(4);
    expect(q.count()).toBe(4);
    q.enqueue(keys(30)); // row 4, then wraps to row 0
    const rows = (q.queue.arraySync() as number[][]).map((r) => r[0]);
    expect(rows).toEqual([31, 11, 20, 21, 30]);
    expect(q.ptr.dataSync()[0]).toBe(1);
    expect(q.count()).toBe(5);
    // A batch larger than the queue keeps its last rows.
    q.enqueue(tf.tile(tf.tensor2d([1, 2, 3, 4, 5, 6, 7], [7, 1]), [1, 2]) as tf.Tensor2D);
    expect((q.queue.arraySync() as number[][]).map((r) => r[0])).toEqual([7, 3, 4, 5, 6]);
    expect([...q.stateDict().keys()].sort()).toEqual(['filled', 'ptr', 'queue']);
  });

  it('gives a snapshot that keeps the old values after an enqueue', () => {
    const q = new FeatureQueue(2, 1, { normalize: false });
    q.enqueue(tf.tensor2d([[1], [2]]));
    const snap = q.snapshot();
    q.enqueue(tf.tensor2d([[3], [4]]));
    expect(Array.from(snap.dataSync())).toEqual([1, 2]);
    expect(Array.from(q.queue.dataSync())).toEqual([3, 4]);
  });
});

describe('momentum encoders', () => {
  it('follow the cosine schedule from base to end (BYOL)', () => {
    const s = { base: 0.996, end: 1, schedule: 'cosine' as const };
    expect(scheduledMomentum(s, 0, 100)).toBeCloseTo(0.996, 12);
    expect(scheduledMomentum(s, 50, 100)).toBeCloseTo(0.998, 12);
    expect(scheduledMomentum(s, 100, 100)).toBeCloseTo(1, 12);
    expect(scheduledMomentum(s, 25, 100)).toBeCloseTo(1 - 0.004 * (Math.cos(Math.PI / 4) + 1) / 2, 12);
    expect(scheduledMomentum({ base: 0.999, end: 1, schedule: 'constant' }, 70, 100)).toBe(0.999);
  });

  it('move by exactly the scheduled amount after each step and receive no gradient', () => {
    const neck = (inChannels: number) => new NonLinearNeck({ in_channels: inChannels, hid_channels: 4, out_channels: 2, num_layers: 2, with_bias: true, with_bn: false, with_last_bn: false, last_bn_affine: true, with_avg_pool: true });
    seedInit(2);
    const online = { backbone: neck(3), top: neck(2) };
    seedInit(3);
    const target = { backbone: neck(3), top: neck(2) };
    const encoder = new MomentumEncoder(online, target, { base: 0.9, end: 1, schedule: 'cosine' });
    const onlineState = () => new Map([...online.backbone.namedParameters('backbone.'), ...online.top.namedParameters('top.')].map(([n, p]) => [n, p.variable]));
    const targetParams = () => [...target.backbone.namedParameters('backbone.'), ...target.top.namedParameters('top.')];
    expect(target.backbone.trainableVariables()).toHaveLength(0);
    expect(target.top.trainableVariables()).toHaveLength(0);
    // The target starts as an exact copy.
    for (const [n, p] of targetParams()) expect(maxAbsDiff(p.variable.dataSync(), onlineState().get(n)!.dataSync())).toBe(0);

    // A step: gradients are taken with respect to the trainable variables, as the runner does.
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 4);
    const forward = (m: typeof online) => m.top.project(m.backbone.project(x));
    const vars = [online.backbone, online.top, target.backbone, target.top].flatMap((m) => m.trainableVariables());
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(online), stopGradient(forward(target)))) as tf.Scalar, vars);
    const targetNames = new Set(targetParams().map(([, p]) => p.variable.name));
    expect(Object.keys(grads).some((n) => targetNames.has(n))).toBe(false);
    for (const v of [...online.backbone.trainableVariables(), ...online.top.trainableVariables()]) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.5)));

    const before = new Map(targetParams().map(([n, p]) => [n, p.variable.dataSync().slice()]));
    const hook = new MomentumUpdateHook(encoder);
    const out = { loss: 0, logs: {} as Record<string, number>, samples: 5, lr: 0.1, seconds: 0, dataSeconds: 0 };
    hook.afterIter({ iter: 3, maxIters: 10 } as RunnerApi, out);
    const m = 1 - 0.1 * (Math.cos((Math.PI * 2) / 10) + 1) / 2; // the step just taken is iteration 2
    expect(out.logs.momentum).toBeCloseTo(m, 12);
    for (const [n, p] of targetParams()) {
      const on = onlineState().get(n)!.dataSync();
      const want = before.get(n)!.map((t, i) => m * t + (1 - m) * on[i]);
      expect(maxAbsDiff(p.variable.dataSync(), want)).toBeLessThan(1e-6);
    }
    // MoBY's offset: the update after step k uses the momentum of k + 1.
    const shifted = new MomentumEncoder({ backbone: neck(3), top: neck(2) }, { backbone: neck(3), top: neck(2) }, { base: 0.9, end: 1, schedule: 'cosine' }, 1);
    expect(shifted.momentumAt(2, 10)).toBe(encoder.momentumAt(3, 10));
    expect(() => momentumUpdate({ online: online.top, target: target.top }, 1.5)).toThrow(/momentum/);
  });

  it('are built by the algorithms as frozen copies under their checkpoint names, with a stochastic depth of their own where the method says so', () => {
    const vit = { type: 'VisionTransformer', arch: 'custom', img_size: 16, patch_size: 4, in_channels: 1, embed_dim: 16, depth: 2, num_heads: 2, drop_path_rate: 0.2 };
    const neck = { type: 'NonLinearNeckV2', hid_channels: 8, out_channels: 4 };
    // BYOL and MoCo copy the backbone as configured; MoBY and DINO give the copy its own rate.
    const cases: Array<[Record<string, unknown>, string[], number]> = [
      [{ type: 'BYOL', backbone: vit, neck }, ['target_backbone', 'target_neck'], 0.2],
      [{ type: 'MoCoV2', backbone: vit, neck: { type: 'NonLinearNeckV1', hid_channels: 8, out_channels: 4 }, queue_len: 8 }, ['key_backbone', 'key_neck'], 0.2],
      [{ type: 'MoBY', backbone: vit, neck, queue_len: 8, target_drop_path_rate: 0.05 }, ['target_backbone', 'target_neck'], 0.05],
      [{ type: 'DINO', backbone: vit, head: { type: 'DINOHead', hid_channels: 8, bottleneck_channels: 4, out_channels: 8 } }, ['teacher_backbone', 'teacher_head'], 0],
    ];
    for (const [cfg, names, targetDropPath] of cases) {
      seedInit(1);
      const model = build<Module & { backbone: { params: { drop_path_rate: number } } }>('model', cfg);
      const children = new Map(model.children());
      const [targetBackbone, targetTop] = names.map((n) => children.get(n)!);
      expect(targetBackbone.trainableVariables()).toHaveLength(0);
      expect(targetTop.trainableVariables()).toHaveLength(0);
      const state = model.stateDict();
      for (const [n, v] of targetBackbone.stateDict()) expect(maxAbsDiff(v.dataSync(), state.get(`backbone.${n}`)!.dataSync())).toBe(0);
      expect((targetBackbone as unknown as { params: { drop_path_rate: number } }).params.drop_path_rate).toBe(targetDropPath);
      expect(model.backbone.params.drop_path_rate).toBe(0.2);
      // The model's trainable variables are the online network's (and heads') alone.
      const frozen = new Set([...targetBackbone.namedParameters(), ...targetTop.namedParameters()].map(([, p]) => p.variable.name));
      expect(model.trainableVariables().some((v) => frozen.has(v.name))).toBe(false);
      model.dispose();
    }
  });
});

describe("MoCo's shuffling batch norm", () => {
  const resnet = { type: 'ResNet', depth: 18, stem: 'cifar', in_channels: 1, base_width: 4 };
  const moco = (groups: number) => {
    seedInit(1);
    return build<MoCoV2>('model', { type: 'MoCoV2', backbone: resnet, neck: { type: 'NonLinearNeckV1', hid_channels: 8, out_channels: 4 }, queue_len: 16, shuffle_bn_groups: groups });
  };

  it("normalises each key with the statistics of its slice of the shuffled batch, and returns the keys in the batch's order", () => {
    const model = moco(2);
    const im = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    seedStep(5, 0);
    const order = stepRandom().permutation(8);
    seedStep(5, 0);
    const keys = model.encodeKeys(im);
    // Key 0 shares batch-norm statistics with the images of its slice (of 4) in the shuffled order only.
    const slice = order.indexOf(0) < 4 ? [...order.slice(0, 4)] : [...order.slice(4)];
    const changed = (j: number) => {
      const other = tf.tidy(() => tf.concat([tf.slice(im, 0, j), tf.add(tf.slice(im, j, 1), 5), tf.slice(im, j + 1)], 0)) as tf.Tensor4D;
      seedStep(5, 0);
      return maxAbsDiff(tf.slice(model.encodeKeys(other), 0, 1).dataSync(), tf.slice(keys, 0, 1).dataSync());
    };
    const mate = slice.find((j) => j !== 0)!;
    const stranger = [...order].find((j) => !slice.includes(j))!;
    expect(changed(mate)).toBeGreaterThan(1e-3);
    expect(changed(stranger)).toBeLessThan(1e-5);
    // With batch norm on running statistics (no batch statistics) the shuffle must change nothing
    // (fresh models: the forwards above moved the running statistics).
    model.dispose();
    const fresh = moco(2);
    fresh.key.target.backbone.eval();
    fresh.key.target.top.eval();
    seedStep(5, 0);
    const shuffled = fresh.encodeKeys(im);
    const plain = moco(1);
    plain.key.target.backbone.eval();
    plain.key.target.top.eval();
    expect(maxAbsDiff(shuffled.dataSync(), plain.encodeKeys(im).dataSync())).toBeLessThan(1e-5);
    fresh.dispose();
    plain.dispose();
  });

  it('trains with the query encoder in slices too', async () => {
    const model = moco(2);
    const a = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const b = tf.add(a, tf.randomNormal([8, 8, 8, 1], 0, 0.1, 'float32', 2)) as tf.Tensor4D;
    seedStep(1, 0);
    const out = model.trainStep({ views: [a, b] } as never);
    expect(Number.isFinite((await out.loss.data())[0])).toBe(true);
    model.dispose();
  });
});

describe('weight-decay schedule', () => {
  it('scales the decay multipliers from optimizer.weight_decay to end along a cosine, keeping excluded parameters at 0', () => {
    expect(scheduledWeightDecay(0.04, { end: 0.4, schedule: 'cosine' }, 0, 10)).toBeCloseTo(0.04, 12);
    expect(scheduledWeightDecay(0.04, { end: 0.4, schedule: 'cosine' }, 5, 10)).toBeCloseTo(0.22, 12);
    expect(scheduledWeightDecay(0.04, { end: 0.4, schedule: 'cosine' }, 10, 10)).toBeCloseTo(0.4, 12);
    seedInit(1);
    const neck = new NonLinearNeck({ in_channels: 3, hid_channels: 4, out_channels: 2, num_layers: 2, with_bias: true, with_bn: true, with_last_bn: false, last_bn_affine: true, with_avg_pool: true });
    const factory = build<(n: unknown) => { params: Array<{ name: string; decayMult: number }> }>('optimizer', { type: 'AdamW', lr: 1e-3, weight_decay: 0.04 });
    const optimizer = factory(neck.namedParameters());
    const hook = build<WeightDecayScheduleHook>('hook', { type: 'WeightDecayScheduleHook', end: 0.4 });
    hook.beforeIter({ iter: 5, maxIters: 10, optimizer } as unknown as RunnerApi);
    expect(hook.current).toBeCloseTo(0.22, 12);
    const mult = new Map(optimizer.params.map((p) => [p.name, p.decayMult]));
    expect(mult.get('fc0.weight')).toBeCloseTo(0.22 / 0.04, 10);
    expect(mult.get('fc0.bias')).toBe(0);
    expect(mult.get('bn0.weight')).toBe(0);
  });
});

describe('MAE masking and loss', () => {
  it('masks exactly the stated ratio of each image, with consistent keep/restore indices', () => {
    const m = randomMasking(3, 16, 0.75, new Random(5));
    expect(m.keep).toBe(4);
    for (let b = 0; b < 3; b++) {
      const mask = Array.from(m.mask.subarray(b * 16, (b + 1) * 16));
      expect(mask.reduce((a, v) => a + v, 0)).toBe(12);
      const kept = Array.from(m.idsKeep.subarray(b * 4, (b + 1) * 4));
      for (const k of kept) expect(mask[k]).toBe(0);
      const restore = Array.from(m.idsRestore.subarray(b * 16, (b + 1) * 16));
      expect([...restore].sort((x, y) => x - y)).toEqual([...Array(16).keys()]);
      kept.forEach((patch, r) => expect(restore[patch]).toBe(r));
    }
    // Different images get different masks.
    expect(Array.from(m.mask.subarray(0, 16))).not.toEqual(Array.from(m.mask.subarray(16, 32)));
  });

  it('patchifies in row-major patch order with (row, col, channel) pixels inside', () => {
    const img = tf.reshape(tf.range(0, 16), [1, 4, 4, 1]) as tf.Tensor4D;
    const p = patchify(img, 2).arraySync();
    expect(p[0]).toEqual([
      [0, 1, 4, 5],
      [2, 3, 6, 7],
      [8, 9, 12, 13],
      [10, 11, 14, 15],
    ]);
  });

  it('averages the squared error over masked patches only (hand-computed), ignoring visible ones', () => {
    const target = tf.tensor3d([[[1, 1], [2, 2], [0, 4]]]);
    const mask = tf.tensor2d([[1, 0, 1]]);
    const pred = tf.tensor3d([[[0, 1], [100, -100], [1, 1]]]);
    // patch 0: ((1)^2 + 0)/2 = 0.5; patch 2: (1 + 9)/2 = 5; mean over 2 masked = 2.75
    expect(maskedPatchLoss(pred, target, mask, false).dataSync()[0]).toBeCloseTo(2.75, 6);
    const pred2 = tf.tensor3d([[[0, 1], [-7, 3], [1, 1]]]);
    expect(maskedPatchLoss(pred2, target, mask, false).dataSync()[0]).toBeCloseTo(2.75, 6);
    // Normalised pixels: patch [1, 1] -> [0, 0]; patch [0, 4] -> mean 2, unbiased var 8 -> [-s, s].
    const s = 2 / Math.sqrt(8 + 1e-6);
    const want = ((0 - 0) ** 2 + (1 - 0) ** 2) / 2 / 2 + ((1 + s) ** 2 + (1 - s) ** 2) / 2 / 2;
    expect(maskedPatchLoss(pred, tf.tensor3d([[[1, 1], [2, 2], [0, 4]]]), mask, true).dataSync()[0]).toBeCloseTo(want, 5);
  });

  it('makes the decoder\'s fixed 2-D sine-cosine positions as MAE does', () => {
    const e = sincos2d(8, 2, 3);
    // position (row 1, col 2): column part sin/cos(2 w_i), row part sin/cos(1 w_i), w = [1, 1/100]
    const row = Array.from(e.subarray((1 * 3 + 2) * 8, (1 * 3 + 3) * 8));
    const want = [Math.sin(2), Math.sin(0.02), Math.cos(2), Math.cos(0.02), Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01)];
    expect(maxAbsDiff(row, want)).toBeLessThan(1e-6);
  });
});

describe('necks and heads', () => {
  it('build the named NonLinearNeck variants with their papers\' layouts', () => {
    const simclr = build<NonLinearNeck>('neck', { type: 'NonLinearNeckSimCLR', in_channels: 8, hid_channels: 6, out_channels: 4 });
    expect([...simclr.stateDict().keys()].sort()).toEqual(['bn0.bias', 'bn0.running_mean', 'bn0.running_var', 'bn0.weight', 'bn1.running_mean', 'bn1.running_var', 'fc0.weight', 'fc1.weight']);
    const v1 = build<NonLinearNeck>('neck', { type: 'NonLinearNeckV1', in_channels: 8, hid_channels: 6, out_channels: 4 });
    expect(v1.namedParameters().map(([n]) => n)).toEqual(['fc0.weight', 'fc0.bias', 'fc1.weight', 'fc1.bias']);
    const v2 = build<NonLinearNeck>('neck', { type: 'NonLinearNeckV2', in_channels: 8 });
    expect(v2.params).toMatchObject({ hid_channels: 4096, out_channels: 256, with_bn: true, with_last_bn: false });
    // NHWC features are pooled first.
    expect(v1.forward([tf.ones([2, 3, 3, 8])])[0].shape).toEqual([2, 4]);
  });

  it('DINOHead normalises its bottleneck and the columns of its last layer (g fixed at 1)', () => {
    seedInit(4);
    const head = build<DINOHead>('head', { type: 'DINOHead', in_channels: 6, hid_channels: 8, bottleneck_channels: 5, out_channels: 7 });
    expect(head.lastLayer.weightG).toBeUndefined();
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 1);
    const y = head.forward([x]);
    expect(y.shape).toEqual([3, 7]);
    // Each output is a dot product of two unit vectors: |y| <= 1.
    expect(Math.max(...Array.from(tf.abs(y).dataSync()))).toBeLessThanOrEqual(1 + 1e-6);
    // Scaling v leaves the outputs unchanged (weight normalisation).
    head.lastLayer.weightV.assign(tf.mul(head.lastLayer.weightV, 3));
    expect(maxAbsDiff(head.forward([x]).dataSync(), y.dataSync())).toBeLessThan(1e-5);
    expect(head.lastLayerVariables()).toHaveLength(1);
  });
});
