// Every registered component builds from its schema's defaults (plus the few fields no default can
// give, in REQUIRED below) and runs once on a small input, as timm's test_models does for every
// model: a component added to the registry is covered here without a line of this file, or this
// test fails naming what it needs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { ensureGradients } from '../../src/engine/gradients';
import '../../src/builtins';
import { build, registries, type RegisteredComponent } from '../../src/core/registry';
import { COMPONENT_KINDS, type ComponentKind } from '../../src/core/kinds';
import { defaultOf, isPlainObject, shapeOf, slotKindOf } from '../../src/core/schema';
import { Random } from '../../src/core/random';
import { seedInit, seedStep } from '../../src/models/nn';
import type { Backbone } from '../../src/models/backbones/types';
import type { Algorithm, TensorBatch } from '../../src/models/algorithms/types';
import type { PipelineStep, ViewState } from '../../src/data/pipeline';
import type { Batch, Box } from '../../src/data/types';

/** Input side, batch size, classes: small enough for seconds on a CI core, large enough for a stride-32 backbone. */
const SIDE = 32;
const N = 2;
const CLASSES = 3;

/**
 * What the defaults cannot give, one row per component, with the reason. Defaults stay as they
 * are (the full-size networks): only what has no default is filled in, and a slot that takes a
 * backbone gets ResNet with its own defaults (ResNet-18) unless the method needs another family.
 */
const REQUIRED: Record<string, { params: Record<string, unknown>; why: string }> = {
  Classification: { params: { backbone: { type: 'ResNet' }, head: { type: 'ClsHead', num_classes: CLASSES } }, why: 'a backbone and a head with the number of classes are the user’s choice' },
  SimCLR: { params: { backbone: { type: 'ResNet' } }, why: 'the backbone is the user’s choice' },
  MoCoV2: { params: { backbone: { type: 'ResNet' } }, why: 'the backbone is the user’s choice' },
  BYOL: { params: { backbone: { type: 'ResNet' } }, why: 'the backbone is the user’s choice' },
  SwAV: { params: { backbone: { type: 'ResNet' } }, why: 'the backbone is the user’s choice' },
  MoBY: { params: { backbone: { type: 'VisionTransformer' } }, why: 'the backbone is the user’s choice among transformers (drop_path_rate); Swin in the paper, ViT-Tiny is cheaper here' },
  DINO: { params: { backbone: { type: 'VisionTransformer' } }, why: 'the backbone is the user’s choice (DINO is the ViT method)' },
  MAE: { params: { backbone: { type: 'VisionTransformer', img_size: SIDE } }, why: 'MAE masks patch tokens of a ViT, whose img_size fixes the decoder’s positions (default 224; the input here is SIDE)' },
  FCMAE: { params: { backbone: { type: 'ConvNeXt', use_grn: true } }, why: 'the backbone is the user’s choice among ConvNeXts (V2, with GRN, in the paper); at SIDE its last stage is one patch' },
  YOLOX: { params: { head: { type: 'YOLOXHead', num_classes: CLASSES } }, why: 'the number of classes comes from the training data’s categories' },
  EncoderDecoder: { params: { backbone: { type: 'ResNet', out_indices: [0, 1, 2, 3] }, decode_head: { type: 'UPerHead', num_classes: CLASSES } }, why: 'backbone and decode head (with the classes) are the user’s choice; UPerNet takes every stage' },
  Segmentation: { params: { backbone: { type: 'ResNet' }, decode_head: { type: 'FCNHead', num_classes: CLASSES } }, why: 'backbone and decode head (with the classes) are the user’s choice' },
  CenterCrop: { params: { size: 16 }, why: 'the output size has no sensible default' },
  LetterboxResize: { params: { size: 24 }, why: 'the output size has no sensible default' },
  Mosaic: { params: { size: 24 }, why: 'the output size has no sensible default' },
  RandomResizedCrop: { params: { size: 16 }, why: 'the output size has no sensible default' },
  Resize: { params: { size: 24 }, why: 'the output size has no sensible default' },
};

/**
 * Kinds this test does not run, and why. Necks, heads and losses are not run alone (their inputs
 * differ from one to the next: features, a queue, logits and labels): they run inside the models
 * that take them, and the last test checks each one ran there.
 */
