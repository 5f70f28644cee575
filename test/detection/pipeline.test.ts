import { describe, expect, it } from 'vitest';
import '../../src/data';
import { build } from '../../src/core/registry';
import { Random } from '../../src/core/random';
import type { PipelineStep, ViewState } from '../../src/data/pipeline';
import type { Box, Frame, ImageTensor } from '../../src/data/types';
import { mosaic, mosaicCoordinates } from '../../src/data/pipeline/detection/mosaic';
import { affineMatrix, warpAffine, warpBoxes } from '../../src/data/pipeline/detection/randomAffine';
import { shiftHsv } from '../../src/data/pipeline/detection/hsv';
import { boxesToSource, cocoBoxToSource, toSourceFrame } from '../../src/eval/detections';

function step(type: string, params: Record<string, unknown> = {}): PipelineStep {
  return build<PipelineStep>('pipeline', { type, ...params });
}

/** A W x H RGB image whose pixel (x, y) holds (x, y, 7). */
function coords(width: number, height: number): ImageTensor {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  return { data, width, height, channels: 3, white: 255 };
}

const box = (x: number, y: number, w: number, h: number, label = 0): Box => ({ bbox: [x, y, w, h], label });
const identity = (width: number, height: number): Frame => ({ sx: 1, tx: 0, sy: 1, ty: 0, width, height });

describe('LetterboxResize', () => {
  it('fits the longer side, pads right and bottom with grey 114, scales boxes and records the frame', () => {
    const s = step('LetterboxResize', { size: 20 });
    const state: ViewState = { img: coords(40, 20), boxes: [box(10, 4, 8, 6)], frame: identity(40, 20) };
    s.apply(state, new Random(0));
    expect([state.img.width, state.img.height]).toEqual([20, 20]);
    expect(state.boxes!.map((b) => b.bbox)).toEqual([[5, 2, 4, 3]]);
    expect(state.frame).toEqual({ sx: 0.5, tx: 0, sy: 0.5, ty: 0, width: 40, height: 20 });
    // Rows 10-19 are padding.
    expect(Array.from(state.img.data.subarray((15 * 20 + 3) * 3, (15 * 20 + 3) * 3 + 3))).toEqual([114, 114, 114]);
    // Detections come back to source pixels through the frame.
    expect(Array.from(boxesToSource(Float32Array.of(5, 2, 9, 5), state.frame!))).toEqual([10, 4, 18, 10]);
  });

  it('keeps an image of the right size as it is', () => {
    const img = coords(16, 16);
    const state: ViewState = { img, boxes: [box(1, 2, 3, 4)] };
    step('LetterboxResize', { size: 16 }).apply(state, new Random(0));
    expect(state.img).toBe(img);
  });
});

describe('frames through the geometric steps', () => {
  it('Resize and a horizontal flip compose; boxes map back exactly', () => {
    const state: ViewState = { img: coords(40, 30), boxes: [box(4, 6, 10, 12)], frame: identity(40, 30) };
    step('Resize', { size: [15, 20] }).apply(state, new Random(0));
    step('RandomHorizontalFlip', { p: 1 }).apply(state, new Random(0));
    const [b] = state.boxes!;
    // Source [4, 6, 14, 18] -> halved [2, 3, 7, 9] -> flipped in 20 px: x from 13 to 18.
    expect(b.bbox).toEqual([13, 3, 5, 6]);
    expect(cocoBoxToSource(b, state.frame!).bbox).toEqual([4, 6, 10, 12]);
  });

  it('toSourceFrame: detections and ground truth of a batch in source pixels, with the image ids', () => {
    const frames = [{ sx: 0.5, tx: 0, sy: 0.5, ty: 0, width: 40, height: 20 }];
    const got = toSourceFrame([{ boxes: Float32Array.of(1, 1, 3, 3), scores: Float32Array.of(0.9), labels: Int32Array.of(2) }], { views: [], indices: Int32Array.of(0), boxes: [[box(1, 1, 2, 2, 1)]], frames, imageIds: Int32Array.of(42) });
    expect(got[0].imageId).toBe(42);
    expect(Array.from(got[0].detections.boxes)).toEqual([2, 2, 6, 6]);
    expect(got[0].gt[0].bbox).toEqual([2, 2, 4, 4]);
    expect([got[0].width, got[0].height]).toEqual([40, 20]);
  });

  it('an evaluation pipeline that loses the frame is refused', () => {
    expect(() => toSourceFrame([{ boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) }], { views: [], indices: Int32Array.of(0), boxes: [[]], frames: [undefined] })).toThrow(/LetterboxResize/);
  });
});

