/**
 * Logits resized back to the source image (src/eval/segSource.ts) against PyTorch: F.interpolate
 * (bilinear, align_corners=False, mmsegmentation's resize back) for a plain resize and a flip,
 * grid_sample (bilinear, border, align_corners=False: the same clamped taps for any per-axis map)
 * for a crop of a resize, each followed by argmax.
 */
import { describe, expect, it } from 'vitest';
import '../../src/data/pipeline';
import { Random } from '../../src/core/random';
import { buildPipeline, runPipeline } from '../../src/data/pipeline';
import type { Frame } from '../../src/data/types';
import { accumulateCovered, sourcePrediction } from '../../src/eval/segSource';
import { MASK_VALUES } from '../../src/eval/segMetrics';
import { pythonHas, runPython } from '../data/python';

const HAS_TORCH = pythonHas('torch');

/** For each case: logits (h, w, k) HWC, the source size and frame; prints each case's argmax per source pixel (-1 not covered). */
const SCRIPT = `
import json, sys
import torch
import torch.nn.functional as F
out = []
for c in json.load(sys.stdin):
    h, w, k, H, W, f = c['h'], c['w'], c['k'], c['H'], c['W'], c['frame']
    x = torch.tensor(c['logits'], dtype=torch.float64).reshape(h, w, k).permute(2, 0, 1)[None]
    if c['ref'] == 'interpolate':
        # The frame is a resize (sx = w / W) or a resize then a flip (sx = -w / W, tx = w): mmsegmentation flips the logits back, then resizes.
        if f['sx'] < 0:
            x = torch.flip(x, [3])
        y = F.interpolate(x, size=(H, W), mode='bilinear', align_corners=False)
        pred = y[0].argmax(0)
    else:
        # Source pixel centres through the frame, in grid_sample's normalised coordinates (align_corners=False).
        cx = f['sx'] * (torch.arange(W, dtype=torch.float64) + 0.5) + f['tx']
        cy = f['sy'] * (torch.arange(H, dtype=torch.float64) + 0.5) + f['ty']
        gx = (2 * cx / w - 1)[None, :].expand(H, W)
        gy = (2 * cy / h - 1)[:, None].expand(H, W)
        grid = torch.stack([gx, gy], -1)[None]
        y = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
        pred = y[0].argmax(0)
        covered = ((cx >= 0) & (cx < w))[None, :] & ((cy >= 0) & (cy < h))[:, None]
        pred = torch.where(covered, pred, torch.full_like(pred, -1))
    out.append(pred.reshape(-1).tolist())
print(json.dumps(out))
`;

interface Case {
  name: string;
  h: number;
  w: number;
  k: number;
  H: number;
  W: number;
  frame: Frame;
  ref: 'interpolate' | 'grid_sample';
}

/** The frame a real pipeline gives a `W x H` image. */
function pipelineFrame(W: number, H: number, steps: unknown[]): { frame: Frame; w: number; h: number } {
  const img = { data: new Uint8Array(W * H * 3), width: W, height: H, channels: 3, white: 255 };
  const state = runPipeline(buildPipeline(steps as never), { img, shared: img.data, frame: { sx: 1, tx: 0, sy: 1, ty: 0, width: W, height: H } }, new Random(0));
  return { frame: state.frame!, w: state.img.width, h: state.img.height };
}

