import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The API (not just the built-ins): custom modules' `import ... from 'cv-workbench'` then share this registry.
import '../../src/api';
import { checkConfig } from '../../src/core/check';
import { createLoader, type Loader, type LoaderOptions } from '../../src/data/loader';
import type { Batch } from '../../src/data/types';
import { tempFiles } from '../helpers/tmp';
import { writeIdx, writeImage } from './helpers';

const t = tempFiles({});
afterAll(() => t.cleanup());

const SIMCLR_VIEW = [
  { type: 'RandomResizedCrop', size: 16, scale: [0.2, 1] },
  { type: 'RandomHorizontalFlip' },
  { type: 'ColorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 0.8 },
  { type: 'RandomGrayscale', p: 0.2 },
  { type: 'GaussianBlur', p: 0.5 },
  { type: 'Solarization', p: 0.2 },
  { type: 'ToTensor' },
  { type: 'Normalize' },
];

beforeAll(async () => {
  // 22 JPEG and PNG images of different sizes with varied content, in two classes.
  for (let i = 0; i < 22; i++) {
    const w = 20 + (i % 5) * 7;
    const h = 18 + (i % 3) * 9;
    const px = Uint8Array.from({ length: w * h * 3 }, (_, k) => (k * (i + 3) + ((k / 3) | 0) * 5) & 0xff);
    await writeImage(t.file(`imgs/${i % 2 ? 'b' : 'a'}/${String(i).padStart(2, '0')}.${i % 4 === 3 ? 'png' : 'jpg'}`), px, w, h, i % 4 === 3 ? 'png' : 'jpeg');
  }
});

function options(dataset: Record<string, unknown>, over: Partial<LoaderOptions> & { workers?: number; prefetch?: number; skip?: boolean } = {}): LoaderOptions {
  return {
    dataset: dataset as LoaderOptions['dataset'],
    data: { workers: over.workers ?? 0, prefetch: over.prefetch ?? 2, skip_corrupt: over.skip ?? false },
    split: over.split ?? 'train',
    seed: over.seed ?? 42,
  };
}

async function collect(loader: Loader, epoch = 0, start = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, start)) out.push(b);
  return out;
}

function digest(batches: Batch[]): string[] {
  return batches.map((b) => {
    const h = createHash('sha256');
    for (const v of b.views) h.update(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength)).update(v.shape.join('x'));
    h.update(Buffer.from(b.indices.buffer)).update(b.labels ? Buffer.from(b.labels.buffer) : '');
    return h.digest('hex').slice(0, 16);
  });
}

const simclr = (root = t.file('imgs')) => ({ type: 'MultiViewDataset', source: { type: 'ImageFolder', root }, views: [{ num: 2, pipeline: SIMCLR_VIEW }], batch_size: 5 });

