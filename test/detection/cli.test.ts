/** `cvw data synth shapes`, `cvw benchmark coco` and bad detection data, in-process. */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { train } from '../../src/train/train';
import { tempFiles } from '../helpers/tmp';
import { SHAPES, cvw } from './helpers';

const t = tempFiles({});
afterAll(() => t.cleanup());

describe('cvw data synth shapes', () => {
  it('writes train/val PNGs and COCO instances files whose boxes lie inside their images; the same seed gives the same bytes', async () => {
    const a = path.join(t.dir, 'a');
    const b = path.join(t.dir, 'b');
    const r = await cvw('data', 'synth', 'shapes', '--out', a, '--train', '5', '--val', '2', '--size', '64', '--seed', '3', '-q');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^train: 5 images, \d+ boxes/);
    await cvw('data', 'synth', 'shapes', '--out', b, '--train', '5', '--val', '2', '--size', '64', '--seed', '3', '-q');
    const gt = JSON.parse(fs.readFileSync(path.join(a, 'annotations', 'instances_train.json'), 'utf8'));
    expect(gt.categories.map((c: { name: string }) => c.name)).toEqual(['circle', 'square', 'triangle']);
    expect(gt.images).toHaveLength(5);
    expect(gt.annotations.length).toBeGreaterThanOrEqual(5);
    for (const ann of gt.annotations) {
      const [x, y, w, h] = ann.bbox;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(x + w).toBeLessThanOrEqual(64);
      expect(y + h).toBeLessThanOrEqual(64);
      expect(ann.area).toBeCloseTo(w * h, 1);
    }
    for (const f of ['train/000004.png', 'val/000001.png', 'annotations/instances_val.json']) expect(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f)))).toBe(true);
    expect(await cvw('data', 'synth', 'circles')).toMatchObject({ code: 1, err: expect.stringContaining('unknown kind "circles"; the kinds are: shapes') });
    expect(await cvw('data', 'synth', 'shapes', '--out', a, '--size', '40', '--max-side', '48')).toMatchObject({ code: 1, err: expect.stringContaining('--max-side 48 does not fit in 40-pixel images') });
  });
});

describe('cvw benchmark coco', () => {
  const gt = {
    images: [{ id: 1 }, { id: 2 }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
      { id: 2, image_id: 2, category_id: 1, bbox: [40, 40, 10, 10], area: 100, iscrowd: 0 },
    ],
    categories: [{ id: 1, name: 'thing' }],
  };

  it('prints the 12-line summary of detections from any source', async () => {
    fs.writeFileSync(t.file('gt.json'), JSON.stringify(gt));
    fs.writeFileSync(t.file('dt.json'), JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 }]));
    const r = await cvw('benchmark', 'coco', '--gt', t.file('gt.json'), '--dt', t.file('dt.json'), '--per-class');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('2 images, 2 ground-truth boxes, 1 detections');
    // Half the objects found with precision 1: 51 of 101 recall points.
    expect(lines[1]).toBe(` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ${(51 / 101).toFixed(3)}`);
    expect(lines[12]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000');
    expect(r.out).toMatch(/thing\s+0\.505\s+0\.505/);
    const j = JSON.parse((await cvw('benchmark', 'coco', '--gt', t.file('gt.json'), '--dt', t.file('dt.json'), '--json')).out);
    expect(j.AR100).toBeCloseTo(0.5, 12);
  });

  it('--per-class lists 200,000 categories (a 5 MB file), not a stack overflow', async () => {
    // Math.max(...) of the names' lengths overflowed the call stack as arguments.
    const categories = Array.from({ length: 200_000 }, (_, i) => ({ id: i + 1, name: `c${i + 1}` }));
    fs.writeFileSync(t.file('many_gt.json'), JSON.stringify({ ...gt, categories }));
    fs.writeFileSync(t.file('dt.json'), JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 }]));
    const r = await cvw('benchmark', 'coco', '--gt', t.file('many_gt.json'), '--dt', t.file('dt.json'), '--per-class');
    expect(r).toMatchObject({ code: 0, err: '' });
    const lines = r.out.split('\n');
    expect(lines.filter((l) => /^c\d+ /.test(l))).toHaveLength(200_000);
    expect(r.out).toMatch(/\nc1 +0\.505 +0\.505\n/);
    expect(r.out).toMatch(/\nc200000 +-1\.000 +-1\.000\n/);
  });

  it('names the bad detection, the bad annotation and the missing option', async () => {
    fs.writeFileSync(t.file('bad_dt.json'), JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 }, { image_id: 2, category_id: 1, bbox: [0, 10], score: 0.5 }]));
    expect(await cvw('benchmark', 'coco', '--gt', t.file('gt.json'), '--dt', t.file('bad_dt.json'))).toMatchObject({ code: 1, err: expect.stringContaining('detection 2 (image_id 2): bbox must be [x, y, width, height], got [0,10]') });
    fs.writeFileSync(t.file('stray_dt.json'), JSON.stringify([{ image_id: 9, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 }]));
    expect(await cvw('benchmark', 'coco', '--gt', t.file('gt.json'), '--dt', t.file('stray_dt.json'))).toMatchObject({ code: 1, err: expect.stringContaining('detection 1 (image_id 9) is for an image that is not in the ground truth') });
    fs.writeFileSync(t.file('bad_gt.json'), JSON.stringify({ ...gt, annotations: [{ ...gt.annotations[0], id: 17, bbox: null }] }));
    expect(await cvw('benchmark', 'coco', '--gt', t.file('bad_gt.json'), '--dt', t.file('dt.json'))).toMatchObject({ code: 1, err: expect.stringContaining('bad_gt.json: annotations[0].bbox: expected [x, y, width, height] with width and height >= 0, got null') });
    // Every entry checked, as `cvw data inspect` checks a training set's: no half-way crash, nothing pycocotools would not count.
    const badGt: Array<[unknown, string]> = [
      [{ ...gt, annotations: [null] }, 'annotations[0]: expected a mapping {id, image_id, category_id, bbox}, got null'],
      [{ ...gt, images: [{ id: 1 }, { id: 1 }] }, 'images[1].id: 1 appears twice'],
      [{ ...gt, images: [{ id: '1' }] }, 'images[0].id: expected an integer, got "1" (a string)'],
      [{ ...gt, categories: [{ name: 'thing' }] }, 'categories[0].id: expected an integer, got nothing'],
      [{ ...gt, annotations: [{ ...gt.annotations[0], category_id: 7 }] }, 'annotations[0].category_id: expected the id of a category in "categories", got 7'],
      [{ ...gt, annotations: [{ ...gt.annotations[0], bbox: [0, 0, -10, 10] }] }, 'annotations[0].bbox: expected [x, y, width, height] with width and height >= 0, got [0,0,-10,10]'],
      [{ ...gt, annotations: [{ ...gt.annotations[0], iscrowd: true }] }, 'annotations[0].iscrowd: expected 0 or 1, got true'],
    ];
    for (const [json, message] of badGt) {
      fs.writeFileSync(t.file('bad_gt.json'), JSON.stringify(json));
      expect(await cvw('benchmark', 'coco', '--gt', t.file('bad_gt.json'), '--dt', t.file('dt.json')), message).toMatchObject({ code: 1, err: expect.stringContaining(`bad_gt.json: ${message}`) });
    }
    expect(await cvw('benchmark', 'coco', '--gt', t.file('gt.json'))).toMatchObject({ code: 1, err: expect.stringContaining('needs --gt <instances.json> and --dt <detections.json>') });
  });
});