describe('Mosaic', () => {
  it('places the four images around the centre as the reference does', () => {
    // Centre (30, 25) on a 2x(20x20) canvas, images 10x8.
    expect(mosaicCoordinates(0, 30, 25, 10, 8, 20, 20)).toEqual({ large: [20, 17, 30, 25], small: [0, 0, 10, 8] });
    expect(mosaicCoordinates(1, 30, 25, 10, 8, 20, 20)).toEqual({ large: [30, 17, 40, 25], small: [0, 0, 10, 8] });
    expect(mosaicCoordinates(2, 30, 25, 10, 8, 20, 20)).toEqual({ large: [20, 25, 30, 33], small: [0, 0, 10, 8] });
    // Cut by the canvas edge on the right: 5 of 10 columns fit.
    expect(mosaicCoordinates(3, 35, 25, 10, 8, 20, 20)).toEqual({ large: [35, 25, 40, 33], small: [0, 0, 5, 8] });
  });

  it('copies pixels and moves boxes with each image (boxes cut at the canvas edge are clipped)', () => {
    const tiles = [0, 1, 2, 3].map((k) => ({ img: { ...coords(10, 10), data: coords(10, 10).data.map((v, i) => (i % 3 === 2 ? k : v)) }, boxes: [box(2, 2, 4, 4, k)] }));
    const m = mosaic(tiles, 10, 10, 12, 12);
    expect([m.img.width, m.img.height]).toEqual([20, 20]);
    // Tile 0 ends at the centre: its pixel (9, 9) is at canvas (11, 11); tile 3 starts there.
    const px = (x: number, y: number) => Array.from(m.img.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    expect(px(11, 11)).toEqual([9, 9, 0]);
    expect(px(12, 12)).toEqual([0, 0, 3]);
    expect(px(12, 11)).toEqual([0, 9, 1]);
    const byLabel = Object.fromEntries(m.boxes.map((b) => [b.label, b.bbox]));
    expect(byLabel[0]).toEqual([4, 4, 4, 4]);
    expect(byLabel[3]).toEqual([14, 14, 4, 4]);
    // Tile 1 starts at x 12 and is cut at 20: its box [14, 4, 4, 4] fits.
    expect(byLabel[1]).toEqual([14, 4, 4, 4]);
  });

  it('moves 200,000 boxes of one image (an annotation file can hold them), not a stack overflow', () => {
    // boxes.push(...moved) passed every box as an argument and overflowed the call stack.
    const many = Array.from({ length: 200_000 }, (_, i) => box(2, 2, 4, 4, i % 3));
    const tiles = [many, [box(2, 2, 4, 4)], [], []].map((boxes) => ({ img: coords(10, 10), boxes }));
    const m = mosaic(tiles, 10, 10, 12, 12);
    expect(m.boxes).toHaveLength(200_001);
    expect(m.boxes[199_999]).toEqual({ bbox: [4, 4, 4, 4], label: 199_999 % 3 });
  });

  it('takes three other images from the loader, and passes the image through after until_epoch', () => {
    const s = step('Mosaic', { size: 10, until_epoch: 3 });
    expect(s.mixImages).toBe(3);
    const others = [1, 2, 3].map(() => ({ img: coords(10, 10), boxes: [box(1, 1, 5, 5)] }));
    const img = coords(10, 10);
    const late: ViewState = { img, boxes: [box(1, 1, 5, 5)], extras: [...others], epoch: 3 };
    s.apply(late, new Random(0));
    expect(late.img).toBe(img);
    expect(late.extras).toEqual([]);
    const early: ViewState = { img, boxes: [box(1, 1, 5, 5)], extras: [...others], epoch: 0, frame: identity(10, 10) };
    s.apply(early, new Random(0));
    expect([early.img.width, early.img.height]).toEqual([10, 10]);
    expect(early.frame).toBeUndefined();
    expect(() => s.apply({ img, extras: [] }, new Random(0))).toThrow(/first view of a DetDataset/);
  });
});

describe('RandomAffine', () => {
  const none = { degrees: 0, translate: 0, scale: [1, 1] as [number, number], shear: 0, min_box_size: 2, min_area_ratio: 0.2 };

  it('without rotation, scale, shear or shift it is the identity (image and boxes)', () => {
    const img = coords(12, 8);
    const m = affineMatrix(none, new Random(0), 12, 8, 12, 8);
    expect(m).toEqual([1, 0, 0, 0, 1, 0]);
    expect(Array.from(warpAffine(img, m, 12, 8, 114).data)).toEqual(Array.from(img.data));
    expect(warpBoxes([box(2, 3, 4, 5)], m, 12, 8, 2, 0.2).map((b) => b.bbox)).toEqual([[2, 3, 4, 5]]);
  });

  it('cuts the output size around the centre of a larger input, and drops boxes mostly outside', () => {
    const m = affineMatrix(none, new Random(0), 20, 20, 10, 10);
    // Source (5, 5) is the output's origin.
    expect(m).toEqual([1, 0, -5, 0, 1, -5]);
    const out = warpAffine(coords(20, 20), m, 10, 10, 114);
    expect(Array.from(out.data.subarray(0, 3))).toEqual([5, 5, 7]);
    expect(warpBoxes([box(6, 6, 4, 4), box(0, 0, 6, 6), box(12, 12, 6, 6)], m, 10, 10, 2, 0.2).map((b) => b.bbox)).toEqual([[1, 1, 4, 4], [7, 7, 3, 3]]);
  });

  it('a 90 degree turn maps a box to the box around its turned corners', () => {
    const m = [0, -1, 10, 1, 0, 0];
    expect(warpBoxes([box(1, 2, 3, 4)], m, 10, 10, 0, 0).map((b) => b.bbox)).toEqual([[4, 1, 4, 3]]);
  });
});

describe('MixUp', () => {
  it('blends another image half and half and adds its boxes', () => {
    const s = step('MixUp', { scale: [1, 1] });
    expect(s.mixImages).toBe(1);
    const a: ImageTensor = { data: new Float32Array(10 * 10 * 3).fill(200), width: 10, height: 10, channels: 3, white: 255 };
    const b: ImageTensor = { data: new Float32Array(10 * 10 * 3).fill(100), width: 10, height: 10, channels: 3, white: 255 };
    const state: ViewState = { img: a, boxes: [box(1, 1, 3, 3, 0)], extras: [{ img: b, boxes: [box(5, 5, 4, 4, 1)] }] };
    s.apply(state, new Random(1));
    expect(state.img.data.every((v) => v === 150)).toBe(true);
    const labels = state.boxes!.map((x) => x.label).sort();
    expect(labels).toEqual([0, 1]);
    const other = state.boxes!.find((x) => x.label === 1)!.bbox;
    // Flipped or not, the 4x4 box keeps its size.
    expect([other[2], other[3]]).toEqual([4, 4]);
  });

  it('after a Mosaic step, mixes only onto a mosaic with boxes, as YOLOX', () => {
    const s = step('MixUp', { scale: [1, 1] });
    const view = (mosaicked: boolean, boxes: ReturnType<typeof box>[]): ViewState => ({
      img: { data: new Float32Array(10 * 10 * 3).fill(200), width: 10, height: 10, channels: 3, white: 255 },
      boxes,
      mosaicked,
      extras: [{ img: { data: new Float32Array(10 * 10 * 3).fill(100), width: 10, height: 10, channels: 3, white: 255 }, boxes: [box(5, 5, 4, 4, 1)] }],
    });
    for (const state of [view(false, [box(1, 1, 3, 3, 0)]), view(true, [])]) {
      s.apply(state, new Random(1));
      expect(state.img.data[0]).toBe(200);
    }
    const mosaic = view(true, [box(1, 1, 3, 3, 0)]);
    s.apply(mosaic, new Random(1));
    expect(mosaic.img.data[0]).toBe(150);
  });
});

describe('RandomHSV', () => {
  it('no shift is the identity; hue wraps; value and saturation clip', () => {
    const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 6));
    close(shiftHsv([0.2, 0.4, 0.6], 0, 0, 0), [0.2, 0.4, 0.6]);
    // Hue on the 0-180 scale: +60 turns red (0 degrees) to green (120 degrees), -60 to blue (240).
    close(shiftHsv([1, 0, 0], 60, 0, 0), [0, 1, 0]);
    close(shiftHsv([1, 0, 0], -60, 0, 0), [0, 0, 1]);
    close(shiftHsv([0.5, 0.5, 0.5], 0, 0, 255), [1, 1, 1]);
    close(shiftHsv([1, 0, 0], 0, -255, 0), [1, 1, 1]);
  });

  it('changes pixels only of its own copy', () => {
    const img = coords(4, 4);
    const before = Array.from(img.data);
    const state: ViewState = { img, shared: img.data };
    step('RandomHSV', { hue: 20, saturation: 60, value: 60 }).apply(state, new Random(3));
    expect(Array.from(img.data)).toEqual(before);
  });
});