describe('seeded batches', () => {
  it('are identical with 0, 1 and 2 workers and any prefetch depth', async () => {
    const runs: string[][] = [];
    for (const [workers, prefetch] of [[0, 1], [1, 3], [2, 4]]) {
      const loader = await createLoader(options(simclr(), { workers, prefetch }));
      try {
        runs.push([...digest(await collect(loader, 0)), ...digest(await collect(loader, 1))]);
      } finally {
        await loader.close();
      }
    }
    expect(runs[0].length).toBe(8);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  it('change with the seed and the epoch; the two views differ', async () => {
    const a = await createLoader(options(simclr()));
    const b = await createLoader(options(simclr(), { seed: 43 }));
    const [a0, a1, b0] = [await collect(a, 0), await collect(a, 1), await collect(b, 0)];
    expect(digest(a0)).not.toEqual(digest(a1));
    expect(digest(a0)).not.toEqual(digest(b0));
    expect(Array.from(a0[0].indices)).not.toEqual(Array.from(a1[0].indices));
    expect(Array.from(a0[0].views[0].data.slice(0, 50))).not.toEqual(Array.from(a0[0].views[1].data.slice(0, 50)));
    await a.close();
    await b.close();
  });

  it('resume mid-epoch with exactly the remaining batches', async () => {
    const loader = await createLoader(options(simclr(), { workers: 1 }));
    const full = digest(await collect(loader, 3));
    expect(digest(await collect(loader, 3, 2))).toEqual(full.slice(2));
    await loader.close();
  });
});

describe('order, batching and shapes', () => {
  it('shuffles and drops the last partial batch for train only', async () => {
    const ds = { type: 'ClsDataset', source: { type: 'FashionMNIST', root: 'data/fashion-mnist-sample' }, pipeline: [{ type: 'ToTensor' }], batch_size: 64 };
    const train = await createLoader(options(ds));
    const val = await createLoader(options(ds, { split: 'val' }));
    expect([train.length, train.batchesPerEpoch, val.length, val.batchesPerEpoch]).toEqual([2000, 31, 500, 8]);
    expect([train.numClasses, train.channels]).toEqual([10, 1]);
    const v = await collect(val);
    expect(v.map((b) => b.indices.length)).toEqual([64, 64, 64, 64, 64, 64, 64, 52]);
    expect(Array.from(v[1].indices.slice(0, 3))).toEqual([64, 65, 66]);
    const tr = await collect(train);
    const seen = new Set(tr.flatMap((b) => Array.from(b.indices)));
    expect(seen.size).toBe(31 * 64);
    expect(Array.from(tr[0].indices.slice(0, 3))).not.toEqual([0, 1, 2]);
    // ToTensor: 0..1; labels come along
    expect(Math.max(...tr[0].views[0].data)).toBeLessThanOrEqual(1);
    expect(tr[0].views[0].shape).toEqual([64, 28, 28, 1]);
    expect(tr[0].labels!.length).toBe(64);
    await train.close();
    await val.close();
  });

  it('gives multi-crop views of different sizes as separate batch entries', async () => {
    const ds = {
      type: 'MultiViewDataset',
      source: { type: 'FashionMNIST', root: 'data/fashion-mnist-sample' },
      views: [
        { num: 2, pipeline: [{ type: 'RandomResizedCrop', size: 24, scale: [0.4, 1] }, { type: 'Grayscale', num_output_channels: 3 }, { type: 'ToTensor' }] },
        { num: 3, pipeline: [{ type: 'RandomResizedCrop', size: 12, scale: [0.05, 0.4] }, { type: 'Grayscale', num_output_channels: 3 }, { type: 'ToTensor' }] },
      ],
      batch_size: 8,
    };
    const loader = await createLoader(options(ds, { workers: 2 }));
    expect(loader.channels).toBe(3);
    const [first] = await collect(loader);
    expect(first.views.map((v) => v.shape)).toEqual([[8, 24, 24, 3], [8, 24, 24, 3], [8, 12, 12, 3], [8, 12, 12, 3], [8, 12, 12, 3]]);
    await loader.close();
  });

  it('carries boxes through flips and resizes (DetDataset on COCO)', async () => {
    fs.writeFileSync(
      t.file('coco.json'),
      JSON.stringify({
        images: [{ id: 1, file_name: 'a/00.jpg', width: 20, height: 18 }],
        annotations: [{ id: 5, image_id: 1, category_id: 3, bbox: [2, 3, 4, 6], area: 24, iscrowd: 0 }],
        categories: [{ id: 3, name: 'thing' }],
      }),
    );
    const ds = { type: 'DetDataset', source: { type: 'COCO', ann_file: t.file('coco.json'), img_dir: t.file('imgs') }, pipeline: [{ type: 'Resize', size: [36, 40] }, { type: 'RandomHorizontalFlip', p: 1 }], batch_size: 1 };
    const loader = await createLoader(options(ds, { split: 'val' }));
    const [b] = await collect(loader);
    expect(b.views[0].shape).toEqual([1, 36, 40, 3]);
    expect(b.labels).toBeUndefined();
    // x 2..6 scaled by 2 -> 4..12, flipped in a 40-wide image -> 28..36; y 3..9 scaled by 2
    expect(b.boxes).toEqual([[{ bbox: [28, 6, 8, 12], label: 0, id: 5, area: 24 }]]);
    await loader.close();
  });

  it('names the fix when a pipeline leaves images of different sizes', async () => {
    const ds = { type: 'ClsDataset', source: { type: 'ImageFolder', root: t.file('imgs') }, pipeline: [{ type: 'ToTensor' }], batch_size: 4, shuffle: false };
    const loader = await createLoader(options(ds));
    await expect(collect(loader)).rejects.toThrow(/view 0 of the pipeline gives images of different sizes: 20x18x3 for .*00\.jpg but 34x36x3 for .*02\.jpg; end the pipeline with a fixed size/);
    await loader.close();
  });

  it('refuses a batch larger than its share of memory after making its first sample, with 0 or 2 workers', async () => {
    // A crop of 10,000 pixels a side (1.2 GB a view) made 64 at a time took the machine's memory.
    // Two views of 16x16x3 float32 (6,144 bytes a sample) x 5 samples = 30,720 bytes.
    const ds = simclr();
    process.env.CVW_MAX_BATCH_BYTES = '30000';
    try {
      for (const workers of [0, 2]) {
        const loader = await createLoader(options(ds, { workers }));
        try {
          await expect(collect(loader)).rejects.toThrow(/^a batch of 5 samples of 16x16x3 \+ 16x16x3 takes 0\.0000307 GB, more than the 0\.00003 GB a batch may take \(an eighth of (this machine's|its control group's) [\d.]+ GB .*of memory; set CVW_MAX_BATCH_BYTES to raise it\): lower the dataset's batch_size or the size its pipeline gives$/);
        } finally {
          await loader.close();
        }
      }
      process.env.CVW_MAX_BATCH_BYTES = '30720';
      const loader = await createLoader(options(ds, { workers: 0 }));
      expect((await collect(loader)).length).toBeGreaterThan(0);
      await loader.close();
    } finally {
      delete process.env.CVW_MAX_BATCH_BYTES;
    }
  });
});

describe('bad items', () => {
  beforeAll(() => {
    fs.writeFileSync(t.file('broken.jpg'), fs.readFileSync(t.file('imgs/a/00.jpg')).subarray(0, 200));
    fs.writeFileSync(
      t.file('bad-list.txt'),
      ['imgs/a/00.jpg 0', 'imgs/b/01.jpg 1', 'imgs/a/gone.jpg 0', 'broken.jpg 1', 'imgs/a/02.jpg 0', 'imgs/b/03.png 1'].join('\n'),
    );
  });
  const ds = () => ({ type: 'ClsDataset', source: { type: 'ImageList', list: t.file('bad-list.txt') }, pipeline: [{ type: 'Resize', size: [8, 8] }], batch_size: 3, shuffle: false });

  it('stop the epoch with the file, the list line and what is wrong', async () => {
    const loader = await createLoader(options(ds(), { workers: 1 }));
    await expect(collect(loader)).rejects.toThrow(`${t.file('bad-list.txt')}:3: image file not found: ${t.file('imgs/a/gone.jpg')}; set data.skip_corrupt: true to skip bad items and report them at the end of the epoch`);
    await loader.close();
  });

  it('are skipped, counted and reported with data.skip_corrupt', async () => {
    const loader = await createLoader(options(ds(), { workers: 2, skip: true }));
    const batches = await collect(loader);
    expect(batches.map((b) => Array.from(b.indices))).toEqual([[0, 1], [4, 5]]);
    const skipped = loader.skipped();
    expect(skipped.map((s) => s.where)).toEqual([`${t.file('bad-list.txt')}:3`, `${t.file('bad-list.txt')}:4`]);
    expect(skipped[1].reason).toMatch(new RegExp(`^cannot decode ${t.file('broken.jpg')}: .*(premature end|corrupt)`, 'i'));
    await loader.close();
  });

  it('a batch left out whole keeps its place: each batch says where it is in the epoch', async () => {
    const loader = await createLoader(options({ ...ds(), batch_size: 2 }, { workers: 1, skip: true }));
    const batches = await collect(loader);
    expect(batches.map((b) => [b.batchIndex, Array.from(b.indices)])).toEqual([[0, [0, 1]], [2, [4, 5]]]);
    // Resumed after the first batch received (place 0), the second place is left out again.
    expect((await collect(loader, 0, 1)).map((b) => b.batchIndex)).toEqual([2]);
    await loader.close();
  });

  it('in a data-parallel run a batch cannot be left out whole: the rank stops, naming the file (the ranks step together)', async () => {
    // Rank 0 of 2 takes items 0, 2, 4: its second batch of one is bad-list.txt line 3 alone.
    const loader = await createLoader({ ...options({ ...ds(), batch_size: 1 }, { workers: 0, skip: true }), shard: { rank: 0, size: 2 } });
    await expect(collect(loader)).rejects.toThrow(new RegExp(`^${t.file('bad-list.txt')}:3: .*every item of this rank's batch 2 is unreadable, and a data-parallel run cannot leave a batch out`));
    await loader.close();
  });

  it('a label out of range names the file and the index', async () => {
    fs.mkdirSync(t.file('mn'));
    writeIdx(t.file('mn/train-images-idx3-ubyte'), [3, 2, 2], new Uint8Array(12), false);
    writeIdx(t.file('mn/train-labels-idx1-ubyte'), [3], Uint8Array.from([1, 12, 3]), false);
    const cfg = { type: 'ClsDataset', source: { type: 'MNIST', root: t.file('mn') }, batch_size: 3, shuffle: false };
    const loader = await createLoader(options(cfg));
    await expect(collect(loader)).rejects.toThrow(`${t.file('mn/train-images-idx3-ubyte')}[1]: label 12 out of range: expected 0 to 9 (10 classes)`);
    await loader.close();
    const skipping = await createLoader(options(cfg, { skip: true }));
    expect((await collect(skipping)).map((b) => Array.from(b.labels!))).toEqual([[1, 3]]);
    expect(skipping.skipped()).toHaveLength(1);
    await skipping.close();
  });
});

describe('custom pipeline steps', () => {
  it('are loaded by the decoding workers from the module that registered them', async () => {
    const file = t.file('addTen.ts');
    fs.writeFileSync(
      file,
      [
        "import { register, z } from 'cv-workbench';",
        "register('pipeline', {",
        "  type: 'AddTenForTest',",
        "  description: 'adds ten',",
        '  params: z.strictObject({}),',
        '  build: () => ({ type: "AddTenForTest", apply(state: any) { state.img = { ...state.img, data: Float32Array.from(state.img.data, (v: number) => v + 10) }; } }),',
        '});',
        '',
      ].join('\n'),
    );
    // Loaded the way a run loads a config's custom_imports.
    fs.writeFileSync(t.file('custom.yaml'), 'custom_imports: [./addTen.ts]\n');
    expect(checkConfig(t.file('custom.yaml')).problems).toEqual([]);
    const cfg = { type: 'ClsDataset', source: { type: 'FashionMNIST', root: 'data/fashion-mnist-sample' }, pipeline: [{ type: 'AddTenForTest' }], batch_size: 4, shuffle: false };
    const inline = await createLoader(options(cfg, { split: 'val' }));
    const threaded = await createLoader(options(cfg, { split: 'val', workers: 1 }));
    const [a] = await collect(inline);
    const [b] = await collect(threaded);
    expect(Math.min(...a.views[0].data)).toBe(10);
    expect(digest([b])).toEqual(digest([a]));
    await inline.close();
    await threaded.close();
  });

  it('a worker that dies in one (process.exit in a thread) stops the epoch naming the items it was making', async () => {
    fs.writeFileSync(
      t.file('exitStep.ts'),
      [
        "import { register, z } from 'cv-workbench';",
        "register('pipeline', { type: 'ExitForTest', description: 'ends its thread', params: z.strictObject({}), build: () => ({ type: 'ExitForTest', apply() { process.exit(3); } }) });",
        '',
      ].join('\n'),
    );
    fs.writeFileSync(t.file('exit.yaml'), 'custom_imports: [./exitStep.ts]\n');
    expect(checkConfig(t.file('exit.yaml')).problems).toEqual([]);
    // Only ever in a worker thread (workers: 1): on the main thread it would end the test.
    const cfg = { type: 'ClsDataset', source: { type: 'FashionMNIST', root: 'data/fashion-mnist-sample' }, pipeline: [{ type: 'ExitForTest' }], batch_size: 4, shuffle: false };
    const loader = await createLoader(options(cfg, { split: 'val', workers: 1, prefetch: 1 }));
    await expect(collect(loader)).rejects.toThrow(/^decoding worker exited \(code 3\) with 1 batch\(es\) unfinished; it was making the batch of 4 items from .*t10k-images-idx3-ubyte\.gz\[0\] to .*t10k-images-idx3-ubyte\.gz\[3\]$/);
    await loader.close();
  });
});

describe('views share the decoded image without changing it', () => {
  it('a view whose first step changes pixels in place leaves the other views as decoded', async () => {
    const ds = {
      type: 'MultiViewDataset',
      source: { type: 'FashionMNIST', root: 'data/fashion-mnist-sample' },
      views: [{ pipeline: [{ type: 'ColorJitter', brightness: [2, 2] }] }, { pipeline: [{ type: 'Solarization', p: 1 }] }, { pipeline: [] }],
      batch_size: 2,
      shuffle: false,
    };
    const loader = await createLoader(options(ds, { split: 'val' }));
    const [b] = await collect(loader);
    const [bright, solar, plain] = b.views.map((v) => v.data);
    for (let i = 0; i < plain.length; i++) {
      expect(bright[i]).toBe(Math.min(255, 2 * plain[i]));
      expect(solar[i]).toBe(plain[i] >= 128 ? 255 - plain[i] : plain[i]);
    }
    await loader.close();
  });
});