describe('segmentation logits resized back to the source image', () => {
  // Resize 13x11 -> 18x15, CenterCrop 9x7 (left 4 = round-half-even of 4.5, top 4), flipped.
  const crop = pipelineFrame(13, 11, [{ type: 'Resize', size: [15, 18] }, { type: 'CenterCrop', size: [7, 9] }, { type: 'RandomHorizontalFlip', p: 1 }]);
  const resize = pipelineFrame(13, 11, [{ type: 'Resize', size: [7, 9] }]);
  const flip = pipelineFrame(13, 11, [{ type: 'Resize', size: [7, 9] }, { type: 'RandomHorizontalFlip', p: 1 }]);
  const cases: Case[] = [
    { name: 'resize 9x7 -> 13x11 (non-integer scales)', h: 7, w: 9, k: 5, H: 11, W: 13, frame: resize.frame, ref: 'interpolate' },
    { name: 'resize and flip', h: 7, w: 9, k: 5, H: 11, W: 13, frame: flip.frame, ref: 'interpolate' },
    { name: 'upsampled view (view larger than the source)', h: 23, w: 17, k: 3, H: 11, W: 13, frame: { sx: 17 / 13, tx: 0, sy: 23 / 11, ty: 0, width: 13, height: 11 }, ref: 'interpolate' },
    { name: 'crop of a resize, flipped (pixels outside the crop not covered)', h: crop.h, w: crop.w, k: 4, H: 11, W: 13, frame: crop.frame, ref: 'grid_sample' },
    { name: 'resize through grid_sample (the two references agree)', h: 7, w: 9, k: 5, H: 11, W: 13, frame: resize.frame, ref: 'grid_sample' },
  ];

  it('the pipeline steps give the frames the cases describe', () => {
    expect(resize.frame).toEqual({ sx: 9 / 13, tx: 0, sy: 7 / 11, ty: 0, width: 13, height: 11 });
    expect(flip.frame).toEqual({ sx: -9 / 13, tx: 9, sy: 7 / 11, ty: 0, width: 13, height: 11 });
    expect([crop.w, crop.h]).toEqual([9, 7]);
    for (const [k, v] of Object.entries({ sx: -18 / 13, tx: 13, sy: 15 / 11, ty: -4 })) expect(crop.frame[k as keyof Frame]).toBeCloseTo(v, 12);
  });

  it.skipIf(!HAS_TORCH)('argmax of F.interpolate(bilinear, align_corners=False) / grid_sample(border) at every source pixel', () => {
    const rng = new Random(7);
    const inputs = cases.map((c) => ({ ...c, logits: Float32Array.from({ length: c.h * c.w * c.k }, () => rng.uniform(-3, 3)) }));
    const ref = JSON.parse(runPython(SCRIPT, [], JSON.stringify(inputs.map((c) => ({ ...c, logits: Array.from(c.logits) }))))) as number[][];
    inputs.forEach((c, i) => {
      const got = Array.from(sourcePrediction(c.logits, c.h, c.w, c.k, c.frame));
      expect(got, c.name).toEqual(ref[i]);
    });
    // The crop leaves source columns and rows out (uncovered); the others cover everything.
    const cropPred = sourcePrediction(inputs[3].logits, crop.h, crop.w, 4, crop.frame);
    expect(cropPred.filter((p) => p < 0).length).toBeGreaterThan(0);
    expect(ref[0].every((p) => p >= 0) && ref[1].every((p) => p >= 0)).toBe(true);
    // A flip is not the unflipped prediction: the test would catch a frame read the wrong way round.
    expect(ref[1]).not.toEqual(ref[0]);
  });

  it.runIf(!HAS_TORCH)('skipped the PyTorch comparison: /usr/bin/python3 cannot import torch (pip install torch)', () => {});

  it('leaves pixels no view pixel covers out of the table and counts them', () => {
    const confusion = new Float64Array(MASK_VALUES * 2);
    const uncovered = accumulateCovered(confusion, 2, Uint8Array.from([0, 1, 1, 255]), Int32Array.from([0, -1, 1, 1]));
    expect(uncovered).toBe(1);
    expect([confusion[0], confusion[1 * 2 + 1], confusion[255 * 2 + 1]]).toEqual([1, 1, 1]);
    expect(confusion.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('is quick at 512x512 with 21 classes from a 128x128 view', () => {
    const k = 21;
    const logits = Float32Array.from({ length: 128 * 128 * k }, (_, i) => Math.sin(i));
    const started = performance.now();
    const pred = sourcePrediction(logits, 128, 128, k, { sx: 0.25, tx: 0, sy: 0.25, ty: 0, width: 512, height: 512 });
    const ms = performance.now() - started;
    expect(pred.length).toBe(512 * 512);
    // Some 11 M multiply-adds: tens of milliseconds; generous for a loaded machine.
    expect(ms).toBeLessThan(3000);
  });
});
