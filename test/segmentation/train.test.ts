/** The segmentation sample config trains, evaluates with SegEvaluator, and logs mIoU like any metric; cvw init Segmentation. */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { trainSampleRun } from './helpers';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

describe('segmentation training', () => {
  it('trains the sample config a few iterations and writes val/mIoU, mAcc, aAcc and per-class IoU to metrics.jsonl', async () => {
    const res = await trainSampleRun(path.join(t.dir, 'run'));
    expect(res.status).toBe('finished');
    for (const k of ['val/mIoU', 'val/mAcc', 'val/aAcc']) {
      expect(res.metrics[k]).toBeGreaterThanOrEqual(0);
      expect(res.metrics[k]).toBeLessThanOrEqual(1);
    }
    // An untrained-ish model: the background class at least is predicted somewhere.
    expect(res.metrics['val/IoU.background']).toBeGreaterThan(0);
    const lines = fs.readFileSync(path.join(res.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.split === 'val' && typeof l.mIoU === 'number' && typeof l['IoU.circle'] === 'number')).toBe(true);
    expect(lines.some((l) => typeof l.loss_decode === 'number' && typeof l.loss_aux === 'number')).toBe(true);
    const table = JSON.parse(fs.readFileSync(path.join(res.runDir, 'eval', 'val_seg_eval.json'), 'utf8'));
    expect(table.per_class.map((c: { name: string }) => c.name)).toEqual(['background', 'circle', 'square', 'triangle']);
    expect(table.per_class.reduce((a: number, c: { pixels: number }) => a + c.pixels, 0)).toBe(16 * 64 * 64);
  });
});