describe('bad detection data in training', () => {
  /** The sample's train annotations with a few broken on purpose. */
  function brokenAnnotations(): string {
    const json = JSON.parse(fs.readFileSync(path.join(SHAPES, 'annotations', 'instances_train.json'), 'utf8'));
    json.images = json.images.slice(0, 12);
    const ids = new Set(json.images.map((i: { id: number }) => i.id));
    json.annotations = json.annotations.filter((a: { image_id: number }) => ids.has(a.image_id));
    json.annotations[0].bbox = [90, 90, 20, 20];
    json.annotations[1].bbox[2] = 0;
    json.annotations[2].category_id = 9;
    json.images.push({ id: 999, file_name: 'missing.png', width: 96, height: 96 });
    const file = t.file('broken.json');
    fs.writeFileSync(file, JSON.stringify(json));
    return file;
  }

  function config(annFile: string, skip: boolean): string {
    const file = t.file(`det-${skip}.yaml`);
    fs.writeFileSync(
      file,
      `model: { type: YOLOX, size: nano }
data:
  workers: 0
  skip_corrupt: ${skip}
  train:
    type: DetDataset
    batch_size: 4
    source: { type: COCO, ann_file: ${annFile}, img_dir: ${SHAPES}/train }
    pipeline: [{ type: LetterboxResize, size: 64 }, { type: ToTensor }]
optimizer: { type: SGD, lr: 0.001 }
runner: { max_iters: 1 }
`,
    );
    return file;
  }

  it('stops naming each bad annotation and image; with data.skip_corrupt it skips them, counts them, and trains', async () => {
    const ann = brokenAnnotations();
    const err = await train(config(ann, false), { workDir: path.join(t.dir, 'bad'), quiet: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/4 problems in the COCO annotations/);
    expect(msg).toMatch(/annotation 1: box \[90, 90, 20, 20\] lies outside image 1 \(96x96\)/);
    expect(msg).toMatch(/annotation 2: zero-area box/);
    expect(msg).toMatch(/annotation 3: unknown category_id 9/);
    expect(msg).toMatch(/image 999: image file not found: .*missing\.png/);
    const ok = await train(config(ann, true), { workDir: path.join(t.dir, 'skipped'), quiet: true });
    expect(ok.status).toBe('finished');
    const log = fs.readFileSync(path.join(ok.runDir, 'log.txt'), 'utf8');
    expect(log).toMatch(/skipped 4/);
  });
});
