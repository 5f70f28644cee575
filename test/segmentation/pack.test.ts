/** `cvw data pack` of a segmentation source: masks stored in the TFRecord shards and read back identical. */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/data';
import { createLoader } from '../../src/data/loader';
import { decodeMask } from '../../src/data/masks/decode';
import { decodeMaskPng } from '../../src/data/masks/png';
import { openTFRecord, expandShards } from '../../src/data/sources/tfrecord';
import { bytesOf, decodeExample, IMAGE_KEYS, stringOf } from '../../src/data/tfrecord/example';
import { readRecords } from '../../src/data/tfrecord/records';
import { loadSharp } from '../../src/data/decode';
import type { Batch } from '../../src/data/types';
import { tempFiles } from '../helpers/tmp';
import { ROOT } from '../export/helpers';
import { cvw } from '../helpers/cvw';

const SAMPLE = path.join(ROOT, 'data/shapes-seg-sample');
const t = tempFiles({
  'val.yaml': `type: SegDataset
source: { type: SegFolder, img_dir: ${path.join(SAMPLE, 'val')}, mask_dir: ${path.join(SAMPLE, 'masks/val')} }
`,
});
afterAll(() => t.cleanup());

async function batches(source: Record<string, unknown>): Promise<Batch[]> {
  const loader = await createLoader({
    dataset: { type: 'SegDataset', batch_size: 5, source, pipeline: [{ type: 'Resize', size: [40, 40] }, { type: 'ToTensor' }] },
    data: { workers: 0, prefetch: 1, skip_corrupt: false },
    split: 'val',
    seed: 0,
  });
  try {
    expect(loader.classes).toEqual(['background', 'circle', 'square', 'triangle']);
    const out: Batch[] = [];
    for await (const b of loader.epoch(0)) out.push(b);
    return out;
  } finally {
    await loader.close();
  }
}

describe('packing segmentation data', () => {
  it('stores every mask byte for byte beside its image, and the TFRecord source gives the same masks back', async () => {
    const out = path.join(t.dir, 'shards');
    const r = await cvw('data', 'pack', t.file('val.yaml'), '--split', 'val', '--out', out, '--shards', '2', '--quiet');
    expect(r.err).toMatch(/16 records in 2 shards/);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'classes.txt'), 'utf8').trim().split('\n')).toEqual(['background', 'circle', 'square', 'triangle']);
    // In the shards: each record's mask bytes are its mask file's.
    let records = 0;
    for (const shard of expandShards(out)) {
      for await (const rec of readRecords(shard)) {
        const f = decodeExample(rec.data);
        const name = stringOf(f, IMAGE_KEYS.filename)!;
        expect(stringOf(f, IMAGE_KEYS.maskFormat)).toBe('png');
        const stored = bytesOf(f, IMAGE_KEYS.mask)!;
        expect(Buffer.from(stored).equals(fs.readFileSync(path.join(SAMPLE, 'masks/val', name)))).toBe(true);
        records++;
      }
    }
    expect(records).toBe(16);
    // Read back by the source: the decoded masks are the files' (the same 16, in the shuffled order: compared sorted), each the size of its image.
    const src = openTFRecord(expandShards(out));
    const fromFiles = fs.readdirSync(path.join(SAMPLE, 'masks/val')).filter((n) => n.endsWith('.png')).map((n) => Buffer.from(decodeMaskPng(fs.readFileSync(path.join(SAMPLE, 'masks/val', n))).data).toString('base64'));
    const fromShards: string[] = [];
    try {
      expect(src.length).toBe(16);
      for (let i = 0; i < src.length; i++) {
        const item = src.item(i);
        const mask = await decodeMask(item.mask!, item.where);
        const { info } = await loadSharp()((item.image as { bytes: Uint8Array }).bytes).raw().toBuffer({ resolveWithObject: true });
        expect([mask.width, mask.height]).toEqual([info.width, info.height]);
        fromShards.push(Buffer.from(mask.data).toString('base64'));
      }
    } finally {
      src.close();
    }
    expect(fromShards.sort()).toEqual(fromFiles.sort());
    // cvw data inspect counts the same pixels per class in the shards as in the folders.
    const inspect = async (target: string) => JSON.parse((await cvw('data', 'inspect', target, '--split', 'val', '--json')).out).masks;
    const [packed, folder] = [await inspect(out), await inspect(t.file('val.yaml'))];
    expect(packed.values).toEqual(folder.values);
    expect(packed.pixels).toBe(16 * 64 * 64);
  });

  it('a SegDataset on the shards batches the same images and masks as on the folders (packed in source order)', async () => {
    const out = path.join(t.dir, 'ordered');
    const r = await cvw('data', 'pack', t.file('val.yaml'), '--split', 'val', '--out', out, '--no-shuffle', '--quiet');
    expect(r.code).toBe(0);
    const folder = await batches({ type: 'SegFolder', img_dir: path.join(SAMPLE, 'val'), mask_dir: path.join(SAMPLE, 'masks/val') });
    const packed = await batches({ type: 'TFRecord', files: out });
    expect(packed.map((b) => b.masks!.shape)).toEqual(folder.map((b) => b.masks!.shape));
    let classes = new Set<number>();
    folder.forEach((b, i) => {
      expect(Buffer.from(packed[i].masks!.data).equals(Buffer.from(b.masks!.data))).toBe(true);
      expect(Buffer.from(packed[i].views[0].data.buffer).equals(Buffer.from(b.views[0].data.buffer))).toBe(true);
      classes = new Set([...classes, ...b.masks!.data]);
    });
    expect([...classes].sort()).toEqual([0, 1, 2, 3]);
  });

  it('refuses a mask that is no class-index PNG, naming the item', async () => {
    const dir = path.join(t.dir, 'bad');
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'masks'), { recursive: true });
    fs.copyFileSync(path.join(SAMPLE, 'val/000000.png'), path.join(dir, 'images/a.png'));
    // An RGB PNG: its values are colours, not class indices.
    fs.copyFileSync(path.join(SAMPLE, 'val/000001.png'), path.join(dir, 'masks/a.png'));
    expect(() => decodeMaskPng(fs.readFileSync(path.join(dir, 'masks/a.png')))).toThrow();
    fs.writeFileSync(t.file('bad.yaml'), `type: SegFolder\nroot: ${dir}\n`);
    const r = await cvw('data', 'pack', t.file('bad.yaml'), '--out', path.join(t.dir, 'bad-shards'), '--quiet');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(path.join(dir, 'images/a.png'));
    expect(r.err).toMatch(/mask .*masks\/a\.png: .*(indexed|grey)/);
  });
});