const EXEMPT_KINDS: Partial<Record<ComponentKind, string>> = {
  source: 'reads files from a root the config names; test/data/sources.test.ts opens each on small files',
  dataset: 'wraps an opened source for the loader; test/data/loader.test.ts runs them',
  hook: 'acts on a running trainer; test/train/runner.test.ts and test/selfsup run them in short trainings',
  evaluator: 'needs a model and an evaluation split; test/train/runner.test.ts, test/detection/cocoEval.test.ts and test/segmentation/metrics.test.ts run them',
  predictor: 'serves an exported model file; test/export/predict.test.ts and test/segmentation/export.test.ts run them',
  optimizer: 'steps variables, no forward pass; test/train/optimizers.test.ts checks them against PyTorch’s update rules',
  lr_schedule: 'a function of the iteration, no forward pass; test/train/optimizers.test.ts and test/train/runner.test.ts check them',
};

/** Components whose defaults are not run here, and why (none at present). */
const EXEMPT: Record<string, string> = {};

/**
 * Components that no slot of any model can run, so not tried (none at present: every head and
 * method with a loss takes it from a `loss:` slot). One that a model's defaults build is run there
 * all the same.
 */
const NO_FITTING_SLOT: Record<string, string> = {};

/** The model kinds reached only through a model (see EXEMPT_KINDS). */
const INSIDE_MODELS: ComponentKind[] = ['neck', 'head', 'loss'];

/** Every component a build constructed (nested ones included), by kind and type. */
const built = new Set<string>();
const originalBuilds = new Map<RegisteredComponent, RegisteredComponent['build']>();

beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  for (const kind of COMPONENT_KINDS) {
    for (const entry of registries[kind].entries()) {
      const original = entry.build;
      if (!original) continue;
      originalBuilds.set(entry, original);
      entry.build = (params, ctx) => {
        built.add(`${kind}:${entry.type}`);
        return original(params, ctx);
      };
    }
  }
});

afterAll(() => {
  for (const [entry, original] of originalBuilds) entry.build = original;
});

// The tests below compute synchronously for seconds each: a turn of the event loop between them
// lets the worker answer vitest's calls (else "Timeout calling onTaskUpdate" on a loaded machine).
afterEach(() => new Promise((r) => setImmediate(r)));

function configOf(entry: RegisteredComponent): Record<string, unknown> {
  return { type: entry.type, ...REQUIRED[entry.type]?.params };
}

/** Builds `entry` from its config, saying in the failure what to add to REQUIRED. */
function buildOf<T>(entry: RegisteredComponent, cfg = configOf(entry)): T {
  try {
    return build<T>(entry.kind, cfg);
  } catch (e) {
    throw new Error(`${entry.kind} ${entry.type} does not build from ${JSON.stringify(cfg)} (fields without a default go in REQUIRED with a reason): ${(e as Error).message}`);
  }
}

function expectFinite(t: tf.Tensor, what: string): void {
  const bad = (t.dataSync() as Float32Array).findIndex((v) => !Number.isFinite(v));
  expect(bad, `${what}: a value that is not finite at ${bad}`).toBe(-1);
}

/**
 * One batch with everything any dataset gives: labels, boxes, masks, and the views of multi-crop
 * methods (two global views at SIDE, six local ones at SIDE/2: SwAV's default num_crops [2, 6]).
 */
function universalBatch(): TensorBatch {
  const views = [SIDE, SIDE, ...Array(6).fill(SIDE / 2)].map((s, v) => tf.randomUniform([N, s, s, 3], -1, 1, 'float32', 10 + v) as tf.Tensor4D);
  const boxes: Box[][] = Array.from({ length: N }, (_, i) => [{ bbox: [4 + i, 6, 14, 12], label: i % CLASSES }, { bbox: [18, 2, 10, 20], label: (i + 1) % CLASSES }]);
  const labels = Int32Array.from({ length: N }, (_, i) => i % CLASSES);
  const masks = { data: Uint8Array.from({ length: N * SIDE * SIDE }, (_, i) => (i % 97 === 0 ? 255 : Math.floor(i / 37) % CLASSES)), shape: [N, SIDE, SIDE] as [number, number, number] };
  const raw: Batch = {
    views: views.map((v) => ({ data: v.dataSync() as Float32Array, shape: v.shape })),
    labels,
    indices: Int32Array.from({ length: N }, (_, i) => i),
    boxes,
    imageIds: Int32Array.from({ length: N }, (_, i) => i),
    masks,
  };
  return { views, labels: tf.tensor1d(labels, 'int32'), raw };
}

