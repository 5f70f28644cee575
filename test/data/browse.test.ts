/**
 * `cvw data browse`: the views it draws are the loader's, pixel for pixel (same seed, epoch and
 * index), back on the 0-255 scale; the decoded image beside them; detection, segmentation and bare
 * sources drawn; its bounds and its errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { browseDataset, displayOf } from '../../src/data/browse';
import { build } from '../../src/core/registry';
import type { DatasetPlan } from '../../src/data/datasets';
import { loadSharp } from '../../src/data/decode';
import { createLoader } from '../../src/data/loader';
import { cvw } from '../helpers/cvw';
import { tempFiles } from '../helpers/tmp';
import { ROOT } from '../export/helpers';

const tmp = tempFiles({});
afterAll(() => tmp.cleanup());

const FASHION = path.join(ROOT, 'data/fashion-mnist-sample');
const VIEW = [{ type: 'RandomResizedCrop', size: 28, scale: [0.3, 1] }, { type: 'RandomHorizontalFlip' }, { type: 'ToTensor' }, { type: 'Normalize', mean: [0.5], std: [0.25] }];
const DATASET = { type: 'MultiViewDataset', source: { type: 'FashionMNIST', root: FASHION, subset: 'train' }, views: [{ pipeline: VIEW, num: 2 }], batch_size: 4, shuffle: false };

async function pixels(png: Buffer): Promise<{ data: Uint8Array; width: number }> {
  const { data, info } = await loadSharp()(png).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { data, width: info.width };
}

describe('data browse', () => {
  it('undoes ToTensor and the last Normalize (its defaults when the config gives none)', () => {
    expect(displayOf([])).toEqual({ white: 255, normalize: undefined });
    expect(displayOf([{ type: 'ToTensor' }])).toEqual({ white: 1, normalize: undefined });
    expect(displayOf([{ type: 'ToTensor' }, { type: 'Normalize' }])).toEqual({ white: 1, normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], white: 1 } });
    expect(displayOf([{ type: 'Normalize', mean: [120], std: [60] }])).toEqual({ white: 255, normalize: { mean: [120], std: [60], white: 255 } });
  });

  it("draws the loader's own views of each sample at an epoch, pixel for pixel, after the decoded image", async () => {
    const loader = await createLoader({ dataset: DATASET, data: { workers: 0, prefetch: 1, skip_corrupt: false }, split: 'train', seed: 7 });
    let batch;
    for await (const b of loader.epoch(1)) {
      batch = b;
      break;
    }
    await loader.close();
    expect(Array.from(batch!.indices)).toEqual([0, 1, 2, 3]);
    const plan = build<DatasetPlan>('dataset', DATASET);
    const result = await browseDataset(plan, { split: 'train', seed: 7, epoch: 1, count: 4, indices: [0, 1, 2, 3], cell: 28 });
    expect(result.rows.map((r) => r.views)).toEqual(Array(4).fill(['28x28', '28x28']));
    expect(result.rows[0].label).toBe('Ankle boot');
    const { data, width } = await pixels(result.png);
    const at = (row: number, column: number, x: number, y: number) => data[((4 + row * 32 + y) * width + 4 + column * 32 + x) * 3];
    for (let row = 0; row < 4; row++)
      for (let v = 0; v < 2; v++) {
        const view = batch!.views[v].data.subarray(row * 784, (row + 1) * 784);
        let worst = 0;
        for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(at(row, v + 1, i % 28, Math.floor(i / 28)) - Math.round(Math.min(255, Math.max(0, (view[i] * 0.25 + 0.5) * 255)))));
        expect(worst, `row ${row} view ${v}`).toBe(0);
      }
    // Column 0 is the image as decoded: differs from its augmented views.
    const column = (c: number) => Array.from({ length: 784 }, (_, i) => at(0, c, i % 28, Math.floor(i / 28)));
    expect(column(0)).not.toEqual(column(1));
    // Another epoch draws other views of the same images.
    const next = await browseDataset(plan, { split: 'train', seed: 7, epoch: 2, count: 4, indices: [0, 1, 2, 3], cell: 28 });
    expect(next.png.equals(result.png)).toBe(false);
  });

  it('draws a detection dataset (Mosaic and its partners, boxes), a segmentation one (masks) and a bare source (as decoded)', async () => {
    const det = await cvw('data', 'browse', path.join(ROOT, 'configs/detection/yolox_nano_shapes_sample.yaml'), '-n', '3', '-o', tmp.file('det.png'));
    expect(det.err).toBe('');
    expect(det.code).toBe(0);
    expect(det.out).toMatch(/det\.png: 3 samples x \(image \+ 1 view\), \d+x\d+, epoch 0, seed \d+\n {2}row 1: item 0 .*: 96x96\n/);
    const seg = await cvw('data', 'browse', path.join(ROOT, 'configs/segmentation/fcn_resnet18_shapes_sample.yaml'), '-n', '2', '--size', '64', '-o', tmp.file('seg.png'));
    expect(seg.code).toBe(0);
    expect(seg.out).toContain('seg.png: 2 samples x (image + 1 view), 140x140');
    const folder = await cvw('data', 'browse', path.join(ROOT, 'data/images-sample'), '-n', '2', '-o', tmp.file('folder.png'));
    expect(folder.code).toBe(0);
    expect(folder.out).toMatch(/folder\.png: 2 samples x \(image \+ 1 view\)/);
    // Overrides as `cvw train` takes them: torchvision's recipe (TrivialAugmentWide, 176 px crops) on the sample folder.
    const recipe = await cvw('data', 'browse', path.join(ROOT, 'configs/finetune/resnet50_torchvision_imagefolder.yaml'), '--data.train.source.root', path.join(ROOT, 'data/images-sample'), '-n', '2', '-o', tmp.file('recipe.png'));
    expect(recipe.err).toBe('');
    expect(recipe.out).toMatch(/recipe\.png: 2 samples x \(image \+ 1 view\), 268x268, epoch 0, seed 0\n {2}row 1: item 0 \(bag\) .*: 176x176\n/);
    for (const f of ['det.png', 'seg.png', 'folder.png', 'recipe.png']) expect(fs.readFileSync(tmp.file(f)).subarray(1, 4).toString()).toBe('PNG');
    // The boxes: the view of each detection row has pixels of the palette's first colours.
    const { data } = await pixels(fs.readFileSync(tmp.file('det.png')));
    const colours = new Set<string>();
    for (let i = 0; i < data.length; i += 3) colours.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
    expect([...colours].some((c) => ['230,25,75', '60,180,75', '67,99,216', '245,130,49'].includes(c))).toBe(true);
  });

  it('refuses bad indices and a picture too large, where the options say', async () => {
    const config = path.join(ROOT, 'configs/selfsup/simclr/simclr_resnet18_fashion_mnist_sample.yaml');
    expect((await cvw('data', 'browse', config, '--indices', '1,x', '-o', tmp.file('x.png'))).err).toContain('--indices: "x" is not an item index; give indices separated by commas, e.g. 0,5,17');
    expect((await cvw('data', 'browse', config, '--indices', '5,99999', '-o', tmp.file('x.png'))).err).toContain('--indices: 99999 is not an item of the train dataset (0 to 1999)');
    expect((await cvw('data', 'browse', config, '-n', '64', '--size', '1024', '-o', tmp.file('x.png'))).err).toContain('lower --count or --size');
    expect(fs.existsSync(tmp.file('x.png'))).toBe(false);
  });
});
