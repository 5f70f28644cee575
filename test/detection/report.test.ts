/** The run report of a detector: images with their boxes drawn in, the boxes and the ground truth. */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { generateReport } from '../../src/report/generate';
import { drawBoxes, galleryEntry, BOX_COLORS } from '../../src/report/detections';
import { reportImages } from '../../src/report/runFiles';
import { ensureBackend } from '../../src/export/source';
import { tempFiles } from '../helpers/tmp';
import { detectorRun } from './helpers';

const t = tempFiles({});
afterAll(() => t.cleanup());

describe('detection gallery', () => {
  it('draws box outlines in the class colour into a copy of the pixels', () => {
    const p = { data: new Uint8Array(10 * 8 * 3), width: 10, height: 8, channels: 3 };
    const out = drawBoxes(p, [{ box: [2, 1, 6, 5], label: 1 }]);
    const px = (x: number, y: number) => Array.from(out.data.subarray((y * 10 + x) * 3, (y * 10 + x) * 3 + 3));
    expect(px(2, 1)).toEqual(BOX_COLORS[1]);
    expect(px(6, 3)).toEqual(BOX_COLORS[1]);
    expect(px(4, 3)).toEqual([0, 0, 0]);
    expect(p.data.every((v) => v === 0)).toBe(true);
  });

  it('lists detections and the ground truth as corners', () => {
    const e = galleryEntry('report/images/a.png', 3, [{ box: [1.234, 2, 3, 4], score: 0.87654, label: 2, name: 'triangle' }], [{ bbox: [1, 2, 3, 4], label: 0 }], ['circle', 'square', 'triangle']);
    expect(e).toEqual({ image: 'report/images/a.png', index: 3, detections: [{ box: [1.23, 2, 3, 4], score: 0.8765, label: 2, name: 'triangle' }], gt: [{ box: [1, 2, 4, 6], label: 0, name: 'circle' }] });
  });

  it('cvw report on a detector run writes the gallery with drawn images and no feature retrieval', async () => {
    await ensureBackend('wasm');
    const run = detectorRun(path.join(t.dir, 'det'));
    const { report } = await generateReport(run, { gallery: 3, points: 3 });
    expect(report.task).toBe('detection');
    expect(report.detections).toHaveLength(3);
    expect(report.retrieval).toBeUndefined();
    expect(report.detections!.some((d) => d.detections.length > 0)).toBe(true);
    for (const d of report.detections!) {
      expect(fs.existsSync(path.join(run, d.image))).toBe(true);
      expect(d.gt!.length).toBeGreaterThan(0);
    }
    expect(reportImages(report)).toEqual(report.detections!.map((d) => d.image));
  });
});