/** Build a model, take one training step's loss (no gradients) and its eval-mode outputs. */
function runModel(entry: RegisteredComponent, cfg: Record<string, unknown>): void {
  seedInit(0);
  const model = buildOf<Algorithm>(entry, cfg);
  const batch = universalBatch();
  try {
    model.train();
    seedStep(0, 0);
    tf.tidy(() => {
      const out = model.trainStep(batch, { iter: 0, epoch: 0, maxIters: 10, itersPerEpoch: 5 });
      expect(out.loss.shape).toEqual([]);
      expectFinite(out.loss, `${entry.type} loss`);
      for (const [name, v] of Object.entries(out.logs ?? {})) expectFinite(v, `${entry.type} ${name}`);
    });
    model.eval();
    const images = batch.views[0];
    tf.tidy(() => {
      const f = model.extract(images);
      expect(f.shape[0]).toBe(N);
      expectFinite(f, `${entry.type} features`);
      if (model.predict) expect(model.predict(images).shape).toEqual([N, CLASSES]);
      if (model.segment) expect(model.segment(images).shape).toEqual([N, SIDE, SIDE, CLASSES]);
    });
    if (model.detect) {
      const dets = model.detect(images);
      expect(dets).toHaveLength(N);
      for (const d of dets) expect(d.boxes.length).toBe(4 * d.scores.length);
    }
  } finally {
    tf.dispose([...batch.views, batch.labels!]);
    model.dispose();
  }
}

/** `cfg` with every slot the schema fills by default written out, recursively (so a path into it can be set). */
function materialized(kind: ComponentKind, cfg: Record<string, unknown>): Record<string, unknown> {
  const entry = registries[kind].get(cfg.type as string);
  const out = { ...cfg };
  for (const [key, schema] of Object.entries((entry && shapeOf(entry.params)) ?? {})) {
    const slotKind = slotKindOf(schema);
    const value = key in cfg ? cfg[key] : defaultOf(schema)?.value;
    if (slotKind && isPlainObject(value) && typeof value.type === 'string') out[key] = materialized(slotKind, value);
  }
  return out;
}

/** The key paths in a (materialized) config of slots that take `want`, nested components included. */
function slotPaths(kind: ComponentKind, cfg: Record<string, unknown>, want: ComponentKind, prefix: string[] = []): string[][] {
  const entry = registries[kind].get(cfg.type as string);
  return Object.entries((entry && shapeOf(entry.params)) ?? {}).flatMap(([key, schema]) => {
    const slotKind = slotKindOf(schema);
    if (!slotKind) return [];
    const value = cfg[key];
    const inner = isPlainObject(value) && typeof value.type === 'string' ? slotPaths(slotKind, value, want, [...prefix, key]) : [];
    return slotKind === want ? [[...prefix, key], ...inner] : inner;
  });
}

function withValue(cfg: Record<string, unknown>, at: string[], value: unknown): Record<string, unknown> {
  const [key, ...rest] = at;
  return { ...cfg, [key]: rest.length ? withValue(cfg[key] as Record<string, unknown>, rest, value) : value };
}

const kindsRun = (kind: ComponentKind) => registries[kind].entries().filter((e) => e.build && !EXEMPT[e.type]);

describe('every registered component builds from its defaults and runs once', () => {
  it('lists a reason for each exempt kind and component', () => {
    for (const [name, why] of [...Object.entries(EXEMPT_KINDS), ...Object.entries(EXEMPT), ...Object.entries(NO_FITTING_SLOT)]) expect(why, name).toMatch(/\w{3}/);
    for (const [name, row] of Object.entries(REQUIRED)) expect(row.why, name).toMatch(/\w{3}/);
    // A kind added to the registry is run here or exempt with a reason, never left out silently.
    for (const kind of COMPONENT_KINDS) expect(['backbone', 'model', 'pipeline', ...INSIDE_MODELS].includes(kind) || kind in EXEMPT_KINDS, `kind ${kind}`).toBe(true);
    // A row for a component that no longer exists would hide nothing, but mislead.
    for (const name of Object.keys(REQUIRED)) expect(COMPONENT_KINDS.some((k) => registries[k].has(name)), `REQUIRED.${name} is not registered`).toBe(true);
  });

  it.each(kindsRun('backbone').map((e) => [e.type, e]))('backbone %s: features of the declared widths', (_type, entry) => {
    seedInit(0);
    const b = buildOf<Backbone>(entry);
    b.eval();
    tf.tidy(() => {
      const outs = b.forward(tf.randomUniform([N, SIDE, SIDE, b.inChannels], -1, 1, 'float32', 1) as tf.Tensor4D);
      expect(outs.map((o) => o.shape[o.shape.length - 1])).toEqual(b.outChannels);
      for (const o of outs) {
        expect(o.shape[0]).toBe(N);
        expectFinite(o, entry.type);
      }
    });
    b.dispose();
  });

  it.each(kindsRun('model').map((e) => [e.type, e]))('model %s: a finite training loss, features, and its predictions', (_type, entry) => {
    runModel(entry, configOf(entry));
  });

  it.each(kindsRun('pipeline').map((e) => [e.type, e]))('pipeline step %s: a consistent image (and boxes, mask)', (_type, entry) => {
    const step = buildOf<PipelineStep>(entry);
    const rng = new Random(3);
    // Normalize's defaults are on the 0-1 scale: it gets an image after ToTensor.
    const white = entry.type === 'Normalize' ? 1 : 255;
    const pixels = (n: number) => (white === 1 ? Float32Array.from({ length: n }, () => rng.int(256) / 255) : Uint8Array.from({ length: n }, () => rng.int(256)));
    const image = (h: number, w: number) => ({ data: pixels(h * w * 3), height: h, width: w, channels: 3, white });
    const boxes = (): Box[] => [{ bbox: [3, 4, 20, 10], label: 1 }];
    const state: ViewState = {
      img: image(30, 40),
      boxes: boxes(),
      mask: { data: Uint8Array.from({ length: 30 * 40 }, (_, i) => i % CLASSES), height: 30, width: 40 },
      extras: Array.from({ length: step.mixImages ?? 0 }, () => ({ img: image(28, 36), boxes: boxes() })),
      frame: { sx: 1, tx: 0, sy: 1, ty: 0, width: 40, height: 30 },
      epoch: 0,
    };
    state.shared = state.img.data;
    step.apply(state, rng);
    const { img } = state;
    expect(img.data.length, entry.type).toBe(img.height * img.width * img.channels);
    expect(img.channels).toBe(step.outChannels?.(3) ?? 3);
    expect(img.data.every((v) => Number.isFinite(v))).toBe(true);
    if (state.mask) expect(state.mask.data.length).toBe(state.mask.height * state.mask.width);
    for (const b of state.boxes ?? []) expect(b.bbox.every((v) => Number.isFinite(v))).toBe(true);
  });

  it(`runs every ${INSIDE_MODELS.join(', ')} inside a model: its defaults, else swapped into a slot that takes its kind`, async () => {
    const models = kindsRun('model');
    const notRun: string[] = [];
    for (const kind of INSIDE_MODELS) {
      for (const entry of registries[kind].entries()) {
        if (!entry.build || EXEMPT[entry.type] || NO_FITTING_SLOT[entry.type] || built.has(`${kind}:${entry.type}`)) continue;
        const tries: string[] = [];
        let ran = false;
        for (const model of models) {
          for (const at of slotPaths('model', materialized('model', configOf(model)), kind)) {
            await new Promise((r) => setImmediate(r)); // as afterEach, between models
            try {
              runModel(model, withValue(materialized('model', configOf(model)), at, configOf(entry)));
              ran = true;
              break;
            } catch (e) {
              tries.push(`${model.type}.${at.join('.')}: ${(e as Error).message.split('\n')[0]}`);
            }
          }
          if (ran) break;
        }
        if (!ran) notRun.push(`${kind} ${entry.type}${tries.length ? `, tried ${tries.join('; ')}` : ': no slot of any model takes it'}`);
      }
    }
    expect(notRun, 'components no model ran: add a REQUIRED row, or a NO_FITTING_SLOT or EXEMPT entry with a reason').toEqual([]);
  });
});
